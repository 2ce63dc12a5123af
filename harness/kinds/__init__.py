"""Task kinds: one module per kind, registered here. Adding a kind = a module listed in KIND_MODULES + its tests."""
from __future__ import annotations

import importlib

from .base import REGISTRY, InputError, TaskKind, get_kind, register

KIND_MODULES = ("classification", "regression", "ner", "extractive_qa")


def load_all() -> dict[str, TaskKind]:
    """Import every kind module (each registers its kinds); idempotent."""
    for name in KIND_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return REGISTRY


__all__ = ["REGISTRY", "InputError", "TaskKind", "get_kind", "load_all", "register"]

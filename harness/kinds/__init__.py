"""Task kinds: every module of this package but `base` defines and registers kinds. Adding a kind = adding a
module here (plus its tests and task YAMLs); nothing else lists them."""
from __future__ import annotations

import importlib
import pkgutil

from ..registry import Registry
from .base import REGISTRY, Evidence, InputError, TaskKind, get_kind, register

_LOADED: list[str] = []


def load_all() -> Registry[TaskKind]:
    """Import every kind module of this package (each registers its kinds); idempotent."""
    if not _LOADED:
        for mod in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"):
            importlib.import_module(f"{__name__}.{mod}")
            _LOADED.append(mod)
    return REGISTRY


__all__ = ["REGISTRY", "Evidence", "InputError", "TaskKind", "get_kind", "load_all", "register"]

"""Task kinds: every module of this package but `base` defines and registers kinds. Adding a kind = adding a
module here (plus its tests and task YAMLs); nothing else lists them."""
from __future__ import annotations

from .base import REGISTRY, Evidence, InputError, TaskKind, get_kind, load_all, register

__all__ = ["REGISTRY", "Evidence", "InputError", "TaskKind", "get_kind", "load_all", "register"]

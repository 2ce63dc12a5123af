"""Training methods: one module per method, registered here. Adding a method = a module in METHOD_MODULES + tests."""
from __future__ import annotations

import importlib

from ..errors import HarnessError, did_you_mean
from .base import REGISTRY, Method

METHOD_MODULES = ("finetune", "prompt")
DEFAULT_METHOD = "finetune"  # what a run uses without --methods; rows of other methods are labelled


def load_all() -> dict[str, Method]:
    """Import every method module (each registers itself); idempotent."""
    for name in METHOD_MODULES:
        importlib.import_module(f"{__name__}.{name}")
    return REGISTRY


def get_method(name: str, where: str = "method") -> Method:
    """The registered method called `name`; HarnessError with a did-you-mean otherwise."""
    methods = load_all()
    if name not in methods:
        raise HarnessError(f"{where}: unknown method '{name}' (expected one of {', '.join(methods)})"
                           f"{did_you_mean(name, methods)}")
    return methods[name]


def method_names() -> tuple[str, ...]:
    return tuple(load_all())


__all__ = ["DEFAULT_METHOD", "Method", "get_method", "load_all", "method_names"]

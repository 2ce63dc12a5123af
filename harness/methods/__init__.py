"""Training methods: every module of this package but `base` defines and registers one method. Adding a method =
adding a module here (plus its tests); nothing else lists them."""
from __future__ import annotations

import importlib
import pkgutil

from ..errors import HarnessError
from ..trainconfig import TrainConfig
from .base import REGISTRY, Method

DEFAULT_METHOD = "finetune"  # what a run uses without --methods; rows of other methods are labelled


def load_all() -> dict[str, Method]:
    """Import every method module of this package (each registers itself), in a stable order; idempotent."""
    if not REGISTRY:
        for mod in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "base"):
            importlib.import_module(f"{__name__}.{mod}")
    return dict(sorted(REGISTRY.items(), key=lambda kv: (kv[0] != DEFAULT_METHOD, kv[0])))


def get_method(name: str, where: str = "method") -> Method:
    """The registered method called `name`; HarnessError with a did-you-mean otherwise."""
    load_all()
    return REGISTRY.lookup(name, where)


def method_names() -> tuple[str, ...]:
    return tuple(load_all())


def check_method_options(cfg: TrainConfig, set_keys: set[str], method: str, where: str) -> None:
    """A training option that belongs to another method (e.g. rdrop_alpha to prompt) is an error here."""
    for other in load_all().values():
        for opt in other.options if other.name != method else ():
            if opt in set_keys and getattr(cfg, opt) != TrainConfig.model_fields[opt].default:
                raise HarnessError(f"train: field '{opt}': applies to the {other.name} method only ({where}, "
                                   f"method {method})")


__all__ = ["DEFAULT_METHOD", "Method", "check_method_options", "get_method", "load_all", "method_names"]

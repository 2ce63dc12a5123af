"""A name -> object registry with one-line, did-you-mean errors (task kinds, methods)."""
from __future__ import annotations

from typing import Generic, TypeVar

from .errors import HarnessError, did_you_mean

T = TypeVar("T")


class Registry(dict[str, T], Generic[T]):
    """Objects by their `name`; registering a name twice is a programming error."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what

    def register(self, obj: T) -> T:
        name = getattr(obj, "name")
        if name in self:
            raise RuntimeError(f"{self.what} '{name}' is registered twice")
        self[name] = obj
        return obj

    def unknown(self, name: str) -> str:
        """The one-line complaint about a name that is not registered (the choices and a did-you-mean)."""
        return f"unknown {self.what} '{name}' (expected one of {', '.join(self)}){did_you_mean(name, self)}"

    def lookup(self, name: str, where: str) -> T:
        """The object called `name`; HarnessError naming `where` otherwise."""
        if name not in self:
            raise HarnessError(f"{where}: {self.unknown(name)}")
        return self[name]

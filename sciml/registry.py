"""One registry mechanism for models, datasets and benchmarks.

A :class:`Registry` maps names to objects. Entries register themselves with a decorator
in their own module; the registry imports the modules of its ``packages`` on the first
miss, so adding a model or dataset never means editing a central list.
"""
from __future__ import annotations

import difflib
import importlib
import pkgutil
from typing import Callable, Generic, Iterable, TypeVar

from sciml.errors import MissingDependencyError, RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """Name -> object map with lazy discovery.

    Parameters
    ----------
    kind : what is registered ("model", "dataset", ...), used in error messages.
    packages : dotted package names whose modules are all imported to discover entries.
    modules : dotted module names imported as they are (the registry's entries are listed once, here,
        when only a few modules of a package register anything).
    """

    def __init__(self, kind: str, packages: Iterable[str] = (), modules: Iterable[str] = ()):
        self.kind = kind
        self.packages = tuple(packages)
        self.modules = tuple(modules)
        self._items: dict[str, T] = {}
        self._discovered = False
        self._skipped: dict[str, str] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: ``@REG.register("name")`` on a class or function."""

        def deco(obj: T) -> T:
            if name in self._items and self._items[name] is not obj:
                existing = self._items[name]
                if getattr(existing, "__qualname__", None) != getattr(obj, "__qualname__", 0):
                    raise RegistryError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return deco

    def discover(self) -> None:
        """Import every module under ``packages`` so their decorators run (once)."""
        if self._discovered:
            return
        self._discovered = True
        names = list(self.modules)
        for pkg_name in self.packages:
            pkg = importlib.import_module(pkg_name)
            names += [info.name for info in pkgutil.walk_packages(pkg.__path__, prefix=pkg_name + ".")]
        for name in names:
            try:
                importlib.import_module(name)
            except MissingDependencyError as exc:  # optional extra absent: entry unavailable
                self._skipped[name] = str(exc)

    def get(self, name: str) -> T:
        if name not in self._items:
            self.discover()
        if name not in self._items:
            close = difflib.get_close_matches(name, list(self._items), n=3)
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            skipped = (
                f" Some modules were skipped for missing optional dependencies: {self._skipped}."
                if self._skipped
                else ""
            )
            raise RegistryError(
                f"unknown {self.kind} {name!r}. Known: {sorted(self._items)}.{hint}{skipped}"
            )
        return self._items[name]

    def names(self) -> list[str]:
        self.discover()
        return sorted(self._items)

    def __contains__(self, name: str) -> bool:
        self.discover()
        return name in self._items

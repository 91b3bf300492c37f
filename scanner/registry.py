"""One kind of registry for every extension point: built-ins listed by name, plugins by entry point.

Tasks, tactics and executors are each named in one `Registry`: a table of the built-in
implementations (`name -> "module:attribute"`) plus the `importlib.metadata` entry points
of one group (`labeler.tasks`, `labeler.tactics`, `labeler.executors`), so another package
adds one by declaring an entry point, and this project adds one with a new module and a
line in the table. Names are known without importing anything (the CLI lists them in its
help without loading torch); an implementation is imported the first time it is used.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import distributions
from typing import Any, Generic, TypeVar

from labels.errors import LabelerError

T = TypeVar("T")


class UnknownName(LabelerError, KeyError):
    """A name no registry entry has; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class PluginError(LabelerError):
    """A registry entry that cannot be imported or is not what its group expects."""


@dataclass
class Registry(Generic[T]):
    """Named implementations of one extension point.

    Every entry must be an instance (tactics) or a subclass (tasks, executors) of the class
    named by `interface`, which is imported only when an entry is loaded, so listing names
    stays free of torch. Where the implementation names itself (`name_attribute`), that
    name must be the one it is registered under.
    """

    kind: str  # "tactic", "task", "executor": used in messages
    group: str  # entry-point group, e.g. "labeler.tactics"
    builtin: Mapping[str, str]  # name -> "module:attribute", in listing order
    interface: str  # "module:Class" every entry is an instance or a subclass of
    instances: bool = False
    name_attribute: str | None = None
    _loaded: dict[str, T] = field(default_factory=dict, repr=False)

    def check(self, name: str, loaded: Any) -> T:
        """`loaded` if it is the kind of object this registry holds, else `PluginError`."""
        interface = _load(self.interface, self.kind, name)
        if self.instances:
            right_kind, wanted = isinstance(loaded, interface), "instance"
        else:
            right_kind = isinstance(loaded, type) and issubclass(loaded, interface)
            wanted = "subclass"
        if not right_kind:
            raise PluginError(
                f"{self.kind} {name!r} is {loaded!r}, not a {interface.__name__} {wanted}"
            )
        own_name = getattr(loaded, self.name_attribute, name) if self.name_attribute else name
        if own_name != name:
            raise PluginError(f"{self.kind} registered as {name!r} calls itself {own_name!r}")
        return loaded

    def targets(self) -> dict[str, str]:
        """Every name and the `module:attribute` it loads; a plugin cannot shadow a built-in."""
        found = dict(self.builtin)
        for name, value in _entry_points(self.group, tuple(sys.path)):
            found.setdefault(name, value)
        return found

    def names(self) -> list[str]:
        names = list(self.targets())
        return names + [name for name in self._loaded if name not in names]

    def get(self, name: str) -> T:
        if name in self._loaded:
            return self._loaded[name]
        targets = self.targets()
        if name not in targets:
            raise UnknownName(f"unknown {self.kind} {name!r} (known: {', '.join(sorted(targets))})")
        loaded = self.check(name, _load(targets[name], self.kind, name))
        self._loaded[name] = loaded
        return loaded

    def all(self) -> dict[str, T]:
        return {name: self.get(name) for name in self.names()}

    @contextmanager
    def registered(self, name: str, implementation: Any) -> Iterator[T]:
        """Register `implementation` as `name` for the duration of a `with` block.

        For tests and notebooks; an installed package registers by entry point instead.
        """
        if name in self.targets() or name in self._loaded:
            raise PluginError(f"{self.kind} {name!r} is already registered")
        self._loaded[name] = self.check(name, implementation)
        try:
            yield self._loaded[name]
        finally:
            del self._loaded[name]


def _entry_points(group: str, search_path: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (point.name, point.value)
        for point in _installed_entry_points(search_path)
        if point.group == group
    )


@functools.cache
def _installed_entry_points(search_path: tuple[str, ...]) -> tuple[Any, ...]:
    """Every entry point installed, read once per search path: reading them scans every
    installed distribution, a noticeable part of the CLI's start, and three registries ask."""
    points: list[Any] = []
    seen: set[str] = set()
    for dist in distributions():  # the first of two installs of one package wins, as in pip
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name not in seen:
            seen.add(name)
            points.extend(dist.entry_points)
    return tuple(points)


def _load(target: str, kind: str, name: str) -> Any:
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name.strip())
        return getattr(module, attribute.strip()) if attribute else module
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"{kind} {name!r} cannot be loaded from {target!r}: {exc}") from None


def lazy_attributes(package: str, module: str, names: tuple[str, ...]) -> Any:
    """A module `__getattr__` for `package` that imports `names` from `module` when first
    asked for: a package re-exports its interface (which needs torch) and its registry
    (which must not) without importing torch itself."""

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(module), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__

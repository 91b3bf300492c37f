"""The executors this project ships, by name, and the `labeler.executors` entry-point group.

A third-party package adds one (a batch system, another cluster) by declaring an entry point
`name = "package.module:ExecutorClass"` in the group `labeler.executors`; the class takes the
keyword arguments of `Executor.__init__`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from scanner.registry import PluginError, Registry

if TYPE_CHECKING:
    from scanner.executors.base import Executor

BUILTIN_EXECUTORS = {
    "subprocess": "scanner.executors.subprocess:SubprocessExecutor",
    "inprocess": "scanner.executors.inprocess:InProcessExecutor",
    "ray": "scanner.executors.ray:RayExecutor",
}


def _executor_class(name: str, loaded: Any) -> type[Executor]:
    # Imported here, not above: listing names must not import torch (the CLI's --help).
    from scanner.executors.base import Executor

    if not (isinstance(loaded, type) and issubclass(loaded, Executor)):
        raise PluginError(f"executor {name!r} is {loaded!r}, not an Executor subclass")
    return loaded


EXECUTORS: Registry[type[Executor]] = Registry(
    "executor", "labeler.executors", BUILTIN_EXECUTORS, _executor_class
)


def executor_names() -> list[str]:
    return EXECUTORS.names()


def make_executor(
    name: str, *, timeout_s: float | None = None, address: str | None = None
) -> Executor:
    return EXECUTORS.get(name)(timeout_s=timeout_s, address=address)

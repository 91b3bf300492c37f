"""The executors this project ships, by name, and the `labeler.executors` entry-point group.

A third-party package adds one (a batch system, another cluster) by declaring an entry point
`name = "package.module:ExecutorClass"` in the group `labeler.executors`; the class takes the
keyword arguments of `Executor.__init__`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.registry import Registry

if TYPE_CHECKING:
    from scanner.executors.base import Executor

BUILTIN_EXECUTORS = {
    "subprocess": "scanner.executors.subprocess:SubprocessExecutor",
    "inprocess": "scanner.executors.inprocess:InProcessExecutor",
    "ray": "scanner.executors.ray:RayExecutor",
}


EXECUTORS: Registry[type[Executor]] = Registry(
    "executor",
    "labeler.executors",
    BUILTIN_EXECUTORS,
    interface="scanner.executors.base:Executor",
)


def executor_names() -> list[str]:
    return EXECUTORS.names()


def make_executor(
    name: str, *, timeout_s: float | None = None, address: str | None = None
) -> Executor:
    return EXECUTORS.get(name)(timeout_s=timeout_s, address=address)

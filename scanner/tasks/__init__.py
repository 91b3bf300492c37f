"""Task adapters: how to load a model of a task, its reference inputs, and its quality metric.

The registry's names are importable without torch; the interface classes (which need torch)
are loaded on first access.
"""

from typing import Any

from scanner.tasks.registry import TASKS, adapter_for, supported_tasks, task_names

_INTERFACE = ("QualityResult", "TaskAdapter", "UnsupportedTask")


def __getattr__(name: str) -> Any:
    if name in _INTERFACE:
        from scanner.tasks import base  # torch: only when the interface is asked for

        return getattr(base, name)
    raise AttributeError(f"module 'scanner.tasks' has no attribute {name!r}")


__all__ = [
    "TASKS",
    "QualityResult",
    "TaskAdapter",
    "UnsupportedTask",
    "adapter_for",
    "supported_tasks",
    "task_names",
]

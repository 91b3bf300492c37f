"""Task adapters: how to load a model of a task, its reference inputs, and its quality metric.

The registry's names are importable without torch; the interface classes (which need torch)
are loaded on first access.
"""

from scanner.registry import lazy_attributes
from scanner.tasks.registry import TASKS, adapter_for, supported_tasks, task_names

_INTERFACE = ("QualityResult", "TaskAdapter", "UnsupportedTask")

__getattr__ = lazy_attributes(__name__, "scanner.tasks.base", _INTERFACE)


__all__ = [
    "TASKS",
    "QualityResult",
    "TaskAdapter",
    "UnsupportedTask",
    "adapter_for",
    "supported_tasks",
    "task_names",
]

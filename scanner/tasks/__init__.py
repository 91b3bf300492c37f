"""Task adapters: how to load a model of a task, its reference inputs, and its quality metric."""

from scanner.tasks.base import (
    QualityResult,
    TaskAdapter,
    UnsupportedTask,
    adapter_for,
    supported_tasks,
)

__all__ = ["QualityResult", "TaskAdapter", "UnsupportedTask", "adapter_for", "supported_tasks"]

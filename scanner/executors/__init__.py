"""Where benchmarks run: in this process, in a child process per model, or on Ray.

The registry is importable without torch; the interface (which imports the benchmark, and
so torch) is loaded on first access.
"""

from typing import Any

from scanner.executors.registry import EXECUTORS, executor_names, make_executor

_INTERFACE = ("Executor", "failed_benchmark")


def __getattr__(name: str) -> Any:
    if name in _INTERFACE:
        from scanner.executors import base  # torch: only when the interface is asked for

        return getattr(base, name)
    raise AttributeError(f"module 'scanner.executors' has no attribute {name!r}")


__all__ = ["EXECUTORS", "Executor", "executor_names", "failed_benchmark", "make_executor"]

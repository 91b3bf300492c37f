"""Where benchmarks run: in this process, in a child process per model, or on Ray.

The registry is importable without torch; the interface (which imports the benchmark, and
so torch) is loaded on first access.
"""

from scanner.executors.registry import EXECUTORS, executor_names, make_executor
from scanner.registry import lazy_attributes

_INTERFACE = ("Executor", "failed_benchmark")

__getattr__ = lazy_attributes(__name__, "scanner.executors.base", _INTERFACE)


__all__ = ["EXECUTORS", "Executor", "executor_names", "failed_benchmark", "make_executor"]

"""Where benchmarks run: in this process, in a child process per model, or on Ray."""

from scanner.executors.base import Executor, failed_benchmark, make_executor

__all__ = ["Executor", "failed_benchmark", "make_executor"]

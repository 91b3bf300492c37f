"""Benchmarks in this process: for tests and benchmarks, where isolation costs more than it buys."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from labels.scheme import load_scheme
from scanner.benchmark import BenchmarkJob, ModelBenchmark, benchmark_model
from scanner.executors.base import Executor


class InProcessExecutor(Executor):
    name = "inprocess"

    def run_all(
        self, jobs: Iterable[BenchmarkJob]
    ) -> Iterator[tuple[BenchmarkJob, ModelBenchmark]]:
        for job in jobs:
            yield job, benchmark_model(job, load_scheme(job.scheme_version))

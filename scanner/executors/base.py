"""The executor interface: take jobs, yield (job, result) as each model finishes."""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path

from labels.records import RunResult
from labels.run_status import RunStatus
from scanner.benchmark import BenchmarkJob, ModelBenchmark
from scanner.unmeasured import unmeasured_run


class Executor(ABC):
    """Every executor is built the same way, so the registry can make any of them.

    `timeout_s` is how long one model may run before it is killed (where the executor can
    kill it); `address` is the cluster to submit to (where there is one).
    """

    name = ""

    def __init__(self, *, timeout_s: float | None = None, address: str | None = None) -> None:
        self.timeout_s = timeout_s
        self.address = address

    @abstractmethod
    def run_all(
        self, jobs: Iterable[BenchmarkJob]
    ) -> Iterator[tuple[BenchmarkJob, ModelBenchmark]]:
        """Benchmark every job; a crash or timeout is a failed result, never an exception."""

    def close(self) -> None:  # noqa: B027  (optional hook: most executors hold nothing)
        return None


def failed_benchmark(job: BenchmarkJob, reason: str) -> ModelBenchmark:
    """The record of a model whose benchmark died (timeout, OOM kill, crash)."""
    run = unmeasured_run(
        scan_id=job.scan_id,
        model_id=job.model_id,
        revision=job.revision,
        task=job.task,
        hardware_profile=job.hardware["profile"],
        hardware_fingerprint=job.hardware["fingerprint"],
        device=job.device,
        scheme_version=job.scheme_version,
        status=RunStatus.FAILED,
        reason=reason,
        protocol=job.protocol_name,
    )
    return ModelBenchmark([RunResult(run)])


def project_pythonpath() -> str:
    """PYTHONPATH for a child or Ray worker: this checkout first, so it finds `scanner`."""
    root = str(Path(__file__).resolve().parents[2])
    existing = os.environ.get("PYTHONPATH")
    return f"{root}{os.pathsep}{existing}" if existing else root

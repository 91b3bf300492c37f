"""The executor interface: take jobs, yield (job, result) as each model finishes."""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator

from labels.records import RunRecord, RunResult
from scanner.benchmark import BenchmarkJob, ModelBenchmark, now_utc
from scanner.harness import HARNESS_VERSION


class Executor(ABC):
    name = ""

    @abstractmethod
    def run_all(
        self, jobs: Iterable[BenchmarkJob]
    ) -> Iterator[tuple[BenchmarkJob, ModelBenchmark]]:
        """Benchmark every job; a crash or timeout is a failed result, never an exception."""

    def close(self) -> None:  # noqa: B027  (optional hook: most executors hold nothing)
        return None


def failed_benchmark(job: BenchmarkJob, reason: str) -> ModelBenchmark:
    """The record of a model whose benchmark died (timeout, OOM kill, crash)."""
    hardware = job.hardware
    now = now_utc()
    run = RunRecord(
        run_id=str(uuid.uuid4()),
        scan_id=job.scan_id,
        model_id=job.model_id,
        revision=job.revision,
        task=job.task,
        hardware_profile=hardware["profile"],
        hardware_fingerprint=hardware["fingerprint"],
        variant="baseline",
        tactic="baseline",
        status="failed",
        reason=reason,
        device=job.device,
        harness_version=HARNESS_VERSION,
        scheme_version=job.scheme_version,
        started_at=now,
        finished_at=now,
    )
    return ModelBenchmark([RunResult(run)])


def make_executor(
    name: str, *, timeout_s: float | None = None, address: str | None = None
) -> Executor:
    if name == "subprocess":
        from scanner.executors.subprocess import SubprocessExecutor

        return SubprocessExecutor(timeout_s=timeout_s)
    if name == "inprocess":
        from scanner.executors.inprocess import InProcessExecutor

        return InProcessExecutor()
    if name == "ray":
        from scanner.executors.ray import RayExecutor

        return RayExecutor(address=address, timeout_s=timeout_s)
    raise ValueError(f"unknown executor {name!r} (subprocess, inprocess, ray)")

"""Benchmarks as Ray tasks, one per model, so a scan spreads over every node of a cluster.

Each task benchmarks one model in a fresh Ray worker process (`max_calls=1`, the same
isolation as the child-process executor) with the resources it needs: one GPU for a CUDA
job, one CPU otherwise. Jobs and results cross the wire as the JSON of `scanner.jobs`, and
results come back as they finish (`ray.wait`); the driver alone writes the catalog.

Ray is an optional extra (`pip install '.[ray]'`): it is imported only when this executor
is chosen. Model folders must be readable at the same path on every node (shared storage
or the same Hub cache), since a task receives a path, not the weights.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from labels.errors import LabelerError, first_line
from labels.scheme import load_scheme
from scanner.benchmark import BenchmarkJob, ModelBenchmark, benchmark_model
from scanner.device import Device
from scanner.executors.base import Executor, failed_benchmark, project_pythonpath
from scanner.jobs import benchmark_from_json, benchmark_to_json, job_from_json, job_to_json
from scanner.worker import prepare_benchmark_process

RAY_MISSING = "the ray executor needs Ray: pip install '.[ray]'"
# How long one ray.wait blocks before deadlines are checked again.
POLL_S = 1.0
# The environment variables that decide how a benchmark measures (labels/scheme.py,
# scanner/meters/foreign_load.py): each task gets the driver's values.
BENCHMARK_SETTINGS = ("LABELER_SCHEMES_DIR", "LABELER_FOREIGN_LOAD")


class RayNotInstalled(LabelerError, RuntimeError):
    """Ray is not importable; the message says how to install it."""


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayNotInstalled(RAY_MISSING) from None
    return ray


def benchmark_job_json(job_json: str) -> str:
    """Body of the remote task: the same work as `python -m scanner.worker`, JSON in and out."""
    prepare_benchmark_process()  # a task never reaches the Hub
    job = job_from_json(job_json)
    return benchmark_to_json(benchmark_model(job, load_scheme(job.scheme_version)))


class RayExecutor(Executor):
    """Run each job as a Ray task on a cluster at `address`, or on a local one.

    With no `address`, an already initialised Ray (as a test sets up) or `RAY_ADDRESS` is
    used, else a local cluster is started for the scan and stopped when it ends.
    """

    name = "ray"

    def __init__(self, *, timeout_s: float | None = None, address: str | None = None) -> None:
        super().__init__(timeout_s=timeout_s, address=address)
        self.ray = _import_ray()
        self._started_ray = False
        if not self.ray.is_initialized():
            kwargs: dict[str, Any] = {"log_to_driver": False}
            if address is None and not os.environ.get("RAY_ADDRESS"):
                # A local cluster: its workers find this checkout like our child processes do.
                kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": project_pythonpath()}}
                kwargs["include_dashboard"] = False
            self.ray.init(address=address, **kwargs)
            self._started_ray = True
        self._remote = self.ray.remote(max_calls=1, max_retries=0)(benchmark_job_json)

    def run_all(
        self, jobs: Iterable[BenchmarkJob]
    ) -> Iterator[tuple[BenchmarkJob, ModelBenchmark]]:
        """Keep about one task per free slot in flight, so a deadline measures running time."""
        ray = self.ray
        pending = iter(jobs)
        in_flight: dict[Any, tuple[BenchmarkJob, float]] = {}
        exhausted = False
        while True:
            while not exhausted and len(in_flight) < self._slots(in_flight):
                job = next(pending, None)
                if job is None:
                    exhausted = True
                    break
                ref = self._submit(job)
                in_flight[ref] = (job, time.monotonic())
            if not in_flight:
                return
            done, _ = ray.wait(list(in_flight), num_returns=1, timeout=POLL_S)
            for ref in done:
                job, _started = in_flight.pop(ref)
                yield job, self._result(job, ref)
            for ref, (job, started) in list(in_flight.items()):
                if self.timeout_s is not None and time.monotonic() - started > self.timeout_s:
                    ray.cancel(ref, force=True)
                    del in_flight[ref]
                    yield job, failed_benchmark(job, f"timeout after {self.timeout_s:.0f} s")

    def close(self) -> None:
        if self._started_ray and self.ray.is_initialized():
            self.ray.shutdown()
            self._started_ray = False

    def _submit(self, job: BenchmarkJob) -> Any:
        if Device.parse(job.device).is_cuda:
            options: dict[str, Any] = {"num_gpus": 1, "num_cpus": 1}
        else:
            options = {"num_cpus": 1}
        settings = benchmark_settings()
        if settings:
            # merged into the cluster's own runtime env (Ray merges env_vars key by key)
            options["runtime_env"] = {"env_vars": settings}
        return self._remote.options(**options).remote(job_to_json(job))

    def _result(self, job: BenchmarkJob, ref: Any) -> ModelBenchmark:
        try:
            return benchmark_from_json(self.ray.get(ref))
        except Exception as exc:  # a dead worker or node costs this model only
            return failed_benchmark(job, f"ray task failed: {_task_error(exc)}"[:500])

    def _slots(self, in_flight: dict[Any, tuple[BenchmarkJob, float]]) -> int:
        """Tasks the cluster can run at once: its GPUs for CUDA jobs, else its CPUs."""
        resources = self.ray.cluster_resources()
        uses_gpus = any(Device.parse(job.device).is_cuda for job, _ in in_flight.values())
        return max(1, int(resources.get("GPU" if uses_gpus else "CPU", 1)))


def benchmark_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The driver's settings that change how a task measures, to send with each task.

    A child process inherits them; a Ray worker inherits the environment its raylet started
    with, which is not the driver's of today: without them a worker would measure beside
    another scheme's reference models than the one the driver grades with, or probe foreign
    load that the driver switched off."""
    environ = os.environ if environ is None else environ
    return {name: environ[name] for name in BENCHMARK_SETTINGS if name in environ}


def _task_error(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)  # RayTaskError wraps the task's own exception
    if isinstance(cause, BaseException) and str(cause).strip():
        return f"{type(cause).__name__}: {first_line(cause)}"
    return first_line(exc)

"""One child process per model, so a crash, an OOM kill or a hang costs one model only."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from scanner.benchmark import BenchmarkJob, ModelBenchmark
from scanner.executors.base import Executor, failed_benchmark, project_pythonpath
from scanner.jobs import benchmark_from_json, job_to_json


class SubprocessExecutor(Executor):
    name = "subprocess"

    def run_all(
        self, jobs: Iterable[BenchmarkJob]
    ) -> Iterator[tuple[BenchmarkJob, ModelBenchmark]]:
        for job in jobs:
            yield job, self.run_one(job)

    def run_one(self, job: BenchmarkJob) -> ModelBenchmark:
        with tempfile.TemporaryDirectory(prefix="labeler-job-") as tmp:
            job_file, result_file, log_file = (
                Path(tmp) / n for n in ("job.json", "result.json", "stderr.log")
            )
            job_file.write_text(job_to_json(job), encoding="utf-8")
            with log_file.open("wb") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "scanner.worker", str(job_file), str(result_file)],
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                    start_new_session=True,  # its own process group, so a timeout kills it all
                    env={**os.environ, "PYTHONPATH": project_pythonpath()},
                )
                try:
                    returncode = process.wait(timeout=self.timeout_s)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
                    return failed_benchmark(job, f"timeout after {self.timeout_s:.0f} s")
            if returncode == 0 and result_file.exists():
                return benchmark_from_json(result_file.read_text(encoding="utf-8"))
            return failed_benchmark(job, _death_reason(returncode, log_file))


def _death_reason(returncode: int, log_file: Path) -> str:
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hint = " (out of memory?)" if -returncode == signal.SIGKILL else ""
        return f"benchmark process killed by {name}{hint}"
    lines = [
        line
        for line in log_file.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.strip() and not line.startswith("phase ")
    ]
    last = lines[-1].strip() if lines else "no output"
    return f"benchmark process exited with status {returncode}: {last}"[:500]

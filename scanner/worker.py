"""Child-process entry point: benchmark one model from a job file, write a result file.

`python -m scanner.worker JOB.json RESULT.json`. The result file is written to a temporary
name and renamed, so the driver sees a whole result or none.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m scanner.worker JOB.json RESULT.json", file=sys.stderr)
        return 2
    die_with_parent()
    prepare_benchmark_process()
    # Imported only now: the environment above must be set before transformers loads.
    from labels.scheme import load_scheme
    from scanner.benchmark import benchmark_model
    from scanner.jobs import benchmark_to_json, job_from_json

    job = job_from_json(Path(argv[0]).read_text(encoding="utf-8"))
    result = benchmark_model(
        job,
        load_scheme(job.scheme_version),
        on_progress=lambda phase: print(f"phase {phase}", file=sys.stderr, flush=True),
    )
    out = Path(argv[1])
    tmp = out.with_suffix(".partial")
    tmp.write_text(benchmark_to_json(result), encoding="utf-8")
    tmp.replace(out)
    return 0


def prepare_benchmark_process() -> None:
    """For a process that benchmarks models (a child here, a Ray task there): it never
    reaches the Hub, and library warnings and progress bars stay off its output."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    # After the environment is set: these read it when they are first imported.
    from scanner.library_logs import quiet_library_logs

    quiet_library_logs()
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when the scan that started it dies (even by SIGKILL),
    so a killed scan leaves no benchmark running on behind it."""
    parent = os.getppid()
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the driver's timeout still applies
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

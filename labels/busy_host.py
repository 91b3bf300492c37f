"""The words for a busy host, shared by the scanner (a contended run's reason) and grading.

A label measured while other processes took the CPUs is not a fact about the model. The
scanner measures busy windows again; when clean ones cannot be had the run is *contended*
and its reason says how busy the host was, in these words. Standard library only.
"""

from __future__ import annotations


def busy_reason(cpu_cores: float | None, gpu_processes: int | None = None) -> str:
    """How busy the host was, e.g. "the host was busy: 47 % of a core went to other
    processes"."""
    parts = []
    if cpu_cores is not None and cpu_cores > 0:
        if cpu_cores < 0.995:
            parts.append(f"{cpu_cores * 100:.0f} % of a core went to other processes")
        else:
            parts.append(f"{cpu_cores:.1f} cores went to other processes")
    if gpu_processes:
        plural = "es" if gpu_processes > 1 else ""
        parts.append(f"{gpu_processes} other process{plural} computed on the GPU")
    return "the host was busy: " + ("; ".join(parts) or "other processes were running")

"""How many CPUs this process may really use: its affinity mask and its cgroup's CPU quota.

torch and ONNX Runtime size their thread pools from the machine's core count. In a
container with a quota of 2 CPUs on a 64-core host, or a process pinned to 4 cores, that is
far too many threads: they wait on each other, spin, and their spinning is counted as the
model's CPU time (and energy). The thread count follows the CPUs we may use instead.

An explicit `OMP_NUM_THREADS` caps the count further: Ray sets it to the CPUs it gave a task
(`num_cpus=1`, so two tasks on two cores use one thread each rather than two), and a user who
sets it means it.

The filesystem root and the environment are injectable so tests read a fake /proc,
/sys/fs/cgroup and environment.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CpuAllowance:
    """The CPUs this process may run on and the cgroup quota over them."""

    affinity_cpus: int  # CPUs in the affinity mask
    quota_cpus: float | None  # cgroup cpu.max (v2) or cfs quota (v1) in CPUs; None: no quota
    quota_source: str | None  # the file the quota was read from
    omp_num_threads: int | None = None  # an explicit OMP_NUM_THREADS (Ray's, a user's)

    @property
    def usable_cpus(self) -> int:
        """Whole CPUs we may use: the affinity count, capped by the quota and by an explicit
        OMP_NUM_THREADS (at least 1)."""
        caps = [self.affinity_cpus]
        if self.quota_cpus is not None:
            caps.append(math.ceil(self.quota_cpus))
        if self.omp_num_threads is not None:
            caps.append(self.omp_num_threads)
        return max(min(caps), 1)


def cpu_allowance(
    root: Path = Path("/"),
    affinity: Callable[[], set[int]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> CpuAllowance:
    """The CPUs this process may use, from its affinity, its cgroup (v2, then v1) and an
    explicit OMP_NUM_THREADS."""
    cpus = affinity_set(affinity)
    quota, source = cgroup_quota_cpus(root)
    return CpuAllowance(
        affinity_cpus=len(cpus),
        quota_cpus=quota,
        quota_source=source,
        omp_num_threads=omp_num_threads(os.environ if environ is None else environ),
    )


def omp_num_threads(environ: Mapping[str, str]) -> int | None:
    """`OMP_NUM_THREADS` as a positive whole number, or None where it is unset or is not one
    (OpenMP ignores such values too)."""
    value = environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def affinity_set(affinity: Callable[[], set[int]] | None = None) -> set[int]:
    """The CPU ids this process may run on (all of them where the OS has no affinity call)."""
    if affinity is not None:
        return set(affinity())
    getter = getattr(os, "sched_getaffinity", None)
    if getter is not None:
        return set(getter(0))
    return set(range(os.cpu_count() or 1))


def cgroup_quota_cpus(root: Path = Path("/")) -> tuple[float | None, str | None]:
    """The tightest CPU quota on this process's cgroup path, in CPUs, and its file.

    cgroup v2: `cpu.max` is "QUOTA PERIOD" or "max PERIOD"; v1: `cpu.cfs_quota_us` (-1 is
    none) over `cpu.cfs_period_us`. Each level from our cgroup up to the root may set one;
    the smallest wins. Unreadable files mean no quota.
    """
    best: tuple[float | None, str | None] = (None, None)
    for directory in _cgroup_dirs(root):
        quota = _read_v2(directory / "cpu.max")
        if quota is None:
            quota = _read_v1(directory)
        if quota is not None and (best[0] is None or quota < best[0]):
            best = (quota, str(directory.relative_to(root)))
    return best


def _cgroup_dirs(root: Path) -> list[Path]:
    """Our cgroup's directory and its parents, for the v2 tree and the v1 cpu controller."""
    base = root / "sys" / "fs" / "cgroup"
    try:
        lines = (root / "proc" / "self" / "cgroup").read_text().splitlines()
    except OSError:
        return [base]
    found: list[Path] = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            mount = base
        elif "cpu" in controllers.split(","):
            mount = base / controllers
            if not mount.exists():
                mount = base / "cpu"
        else:
            continue
        here = mount / path.strip("/") if path.strip("/") else mount
        while True:
            found.append(here)
            if here == mount:
                break
            here = here.parent
    return found or [base]


def _read_v2(path: Path) -> float | None:
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return int(quota) / int(period) if int(period) > 0 else None
    except ValueError:
        return None


def _read_v1(directory: Path) -> float | None:
    try:
        quota = int((directory / "cpu.cfs_quota_us").read_text().strip())
        period = int((directory / "cpu.cfs_period_us").read_text().strip())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def apply_thread_count(allowance: CpuAllowance | None = None) -> int:
    """Size torch's intra-op pool to the CPUs we may use; returns the count set."""
    import torch

    threads = (allowance or cpu_allowance()).usable_cpus
    torch.set_num_threads(threads)
    return threads

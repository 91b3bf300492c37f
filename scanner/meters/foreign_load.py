"""Foreign load: how much of the machine other processes took during a measured window.

Pairing a model with its reference cancels only what both share. A busy core does not slow
a small model and BERT-base alike (threads waiting on a busy sibling spin, and that CPU time
is counted), so a window measured beside someone else's work can move a grade by a class.
Each window therefore records the foreign load, and the harness measures a busy pair again.

CPU: the busy time of the CPUs this process may run on (from /proc/stat, steal included: a
cloud neighbour's time is foreign too), minus the CPU time of our own process tree (this
process, its threads and its children, reaped ones via cutime/cstime) over the same window,
as a share of those CPUs. GPU: the other compute processes on our device, and their SM
utilisation where NVML offers per-process figures; where it does not, the device-wide
utilisation is recorded, said plainly, and any other process on the device counts as busy.

The /proc root, the clock and the NVML module are injectable so tests use recorded counters.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from labels.busy_host import busy_reason

__all__ = ["ForeignLoad", "ForeignLoadProbe", "busy_reason"]

# /proc/stat cpu columns: user nice system idle iowait irq softirq steal guest guest_nice.
# guest time is already inside user, so it is not added again.
_BUSY_COLUMNS = (0, 1, 2, 5, 6, 7)
PER_PROCESS = "nvml-per-process"
DEVICE_WIDE = "nvml-device-wide"


@dataclass(frozen=True)
class ForeignLoad:
    """What other processes took during one window; None where it was not measured."""

    cpu_cores: float | None = None  # cores' worth of busy time that was not ours
    cpu_share: float | None = None  # cpu_cores over the CPUs we may run on (0..1)
    gpu_processes: int | None = None  # other compute processes on our GPU
    gpu_util_pct: float | None = None  # their SM utilisation (per-process NVML), summed
    gpu_device_util_pct: float | None = None  # device-wide, ours included (fallback only)
    gpu_method: str | None = None  # nvml-per-process | nvml-device-wide

    def busy(self, max_cpu_share: float, max_gpu_util_pct: float) -> bool:
        """Above either threshold. Unmeasured parts never make a window busy."""
        if self.cpu_share is not None and self.cpu_share > max_cpu_share:
            return True
        if self.gpu_method == PER_PROCESS and (self.gpu_util_pct or 0.0) > max_gpu_util_pct:
            return True
        # without per-process figures another process on the device is all we can see
        return self.gpu_method == DEVICE_WIDE and bool(self.gpu_processes)


@dataclass(frozen=True)
class _CpuSnapshot:
    host_busy_ticks: int
    own_ticks: int
    at_s: float


class CpuForeignLoad:
    """Foreign CPU load between `start()` and `stop()`, from /proc (ticks of USER_HZ)."""

    def __init__(
        self,
        proc_root: Path = Path("/proc"),
        *,
        cpus: set[int] | None = None,
        pid: int | None = None,
        ticks_per_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.proc_root = proc_root
        getter = getattr(os, "sched_getaffinity", None)
        self.cpus = cpus if cpus is not None else (set(getter(0)) if getter else None)
        self.pid = pid if pid is not None else os.getpid()
        self.ticks_per_s = ticks_per_s or _clock_ticks()
        self.clock = clock
        self._start: _CpuSnapshot | None = None

    def why_not(self) -> str | None:
        """None when /proc/stat can be read here, else why the load is not measured."""
        try:
            _host_busy_ticks(self.proc_root, self.cpus)
        except (OSError, ValueError) as exc:
            return f"foreign CPU load not measured: {self.proc_root / 'stat'} unreadable ({exc})"
        return None

    def start(self) -> None:
        self._start = self._snapshot()

    def stop(self) -> tuple[float | None, float | None]:
        """(cores, share) of the window; (None, None) where /proc could not be read."""
        start, self._start = self._start, None
        end = self._snapshot()
        if start is None or end is None or end.at_s <= start.at_s:
            return None, None
        foreign_ticks = max(
            (end.host_busy_ticks - start.host_busy_ticks) - (end.own_ticks - start.own_ticks), 0
        )
        cores = foreign_ticks / self.ticks_per_s / (end.at_s - start.at_s)
        width = len(self.cpus) if self.cpus else _cpu_lines(self.proc_root)
        return cores, min(cores / max(width, 1), 1.0)

    def _snapshot(self) -> _CpuSnapshot | None:
        try:
            return _CpuSnapshot(
                host_busy_ticks=_host_busy_ticks(self.proc_root, self.cpus),
                own_ticks=own_tree_ticks(self.proc_root, self.pid),
                at_s=self.clock(),
            )
        except (OSError, ValueError):
            return None


def _clock_ticks() -> float:
    try:
        return float(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, ValueError, OSError):
        return 100.0


def _host_busy_ticks(proc_root: Path, cpus: set[int] | None) -> int:
    """Busy ticks of the CPUs in `cpus` (the aggregate line when the per-CPU lines lack one)."""
    lines = (proc_root / "stat").read_text().splitlines()
    total: int | None = None
    per_cpu: dict[int, int] = {}
    for line in lines:
        if not line.startswith("cpu"):
            continue
        name, *values = line.split()
        busy = sum(int(values[i]) for i in _BUSY_COLUMNS if i < len(values))
        if name == "cpu":
            total = busy
        elif name[3:].isdigit():
            per_cpu[int(name[3:])] = busy
    if cpus and all(cpu in per_cpu for cpu in cpus):
        return sum(per_cpu[cpu] for cpu in cpus)
    if total is None:
        raise ValueError("no cpu line")
    return total


def _cpu_lines(proc_root: Path) -> int:
    try:
        lines = (proc_root / "stat").read_text().splitlines()
    except OSError:
        return 1
    return sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit()) or 1


def _stat_fields(text: str) -> tuple[int, list[str]]:
    """(ppid, the fields after the command name) of a /proc/PID/stat line."""
    rest = text[text.rindex(")") + 2 :].split()
    return int(rest[1]), rest


def own_tree_ticks(proc_root: Path, pid: int) -> int:
    """CPU ticks of `pid`, its threads and its descendants, reaped children included.

    utime+stime cover a process's threads; cutime+cstime its waited-for children. Running
    children are found by their parent pid.
    """
    stats: dict[int, tuple[int, list[str]]] = {}
    for entry in proc_root.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stats[int(entry.name)] = _stat_fields((entry / "stat").read_text())
        except (OSError, ValueError):
            continue  # the process exited while we looked
    if pid not in stats:
        raise ValueError(f"no /proc entry for our own pid {pid}")
    children: dict[int, list[int]] = {}
    for child, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(child)
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        fields = stats[current][1]
        # after the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt
        # cmajflt utime stime cutime cstime
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))
        pending.extend(children.get(current, []))
    return total


class GpuForeignLoad:
    """Other processes on our GPU between `start()` and `stop()`, from NVML."""

    def __init__(self, pynvml: ModuleType, handle: Any, pid: int | None = None) -> None:
        self.pynvml = pynvml
        self.handle = handle
        self.pid = pid if pid is not None else os.getpid()
        self._since_us = 0

    def start(self) -> None:
        self._since_us = int(time.time() * 1e6)

    def stop(self) -> ForeignLoad:
        nvml = self.pynvml
        try:
            running = nvml.nvmlDeviceGetComputeRunningProcesses(self.handle)
        except nvml.NVMLError:
            return ForeignLoad()
        others = {p.pid for p in running if p.pid != self.pid}
        try:
            samples = nvml.nvmlDeviceGetProcessUtilization(self.handle, self._since_us)
        except nvml.NVMLError as exc:
            if _is_not_found(nvml, exc):  # no sample since `since`: nobody computed
                return ForeignLoad(
                    gpu_processes=len(others), gpu_util_pct=0.0, gpu_method=PER_PROCESS
                )
            return ForeignLoad(
                gpu_processes=len(others),
                gpu_device_util_pct=_device_util(nvml, self.handle),
                gpu_method=DEVICE_WIDE,
            )
        except AttributeError:  # a pynvml without the call
            return ForeignLoad(
                gpu_processes=len(others),
                gpu_device_util_pct=_device_util(nvml, self.handle),
                gpu_method=DEVICE_WIDE,
            )
        peak: dict[int, float] = {}
        for sample in samples:
            if sample.pid != self.pid:
                peak[sample.pid] = max(peak.get(sample.pid, 0.0), float(sample.smUtil))
        return ForeignLoad(
            gpu_processes=len(others | set(peak)),
            gpu_util_pct=sum(peak.values()),
            gpu_method=PER_PROCESS,
        )


def _is_not_found(nvml: ModuleType, exc: Exception) -> bool:
    code = getattr(exc, "value", None)
    return code is not None and code == getattr(nvml, "NVML_ERROR_NOT_FOUND", object())


def _device_util(nvml: ModuleType, handle: Any) -> float | None:
    try:
        return float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
    except (nvml.NVMLError, AttributeError):
        return None


class ForeignLoadProbe:
    """The CPU part and, on a GPU with NVML, the GPU part, read around each window."""

    def __init__(self, cpu: CpuForeignLoad | None, gpu: GpuForeignLoad | None = None) -> None:
        self.cpu = cpu
        self.gpu = gpu

    def start(self) -> None:
        if self.cpu:
            self.cpu.start()
        if self.gpu:
            self.gpu.start()

    def stop(self) -> ForeignLoad:
        cores, share = self.cpu.stop() if self.cpu else (None, None)
        gpu = self.gpu.stop() if self.gpu else ForeignLoad()
        return ForeignLoad(
            cpu_cores=cores,
            cpu_share=share,
            gpu_processes=gpu.gpu_processes,
            gpu_util_pct=gpu.gpu_util_pct,
            gpu_device_util_pct=gpu.gpu_device_util_pct,
            gpu_method=gpu.gpu_method,
        )


def detection_enabled() -> bool:
    """`LABELER_FOREIGN_LOAD=off` switches the probe (and so the re-measuring) off: for the
    cost comparison in benchmarks/contention.py, never for a published label."""
    return os.environ.get("LABELER_FOREIGN_LOAD", "on").strip().lower() not in {"off", "0", "no"}


def probe_for(
    meter: object, proc_root: Path = Path("/proc")
) -> tuple[ForeignLoadProbe | None, str | None]:
    """The probe for a run on `meter`'s device, and a note when part of it is missing.

    The CPU part needs a readable /proc/stat (Linux); the GPU part an NVML meter. Neither:
    no probe, and the note says the foreign load is not measured.
    """
    if not detection_enabled():
        return None, "foreign load not measured: switched off (LABELER_FOREIGN_LOAD=off)"
    cpu: CpuForeignLoad | None = CpuForeignLoad(proc_root)
    why_not = cpu.why_not()
    if why_not:
        cpu = None
    gpu_part = getattr(meter, "gpu_foreign_load", None)
    gpu = gpu_part() if gpu_part else None
    if cpu is None and gpu is None:
        return None, why_not
    return ForeignLoadProbe(cpu, gpu), why_not


def foreign_load_note(proc_root: Path = Path("/proc")) -> str | None:
    """Said once per scan: why the foreign CPU load will not be measured, or None."""
    if not detection_enabled():
        return "foreign load not measured: switched off (LABELER_FOREIGN_LOAD=off)"
    return CpuForeignLoad(proc_root).why_not()

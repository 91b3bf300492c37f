"""Modelled CPU energy for machines with no readable counter: the `estimate` method.

energy = CPU seconds this process used (all its threads) × watts per core, where watts per
core is the CPU's rated TDP divided by its physical cores, from a small table of vendor
spec-sheet figures, or a deliberately high default for CPUs not in the table.

The model has no idle and no uncore share (memory controller, caches, fans, the rest of the
machine), so it reads lower than a wall-plug or RAPL figure and is never comparable with
measured numbers: every reading and label made with it is marked estimated.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.meters.base import EnergyMeter, EnergyReading

# Above every entry in the table below (3.5–7.5 W per core), so that a CPU we do not know
# never looks more efficient than one we do.
DEFAULT_WATTS_PER_CORE = 10.0
DEFAULT_SOURCE = "default for CPUs not in the table (docs/methodology.md, Estimated energy)"


@dataclass(frozen=True)
class CpuPowerSpec:
    """A CPU model's rated power and core count, as its vendor publishes them."""

    pattern: str  # regular expression searched in the CPU model name, case-insensitive
    tdp_w: float
    physical_cores: int
    source: str

    @property
    def watts_per_core(self) -> float:
        return self.tdp_w / self.physical_cores


# Default TDP and physical cores from the vendors' product pages (ark.intel.com, amd.com
# product specifications). Keep the source beside each number.
CPU_POWER_SPECS: tuple[CpuPowerSpec, ...] = (
    CpuPowerSpec(r"EPYC 7742\b", 225, 64, "AMD product specifications, AMD EPYC 7742"),
    CpuPowerSpec(r"EPYC 7763\b", 280, 64, "AMD product specifications, AMD EPYC 7763"),
    CpuPowerSpec(r"EPYC 9654\b", 360, 96, "AMD product specifications, AMD EPYC 9654"),
    CpuPowerSpec(r"EPYC 9754\b", 360, 128, "AMD product specifications, AMD EPYC 9754"),
    CpuPowerSpec(r"Xeon.*Gold 6248\b", 150, 20, "Intel ARK, Xeon Gold 6248"),
    CpuPowerSpec(r"Xeon.*Platinum 8280\b", 205, 28, "Intel ARK, Xeon Platinum 8280"),
    CpuPowerSpec(r"Xeon.*Platinum 8380\b", 270, 40, "Intel ARK, Xeon Platinum 8380"),
    CpuPowerSpec(r"Xeon.*Platinum 8480\+", 350, 56, "Intel ARK, Xeon Platinum 8480+"),
    CpuPowerSpec(r"Xeon.*Platinum 8592\+", 350, 64, "Intel ARK, Xeon Platinum 8592+"),
    CpuPowerSpec(r"Altra.*Q80-30\b", 210, 80, "Ampere Altra product brief, Q80-30"),
)


def read_cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU model name from /proc/cpuinfo, or platform.processor() where it has none."""
    import platform

    try:
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "cpu model") and value.strip():
                return value.strip()
    except OSError:
        pass  # not Linux: fall through to what the platform module knows
    return platform.processor() or platform.machine() or "unknown"


def watts_per_core_for(cpu_model: str) -> tuple[float, str]:
    """Watts per physical core for `cpu_model`, and where the figure comes from."""
    for spec in CPU_POWER_SPECS:
        if re.search(spec.pattern, cpu_model, flags=re.IGNORECASE):
            return (
                spec.watts_per_core,
                f"{spec.source}: {spec.tdp_w:g} W TDP / {spec.physical_cores} cores",
            )
    return DEFAULT_WATTS_PER_CORE, DEFAULT_SOURCE


class EstimateMeter(EnergyMeter):
    """Energy of a window modelled from this process's CPU time."""

    method = "estimate"
    estimated = True

    def __init__(
        self,
        cpu_model: str | None = None,
        watts_per_core: float | None = None,
        *,
        clock: Callable[[], float] = time.perf_counter,
        cpu_clock: Callable[[], float] = time.process_time,
    ) -> None:
        self.cpu_model = cpu_model if cpu_model is not None else read_cpu_model()
        if watts_per_core is None:
            self.watts_per_core, self.watts_per_core_source = watts_per_core_for(self.cpu_model)
        else:
            self.watts_per_core, self.watts_per_core_source = watts_per_core, "given by caller"
        self._clock = clock
        self._cpu_clock = cpu_clock
        self._start_cpu_s: float | None = None
        self._start_s = 0.0

    def start(self) -> None:
        self._start_cpu_s = self._cpu_clock()
        self._start_s = self._clock()

    def stop(self) -> EnergyReading:
        if self._start_cpu_s is None:
            raise RuntimeError("EstimateMeter.stop() called without start()")
        cpu_s = self._cpu_clock() - self._start_cpu_s
        duration_s = self._clock() - self._start_s
        self._start_cpu_s = None
        return EnergyReading(
            energy_j=cpu_s * self.watts_per_core,
            duration_s=duration_s,
            method=self.method,
            details={"cpu_s": cpu_s, "watts_per_core": self.watts_per_core},
        )

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "source": "time.process_time() of this process × watts per core; "
            "no idle or uncore share",
            "cpu_model": self.cpu_model,
            "watts_per_core": self.watts_per_core,
            "watts_per_core_source": self.watts_per_core_source,
        }

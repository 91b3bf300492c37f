"""The small interface every energy meter implements, and the reading it returns.

The harness calls `start()` and `stop()` around each measured window and synchronises the
device itself before each call, so meters never import torch.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from labels.errors import LabelerError


class MeterUnavailable(LabelerError):
    """This meter cannot run here; the message is the reason recorded in the catalog."""


@dataclass(frozen=True)
class EnergyReading:
    """Energy of one window, as this meter saw it."""

    energy_j: float
    duration_s: float
    method: str
    temperature_c: float | None = None
    sm_clock_mhz: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else 0.0


class EnergyMeter(ABC):
    """Measures the energy of windows of work on one device."""

    method: str = ""
    estimated: bool = False  # True only for meters that model energy instead of reading it

    @abstractmethod
    def start(self) -> None:
        """Begin a window."""

    @abstractmethod
    def stop(self) -> EnergyReading:
        """End the window begun by `start()` and return its energy."""

    def idle_power_w(self, duration_s: float = 2.0) -> float:
        """Average power over `duration_s` of doing nothing, to subtract from windows."""
        import time

        self.start()
        time.sleep(duration_s)
        return self.stop().power_w

    def describe(self) -> dict[str, Any]:
        """Provenance for the run: what is read, at what interval, from which source."""
        return {"method": self.method, "estimated": self.estimated}

    def other_processes(self) -> list[Any] | None:
        """Other processes computing on the metered device (their energy lands in our
        windows), or None where this meter cannot tell (CPU meters)."""
        return None

    def gpu_foreign_load(self) -> Any:
        """A `GpuForeignLoad` reading other processes' work on the metered GPU, or None
        where this meter has no NVML handle (CPU meters)."""
        return None

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release handles (NVML, polling threads)."""

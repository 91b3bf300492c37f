"""A deterministic meter for tests of the harness: constant power times elapsed time.

With an injected `clock` the readings do not depend on how fast the test machine is.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from scanner.meters.base import EnergyMeter, EnergyReading


class FakeMeter(EnergyMeter):
    """Reports energy = `power_w` × elapsed time, and `idle_w` as idle power without waiting."""

    def __init__(
        self,
        power_w: float,
        method: str = "fake",
        *,
        idle_w: float = 0.0,
        estimated: bool = False,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.power_w = power_w
        self.method = method
        self.idle_w = idle_w
        self.estimated = estimated
        self._clock = clock
        self._start_s: float | None = None
        self.windows = 0  # how many windows were measured, for assertions in tests
        self.closed = False

    def start(self) -> None:
        self._start_s = self._clock()

    def stop(self) -> EnergyReading:
        if self._start_s is None:
            raise RuntimeError("FakeMeter.stop() called without start()")
        duration_s = self._clock() - self._start_s
        self._start_s = None
        self.windows += 1
        return EnergyReading(
            energy_j=self.power_w * duration_s, duration_s=duration_s, method=self.method
        )

    def idle_power_w(self, duration_s: float = 2.0) -> float:
        return self.idle_w

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "power_w": self.power_w, "idle_w": self.idle_w}

    def close(self) -> None:
        self.closed = True

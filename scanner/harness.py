"""The measurement protocol: warm up, then repeated measured windows of a minimum length.

Each window runs `while elapsed < window_s or iterations < window_iterations`, so short
calls are repeated until the meter can see them (NVML's counter updates about every
100 ms). Every window is kept; the summary reports the median, the spread and the
coefficient of variation, and flags results noisier than the scheme allows.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scanner.meters.base import EnergyMeter

HARNESS_VERSION = "1"
J_PER_WH = 3600.0


@dataclass(frozen=True)
class Protocol:
    """How long and how often to measure. GPU defaults follow NVML's update interval."""

    warmup_s: float = 1.0
    warmup_iterations: int = 2
    window_s: float = 1.0
    window_iterations: int = 3
    windows: int = 5
    idle_s: float = 1.0
    cooldown_s: float = 0.0
    noisy_cv: float = 0.10

    @classmethod
    def for_device(cls, device: str, **overrides: Any) -> Protocol:
        base = cls(window_s=5.0, idle_s=3.0, cooldown_s=2.0) if device.startswith("cuda") else cls()
        values = {**base.__dict__, **{k: v for k, v in overrides.items() if v is not None}}
        return cls(**values)


@dataclass(frozen=True)
class Window:
    """One measured window."""

    duration_s: float
    iterations: int
    inferences: int
    energy_j: float
    idle_energy_j: float
    latency_ms_p50: float
    temperature_c: float | None = None
    sm_clock_mhz: float | None = None

    @property
    def power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def energy_wh_per_1k(self) -> float:
        return self.energy_j / J_PER_WH / self.inferences * 1000.0

    @property
    def energy_wh_per_1k_net(self) -> float:
        net_j = max(self.energy_j - self.idle_energy_j, 0.0)
        return net_j / J_PER_WH / self.inferences * 1000.0


@dataclass(frozen=True)
class Measurement:
    """All windows of one variant and their summary."""

    windows: list[Window]
    idle_power_w: float
    latencies_ms: list[float] = field(repr=False, default_factory=list)
    noisy_cv: float = 0.10

    @property
    def energy_wh_per_1k(self) -> float:
        return statistics.median(w.energy_wh_per_1k for w in self.windows)

    @property
    def energy_wh_per_1k_net(self) -> float:
        return statistics.median(w.energy_wh_per_1k_net for w in self.windows)

    @property
    def energy_cv(self) -> float:
        values = [w.energy_wh_per_1k for w in self.windows]
        if len(values) < 2 or statistics.mean(values) == 0:
            return 0.0
        return statistics.stdev(values) / statistics.mean(values)

    @property
    def noisy(self) -> bool:
        return self.energy_cv > self.noisy_cv

    @property
    def latency_ms_p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def latency_ms_p95(self) -> float:
        return percentile(self.latencies_ms, 95)

    @property
    def measured_s(self) -> float:
        return sum(w.duration_s for w in self.windows)


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile; no numpy needed."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def measure_idle_power_w(meter: EnergyMeter, duration_s: float) -> float:
    if duration_s <= 0:
        return 0.0
    return meter.idle_power_w(duration_s)


def run_windows(
    call: Callable[[], Any],
    meter: EnergyMeter,
    *,
    inferences_per_call: int,
    protocol: Protocol,
    idle_power_w: float,
    sync: Callable[[], None] = lambda: None,
    on_window: Callable[[int], None] | None = None,
) -> Measurement:
    """Warm up, then measure `protocol.windows` windows of `call`."""
    if inferences_per_call <= 0:
        raise ValueError("inferences_per_call must be positive")
    _repeat(call, sync, protocol.warmup_s, protocol.warmup_iterations)
    windows: list[Window] = []
    all_latencies: list[float] = []
    for index in range(protocol.windows):
        sync()
        meter.start()
        latencies = _repeat(call, sync, protocol.window_s, protocol.window_iterations)
        sync()
        reading = meter.stop()
        iterations = len(latencies)
        windows.append(
            Window(
                duration_s=reading.duration_s,
                iterations=iterations,
                inferences=iterations * inferences_per_call,
                energy_j=reading.energy_j,
                idle_energy_j=idle_power_w * reading.duration_s,
                latency_ms_p50=percentile(latencies, 50),
                temperature_c=reading.temperature_c,
                sm_clock_mhz=reading.sm_clock_mhz,
            )
        )
        all_latencies.extend(latencies)
        if on_window:
            on_window(index)
    return Measurement(windows, idle_power_w, all_latencies, protocol.noisy_cv)


def _repeat(
    call: Callable[[], Any], sync: Callable[[], None], min_s: float, min_iterations: int
) -> list[float]:
    """Run `call` until both the time and the count minimums are met; latencies in ms."""
    latencies: list[float] = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_s or len(latencies) < min_iterations:
        t0 = time.perf_counter()
        call()
        sync()
        latencies.append((time.perf_counter() - t0) * 1000.0)
    return latencies

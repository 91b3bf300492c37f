"""GPU energy from polled board power, for GPUs without an energy counter: `nvml-power`.

Pre-Volta GPUs only report power (`nvmlDeviceGetPowerUsage`, milliwatts). A background
thread samples it at a fixed interval and the window's energy is the trapezoid integral of
the samples. This is coarser than the counter: spikes between samples are missed, and on
some boards the driver itself reports a power averaged over up to a second, so it needs
windows of several seconds and is only used when `nvml` cannot run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from scanner.meters.base import EnergyMeter, EnergyReading, MeterUnavailable
from scanner.meters.foreign_load import GpuForeignLoad
from scanner.meters.nvml import (
    GpuProcess,
    describe_nvml_device,
    list_other_processes,
    load_nvml,
    nvml_device_handle,
    read_gpu_conditions,
)


def integrate_power_trace(samples: Sequence[tuple[float, float]]) -> float:
    """Energy in joules of (time_s, power_w) samples, by the trapezoid rule.

    One sample or none spans no time, so holds no energy.
    """
    energy_j = 0.0
    for (t0, p0), (t1, p1) in zip(samples, samples[1:], strict=False):
        energy_j += (t1 - t0) * (p0 + p1) / 2.0
    return energy_j


class NvmlPowerMeter(EnergyMeter):
    """Energy of a window as the integral of power sampled every `interval_s` seconds."""

    method = "nvml-power"

    def __init__(
        self,
        device_index: int = 0,
        interval_s: float = 0.02,
        *,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        self.device_index = device_index
        self.interval_s = interval_s
        self._clock = clock
        self._nvml = load_nvml()
        self._handle = nvml_device_handle(self._nvml, device_index)
        try:
            self._read_power_w()
        except self._nvml.NVMLError as exc:
            self._nvml.nvmlShutdown()
            raise MeterUnavailable(
                f"GPU {device_index} does not report power (nvmlDeviceGetPowerUsage: {exc})"
            ) from exc
        self._closed = False
        self._samples: list[tuple[float, float]] = []
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._poll_error: BaseException | None = None

    def _read_power_w(self) -> float:
        return self._nvml.nvmlDeviceGetPowerUsage(self._handle) / 1000.0

    def _sample(self) -> None:
        # Time is taken after the read so that it matches the value just returned.
        power_w = self._read_power_w()
        self._samples.append((self._clock(), power_w))

    def _poll(self) -> None:
        try:
            while not self._stop_event.wait(self.interval_s):
                self._sample()
        except BaseException as exc:  # surfaced by stop(), a thread cannot raise to us
            self._poll_error = exc

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("NvmlPowerMeter.start() called twice without stop()")
        self._samples = []
        self._poll_error = None
        self._stop_event.clear()
        self._sample()
        self._thread = threading.Thread(target=self._poll, name="nvml-power-poll", daemon=True)
        self._thread.start()

    def stop(self) -> EnergyReading:
        if self._thread is None:
            raise RuntimeError("NvmlPowerMeter.stop() called without start()")
        self._stop_event.set()
        self._thread.join()
        self._thread = None
        if self._poll_error is not None:
            raise RuntimeError(f"polling GPU power failed: {self._poll_error}") from (
                self._poll_error
            )
        self._sample()
        samples = self._samples
        temperature_c, sm_clock_mhz = read_gpu_conditions(self._nvml, self._handle)
        return EnergyReading(
            energy_j=integrate_power_trace(samples),
            duration_s=samples[-1][0] - samples[0][0],
            method=self.method,
            temperature_c=temperature_c,
            sm_clock_mhz=sm_clock_mhz,
            details={"interval_s": self.interval_s, "samples": len(samples)},
        )

    def gpu_foreign_load(self) -> GpuForeignLoad:
        return GpuForeignLoad(self._nvml, self._handle)

    def other_processes(self) -> list[GpuProcess]:
        """Other compute processes on this GPU; their energy would be counted in our windows."""
        return list_other_processes(self._nvml, self._handle)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "device_index": self.device_index,
            "source": "nvmlDeviceGetPowerUsage (mW), trapezoid-integrated",
            "interval_s": self.interval_s,
            "samples_last_window": len(self._samples),
            **describe_nvml_device(self._nvml, self._handle),
        }

    def close(self) -> None:
        if self._thread is not None:
            self._stop_event.set()
            self._thread.join()
            self._thread = None
        if not self._closed:
            self._closed = True
            self._nvml.nvmlShutdown()

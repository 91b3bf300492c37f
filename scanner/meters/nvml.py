"""GPU energy from NVML's total-energy counter (Volta and newer): the `nvml` method.

The driver keeps a running total of the energy the board has used since the driver loaded,
in millijoules; a window's energy is the difference of two readings. This is the most
direct measurement we have on a GPU, so it is preferred whenever the counter exists. The
counter updates about every 100 ms, which is why the harness uses windows of seconds.

The helpers `load_nvml`, `nvml_device_handle` and `describe_nvml_device` are shared with
`nvml_power.py` and `scanner/hardware.py`, so all three talk to NVML the same way.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from scanner.meters.base import EnergyMeter, EnergyReading, MeterUnavailable
from scanner.meters.foreign_load import GpuForeignLoad


@dataclass(frozen=True)
class GpuProcess:
    """Another process computing on the same GPU: its energy would land in our windows."""

    pid: int
    used_memory_mb: float | None  # None where the driver does not report it (MIG, WDDM)


def load_nvml() -> ModuleType:
    """Import and initialise pynvml, or raise MeterUnavailable saying why not.

    pynvml counts `nvmlInit` calls, so every successful call here needs one
    `nvmlShutdown` (done by the meters' `close()`).
    """
    try:
        import pynvml
    except ImportError as exc:
        raise MeterUnavailable("pynvml is not installed (pip install nvidia-ml-py)") from exc
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        raise MeterUnavailable(
            f"NVML could not be initialised ({exc}): no NVIDIA driver or GPU visible"
        ) from exc
    return pynvml


def nvml_device_handle(pynvml: ModuleType, device_index: int) -> Any:
    """The handle of GPU `device_index`; shuts NVML down again before raising."""
    try:
        count = pynvml.nvmlDeviceGetCount()
        if device_index >= count:
            raise MeterUnavailable(
                f"no NVIDIA GPU with index {device_index} (NVML sees {count} device(s))"
            )
        return pynvml.nvmlDeviceGetHandleByIndex(device_index)
    except pynvml.NVMLError as exc:
        pynvml.nvmlShutdown()
        raise MeterUnavailable(f"NVML could not open GPU {device_index}: {exc}") from exc
    except MeterUnavailable:
        pynvml.nvmlShutdown()
        raise


def _text(value: str | bytes) -> str:
    # Older pynvml releases return bytes, newer ones str.
    return value.decode() if isinstance(value, bytes) else value


def describe_nvml_device(pynvml: ModuleType, handle: Any) -> dict[str, Any]:
    """Name, driver, enforced power limit and memory of one GPU, for provenance."""
    description: dict[str, Any] = {
        "gpu_name": _text(pynvml.nvmlDeviceGetName(handle)),
        "driver_version": _text(pynvml.nvmlSystemGetDriverVersion()),
        "power_limit_w": None,
        "gpu_memory_gb": None,
    }
    # Not every board exposes these; provenance then says None.
    with contextlib.suppress(pynvml.NVMLError):
        description["power_limit_w"] = pynvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000.0
    with contextlib.suppress(pynvml.NVMLError):
        memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
        description["gpu_memory_gb"] = round(memory.total / 1024**3, 2)
    return description


def read_gpu_conditions(pynvml: ModuleType, handle: Any) -> tuple[float | None, float | None]:
    """Temperature (°C) and SM clock (MHz) now: they explain why two windows differ."""
    try:
        temperature_c = float(pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU))
    except pynvml.NVMLError:
        temperature_c = None
    try:
        sm_clock_mhz = float(pynvml.nvmlDeviceGetClockInfo(handle, pynvml.NVML_CLOCK_SM))
    except pynvml.NVMLError:
        sm_clock_mhz = None
    return temperature_c, sm_clock_mhz


def list_other_processes(pynvml: ModuleType, handle: Any) -> list[GpuProcess]:
    """Compute processes on the GPU other than this one."""
    own_pid = os.getpid()
    others = []
    for process in pynvml.nvmlDeviceGetComputeRunningProcesses(handle):
        if process.pid == own_pid:
            continue
        used = getattr(process, "usedGpuMemory", None)
        others.append(
            GpuProcess(pid=process.pid, used_memory_mb=None if used is None else used / 1024**2)
        )
    return others


class NvmlMeter(EnergyMeter):
    """Energy of a window as the difference of NVML's total-energy counter (millijoules)."""

    method = "nvml"

    def __init__(
        self, device_index: int = 0, *, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.device_index = device_index
        self._clock = clock
        self._nvml = load_nvml()
        self._handle = nvml_device_handle(self._nvml, device_index)
        try:
            self._read_counter_mj()
        except self._nvml.NVMLError_NotSupported as exc:
            name = _text(self._nvml.nvmlDeviceGetName(self._handle))
            self._nvml.nvmlShutdown()
            raise MeterUnavailable(
                f"GPU {device_index} ({name}) has no total-energy counter "
                "(nvmlDeviceGetTotalEnergyConsumption needs Volta or newer); use nvml-power"
            ) from exc
        except self._nvml.NVMLError as exc:
            self._nvml.nvmlShutdown()
            raise MeterUnavailable(
                f"NVML energy counter unreadable on GPU {device_index}: {exc}"
            ) from exc
        self._closed = False
        self._start_mj: int | None = None
        self._start_s = 0.0

    def _read_counter_mj(self) -> int:
        return int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))

    def start(self) -> None:
        self._start_mj = self._read_counter_mj()
        self._start_s = self._clock()

    def stop(self) -> EnergyReading:
        if self._start_mj is None:
            raise RuntimeError("NvmlMeter.stop() called without start()")
        end_mj = self._read_counter_mj()
        duration_s = self._clock() - self._start_s
        start_mj, self._start_mj = self._start_mj, None
        if end_mj < start_mj:
            # The 64-bit counter never wraps in practice; going backwards means the driver
            # reloaded, and any number we made up for this window would be wrong.
            raise RuntimeError(
                f"NVML energy counter went backwards ({start_mj} → {end_mj} mJ); "
                "driver reset during the window"
            )
        temperature_c, sm_clock_mhz = read_gpu_conditions(self._nvml, self._handle)
        return EnergyReading(
            energy_j=(end_mj - start_mj) / 1000.0,
            duration_s=duration_s,
            method=self.method,
            temperature_c=temperature_c,
            sm_clock_mhz=sm_clock_mhz,
            details={"counter_start_mj": start_mj, "counter_end_mj": end_mj},
        )

    def other_processes(self) -> list[GpuProcess]:
        """Other compute processes on this GPU; their energy would be counted in our windows."""
        return list_other_processes(self._nvml, self._handle)

    def gpu_foreign_load(self) -> GpuForeignLoad:
        return GpuForeignLoad(self._nvml, self._handle)

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "device_index": self.device_index,
            "source": "nvmlDeviceGetTotalEnergyConsumption (mJ since driver load)",
            "counter_update_interval_s": 0.1,
            **describe_nvml_device(self._nvml, self._handle),
        }

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._nvml.nvmlShutdown()

"""NVML meters against a patched pynvml: counter difference, integration, failure reasons."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from types import SimpleNamespace

import pynvml
import pytest

from scanner.meters.base import MeterUnavailable
from scanner.meters.nvml import GpuProcess, NvmlMeter
from scanner.meters.nvml_power import NvmlPowerMeter, integrate_power_trace


@dataclass
class FakeGpu:
    """What the patched NVML reports for one GPU; tests change the fields between calls."""

    name: str = "NVIDIA H100 80GB HBM3"
    driver: str = "550.54.15"
    energy_mj: int = 1_000_000
    power_mw: int = 250_000
    power_limit_mw: int = 700_000
    memory_bytes: int = 81559 * 1024**2
    temperature_c: int = 41
    sm_clock_mhz: int = 1980
    energy_supported: bool = True
    processes: list[SimpleNamespace] = field(default_factory=list)


@dataclass
class FakeNvml:
    gpus: list[FakeGpu]
    init_error: int | None = None
    inits: int = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def init() -> None:
            if self.init_error is not None:
                raise pynvml.NVMLError(self.init_error)
            self.inits += 1

        def shutdown() -> None:
            self.inits -= 1

        def energy(handle: FakeGpu) -> int:
            if not handle.energy_supported:
                raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
            return handle.energy_mj

        def handle_by_index(index: int) -> FakeGpu:
            return self.gpus[index]

        patches = {
            "nvmlInit": init,
            "nvmlShutdown": shutdown,
            "nvmlDeviceGetCount": lambda: len(self.gpus),
            "nvmlDeviceGetHandleByIndex": handle_by_index,
            "nvmlDeviceGetTotalEnergyConsumption": energy,
            "nvmlDeviceGetPowerUsage": lambda h: h.power_mw,
            "nvmlDeviceGetName": lambda h: h.name,
            "nvmlSystemGetDriverVersion": lambda: self.gpus[0].driver,
            "nvmlDeviceGetEnforcedPowerLimit": lambda h: h.power_limit_mw,
            "nvmlDeviceGetMemoryInfo": lambda h: SimpleNamespace(total=h.memory_bytes),
            "nvmlDeviceGetTemperature": lambda h, sensor: h.temperature_c,
            "nvmlDeviceGetClockInfo": lambda h, clock: h.sm_clock_mhz,
            "nvmlDeviceGetComputeRunningProcesses": lambda h: h.processes,
        }
        for name, function in patches.items():
            monkeypatch.setattr(pynvml, name, function)


class StepClock:
    """A clock the test advances by hand, so durations do not depend on the machine."""

    def __init__(self) -> None:
        self.now_s = 100.0

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch) -> FakeNvml:
    nvml = FakeNvml(gpus=[FakeGpu()])
    nvml.install(monkeypatch)
    return nvml


def test_nvml_energy_is_the_counter_difference(fake_nvml: FakeNvml) -> None:
    gpu = fake_nvml.gpus[0]
    clock = StepClock()
    meter = NvmlMeter(0, clock=clock)
    meter.start()
    gpu.energy_mj += 1_500_000  # 1500 J
    clock.now_s += 5.0
    gpu.temperature_c = 63
    reading = meter.stop()
    assert reading.method == "nvml"
    assert reading.energy_j == pytest.approx(1500.0)
    assert reading.duration_s == pytest.approx(5.0)
    assert reading.power_w == pytest.approx(300.0)
    assert reading.temperature_c == 63
    assert reading.sm_clock_mhz == 1980
    assert not meter.estimated
    meter.close()
    assert fake_nvml.inits == 0


def test_nvml_describe_records_gpu_provenance(fake_nvml: FakeNvml) -> None:
    meter = NvmlMeter(0)
    description = meter.describe()
    assert description["method"] == "nvml"
    assert description["estimated"] is False
    assert description["gpu_name"] == "NVIDIA H100 80GB HBM3"
    assert description["driver_version"] == "550.54.15"
    assert description["power_limit_w"] == pytest.approx(700.0)
    assert description["gpu_memory_gb"] == pytest.approx(79.65, abs=0.01)
    meter.close()


def test_nvml_without_energy_counter_is_unavailable(fake_nvml: FakeNvml) -> None:
    fake_nvml.gpus[0] = FakeGpu(name="Tesla P100-PCIE-16GB", energy_supported=False)
    with pytest.raises(MeterUnavailable, match="no total-energy counter.*Volta"):
        NvmlMeter(0)
    assert fake_nvml.inits == 0  # NVML shut down again


def test_nvml_without_device_is_unavailable(fake_nvml: FakeNvml) -> None:
    with pytest.raises(MeterUnavailable, match="no NVIDIA GPU with index 1"):
        NvmlMeter(1)
    fake_nvml.gpus.clear()
    with pytest.raises(MeterUnavailable, match="index 0 .*0 device"):
        NvmlMeter(0)
    assert fake_nvml.inits == 0


def test_nvml_without_driver_is_unavailable(fake_nvml: FakeNvml) -> None:
    fake_nvml.init_error = pynvml.NVML_ERROR_DRIVER_NOT_LOADED
    with pytest.raises(MeterUnavailable, match="NVML could not be initialised"):
        NvmlMeter(0)


def test_nvml_stop_without_start_is_an_error(fake_nvml: FakeNvml) -> None:
    meter = NvmlMeter(0)
    with pytest.raises(RuntimeError, match="without start"):
        meter.stop()


def test_nvml_counter_going_backwards_is_an_error(fake_nvml: FakeNvml) -> None:
    meter = NvmlMeter(0)
    meter.start()
    fake_nvml.gpus[0].energy_mj = 10
    with pytest.raises(RuntimeError, match="went backwards"):
        meter.stop()


def test_other_processes_excludes_this_one(fake_nvml: FakeNvml) -> None:
    fake_nvml.gpus[0].processes = [
        SimpleNamespace(pid=os.getpid(), usedGpuMemory=2 * 1024**3),
        SimpleNamespace(pid=4242, usedGpuMemory=512 * 1024**2),
        SimpleNamespace(pid=4343, usedGpuMemory=None),
    ]
    meter = NvmlMeter(0)
    assert meter.other_processes() == [
        GpuProcess(pid=4242, used_memory_mb=512.0),
        GpuProcess(pid=4343, used_memory_mb=None),
    ]


def test_integrate_constant_power() -> None:
    samples = [(t * 0.5, 200.0) for t in range(11)]  # 5 s at 200 W
    assert integrate_power_trace(samples) == pytest.approx(1000.0)


def test_integrate_ramp_is_exact_with_trapezoids() -> None:
    # Power rising linearly from 100 W to 300 W over 4 s: mean 200 W, 800 J.
    samples = [(t, 100.0 + 50.0 * t) for t in (0.0, 0.5, 1.5, 2.0, 3.7, 4.0)]
    assert integrate_power_trace(samples) == pytest.approx(800.0)


def test_integrate_too_few_samples_is_zero() -> None:
    assert integrate_power_trace([]) == 0.0
    assert integrate_power_trace([(1.0, 300.0)]) == 0.0


def test_nvml_power_integrates_polled_constant_power(fake_nvml: FakeNvml) -> None:
    # Constant power makes the trapezoid integral exact whatever the sample times are.
    fake_nvml.gpus[0].power_mw = 150_000
    meter = NvmlPowerMeter(0, interval_s=0.001)
    meter.start()
    sum(range(200_000))
    reading = meter.stop()
    assert reading.method == "nvml-power"
    assert reading.duration_s > 0
    assert reading.energy_j == pytest.approx(150.0 * reading.duration_s)
    assert reading.details["interval_s"] == 0.001
    assert reading.details["samples"] >= 2
    assert reading.temperature_c == 41
    description = meter.describe()
    assert description["interval_s"] == 0.001
    assert description["samples_last_window"] == reading.details["samples"]
    meter.close()
    assert fake_nvml.inits == 0


def test_nvml_power_surfaces_polling_errors(fake_nvml: FakeNvml, monkeypatch) -> None:
    meter = NvmlPowerMeter(0, interval_s=0.001)
    meter.start()

    def lost(handle: FakeGpu) -> int:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_GPU_IS_LOST)

    monkeypatch.setattr(pynvml, "nvmlDeviceGetPowerUsage", lost)
    meter._thread.join(timeout=10)  # the poller ends itself on its next, failing sample
    with pytest.raises(RuntimeError, match="polling GPU power failed: GPU is lost"):
        meter.stop()
    meter.close()

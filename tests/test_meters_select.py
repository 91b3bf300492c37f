"""Meter selection on this machine (no GPU, no powercap) and with patched backends."""

from __future__ import annotations

from pathlib import Path

import pynvml
import pytest

from scanner.meters import select as select_module
from scanner.meters.base import MeterUnavailable
from scanner.meters.estimate import EstimateMeter
from scanner.meters.nvml import NvmlMeter
from scanner.meters.nvml_power import NvmlPowerMeter
from scanner.meters.rapl import RaplMeter
from scanner.meters.select import cuda_device_index, select_meter
from tests.test_meters_nvml import FakeGpu, FakeNvml
from tests.test_meters_rapl import write_zone

needs_no_rapl = pytest.mark.skipif(
    Path("/sys/class/powercap/intel-rapl:0").exists(), reason="this machine has RAPL"
)


def no_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing_library() -> None:
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlInit", missing_library)


@needs_no_rapl
def test_cpu_here_falls_back_to_estimate_with_reasons() -> None:
    meter, reasons = select_meter("cpu")
    assert isinstance(meter, EstimateMeter)
    assert meter.estimated
    assert len(reasons) == 1
    assert reasons[0].startswith("rapl: ")


def test_cpu_uses_rapl_when_readable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_zone(tmp_path / "intel-rapl:0", "package-0", 1)
    monkeypatch.setattr("scanner.meters.rapl.POWERCAP_ROOT", tmp_path)
    meter, reasons = select_meter("cpu")
    assert isinstance(meter, RaplMeter)
    assert reasons == []


def test_cuda_without_gpu_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    no_gpu(monkeypatch)
    with pytest.raises(
        MeterUnavailable, match="no energy meter works on cuda:0: nvml: .*nvml-power"
    ):
        select_meter("cuda:0")


def test_cuda_prefers_the_energy_counter(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeNvml(gpus=[FakeGpu(), FakeGpu()]).install(monkeypatch)
    meter, reasons = select_meter("cuda:1")
    assert isinstance(meter, NvmlMeter)
    assert meter.device_index == 1
    assert reasons == []


def test_cuda_without_counter_polls_power(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeNvml(gpus=[FakeGpu(name="Tesla P100", energy_supported=False)]).install(monkeypatch)
    meter, reasons = select_meter("cuda")
    assert isinstance(meter, NvmlPowerMeter)
    assert len(reasons) == 1
    assert reasons[0].startswith("nvml: GPU 0 (Tesla P100) has no total-energy counter")
    meter.close()


def test_prefer_forces_a_method(monkeypatch: pytest.MonkeyPatch) -> None:
    meter, reasons = select_meter("cpu", prefer="estimate")
    assert isinstance(meter, EstimateMeter)
    assert reasons == []
    FakeNvml(gpus=[FakeGpu()]).install(monkeypatch)
    meter, _ = select_meter("cuda:0", prefer="nvml-power")
    assert isinstance(meter, NvmlPowerMeter)
    meter.close()


def test_prefer_that_cannot_run_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("scanner.meters.rapl.POWERCAP_ROOT", tmp_path / "none")
    with pytest.raises(MeterUnavailable, match="does not exist"):
        select_meter("cpu", prefer="rapl")
    with pytest.raises(MeterUnavailable, match="measures a GPU; device is cpu"):
        select_meter("cpu", prefer="nvml")
    with pytest.raises(MeterUnavailable, match="unknown energy method 'joulemeter'"):
        select_meter("cpu", prefer="joulemeter")


def test_unknown_device_is_unavailable() -> None:
    with pytest.raises(MeterUnavailable, match="no energy meter for device 'mps'"):
        select_meter("mps")


def test_cuda_device_index() -> None:
    assert cuda_device_index("cuda") == 0
    assert cuda_device_index("cuda:3") == 3
    assert cuda_device_index("cpu") is None
    assert cuda_device_index("cuda:x") is None
    assert select_module.METHODS == ("nvml", "nvml-power", "rapl", "estimate")

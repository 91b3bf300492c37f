"""The estimate meter: CPU time × watts per core, always marked estimated."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.meters.estimate import (
    CPU_POWER_SPECS,
    DEFAULT_WATTS_PER_CORE,
    EstimateMeter,
    read_cpu_model,
    watts_per_core_for,
)
from scanner.meters.fake import FakeMeter


def burn(iterations: int) -> int:
    total = 0
    for i in range(iterations):
        total += i * i % 7
    return total


def measure_burn(meter: EstimateMeter, iterations: int) -> float:
    meter.start()
    burn(iterations)
    return meter.stop().energy_j


def test_more_cpu_work_means_more_energy() -> None:
    meter = EstimateMeter(cpu_model="Some Unknown CPU")
    small = measure_burn(meter, 20_000)
    large = measure_burn(meter, 2_000_000)
    assert large > small >= 0
    assert meter.estimated is True
    assert meter.method == "estimate"


def test_energy_is_cpu_seconds_times_watts_per_core() -> None:
    wall = iter([0.0, 4.0])
    cpu = iter([1.0, 3.5])  # 2.5 CPU seconds, e.g. two threads busy for 1.25 s
    meter = EstimateMeter(
        cpu_model="AMD EPYC 7763 64-Core Processor",
        clock=lambda: next(wall),
        cpu_clock=lambda: next(cpu),
    )
    meter.start()
    reading = meter.stop()
    assert meter.watts_per_core == pytest.approx(280 / 64)
    assert reading.energy_j == pytest.approx(2.5 * 280 / 64)
    assert reading.duration_s == pytest.approx(4.0)
    assert reading.method == "estimate"
    assert reading.details["cpu_s"] == pytest.approx(2.5)


@pytest.mark.parametrize(
    ("cpu_model", "watts_per_core"),
    [
        ("AMD EPYC 7763 64-Core Processor", 280 / 64),
        ("AMD EPYC 9654 96-Core Processor", 360 / 96),
        ("Intel(R) Xeon(R) Platinum 8480+", 350 / 56),
        ("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", 150 / 20),
        ("Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz", 270 / 40),
        ("AMD EPYC", DEFAULT_WATTS_PER_CORE),
        ("AMD EPYC 77630", DEFAULT_WATTS_PER_CORE),  # not a 7763
        ("", DEFAULT_WATTS_PER_CORE),
    ],
)
def test_watts_per_core_table(cpu_model: str, watts_per_core: float) -> None:
    assert watts_per_core_for(cpu_model)[0] == pytest.approx(watts_per_core)


def test_table_entries_have_sources_and_sit_below_the_default() -> None:
    for spec in CPU_POWER_SPECS:
        assert spec.source
        assert 0 < spec.watts_per_core < DEFAULT_WATTS_PER_CORE


def test_describe_says_where_watts_per_core_came_from() -> None:
    known = EstimateMeter(cpu_model="AMD EPYC 9654 96-Core Processor").describe()
    assert known["estimated"] is True
    assert known["watts_per_core"] == pytest.approx(3.75)
    assert "AMD EPYC 9654" in known["watts_per_core_source"]
    assert "360 W TDP / 96 cores" in known["watts_per_core_source"]
    unknown = EstimateMeter(cpu_model="Mystery CPU").describe()
    assert unknown["watts_per_core"] == DEFAULT_WATTS_PER_CORE
    assert "default" in unknown["watts_per_core_source"]
    given = EstimateMeter(cpu_model="Mystery CPU", watts_per_core=3.0).describe()
    assert given["watts_per_core"] == 3.0
    assert given["watts_per_core_source"] == "given by caller"


def test_reads_cpu_model_from_cpuinfo(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7742\n")
    assert read_cpu_model(cpuinfo) == "AMD EPYC 7742"
    assert read_cpu_model(tmp_path / "missing")  # falls back to the platform module


def test_fake_meter_is_power_times_time() -> None:
    times = iter([5.0, 7.5])
    meter = FakeMeter(40.0, idle_w=8.0, clock=lambda: next(times))
    meter.start()
    reading = meter.stop()
    assert reading.energy_j == pytest.approx(100.0)
    assert reading.duration_s == pytest.approx(2.5)
    assert reading.method == "fake"
    assert meter.idle_power_w() == 8.0
    assert meter.windows == 1
    assert FakeMeter(1.0, method="nvml", estimated=True).describe()["estimated"] is True

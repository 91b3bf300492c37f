"""RAPL meter against a fake /sys/class/powercap tree in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scanner.meters.base import MeterUnavailable
from scanner.meters.rapl import RaplMeter, counter_difference_uj, find_rapl_zones

MAX_UJ = 262_143_328_850


def write_zone(directory: Path, name: str, energy_uj: int, max_uj: int = MAX_UJ) -> Path:
    directory.mkdir(parents=True)
    (directory / "name").write_text(f"{name}\n")
    (directory / "energy_uj").write_text(f"{energy_uj}\n")
    (directory / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return directory


def set_energy(zone: Path, energy_uj: int) -> None:
    (zone / "energy_uj").write_text(f"{energy_uj}\n")


@pytest.fixture
def powercap(tmp_path: Path) -> dict[str, Path]:
    """Two sockets with DRAM subzones, a core subzone and a psys zone that must be ignored."""
    root = tmp_path / "powercap"
    zones = {
        "package-0": write_zone(root / "intel-rapl:0", "package-0", 1_000_000),
        "package-0/core": write_zone(root / "intel-rapl:0" / "intel-rapl:0:0", "core", 500),
        "package-0/dram": write_zone(root / "intel-rapl:0" / "intel-rapl:0:1", "dram", 2_000),
        "package-1": write_zone(root / "intel-rapl:1", "package-1", 3_000_000),
        "package-1/dram": write_zone(root / "intel-rapl:1" / "intel-rapl:1:0", "dram", 4_000),
        "psys": write_zone(root / "intel-rapl:2", "psys", 9_000_000),
    }
    # The real tree also links the same zones under a second name; they must not count twice.
    (root / "intel-rapl").mkdir()
    return {"root": root, **zones}


class StepClock:
    def __init__(self) -> None:
        self.now_s = 10.0

    def __call__(self) -> float:
        return self.now_s


def test_finds_package_and_dram_zones_only(powercap: dict[str, Path]) -> None:
    zones = find_rapl_zones(powercap["root"])
    assert [zone.label for zone in zones] == [
        "package-0",
        "package-0/dram",
        "package-1",
        "package-1/dram",
    ]
    assert all(zone.max_energy_uj == MAX_UJ for zone in zones)


def test_energy_is_the_sum_of_zone_differences(powercap: dict[str, Path]) -> None:
    clock = StepClock()
    meter = RaplMeter(powercap["root"], clock=clock)
    meter.start()
    set_energy(powercap["package-0"], 1_000_000 + 30_000_000)  # 30 J
    set_energy(powercap["package-0/dram"], 2_000 + 5_000_000)  # 5 J
    set_energy(powercap["package-1"], 3_000_000 + 20_000_000)  # 20 J
    set_energy(powercap["package-0/core"], 99_000_000)  # inside package-0 already
    set_energy(powercap["psys"], 99_000_000)
    clock.now_s += 2.0
    reading = meter.stop()
    assert reading.method == "rapl"
    assert reading.energy_j == pytest.approx(55.0)
    assert reading.duration_s == pytest.approx(2.0)
    assert reading.power_w == pytest.approx(27.5)
    assert reading.details["zone_energy_j"] == pytest.approx(
        {"package-0": 30.0, "package-0/dram": 5.0, "package-1": 20.0, "package-1/dram": 0.0}
    )
    assert meter.describe()["zones"] == list(reading.details["zone_energy_j"])
    assert not meter.estimated


def test_wraparound_uses_max_energy_range(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    package = write_zone(root / "intel-rapl:0", "package-0", 999_000, max_uj=1_000_000)
    meter = RaplMeter(root)
    meter.start()
    set_energy(package, 4_000)  # wrapped: 1_000 µJ to the top, then 4_000 µJ
    reading = meter.stop()
    assert reading.energy_j == pytest.approx(0.005)


def test_counter_difference() -> None:
    assert counter_difference_uj(100, 250, 1_000) == 150
    assert counter_difference_uj(900, 100, 1_000) == 200
    assert counter_difference_uj(500, 500, 1_000) == 0


def test_zero_length_window_has_zero_power(powercap: dict[str, Path]) -> None:
    meter = RaplMeter(powercap["root"], clock=StepClock())
    meter.start()
    set_energy(powercap["package-0"], 1_000_000 + 1_000)
    reading = meter.stop()
    assert reading.duration_s == 0.0
    assert reading.energy_j == pytest.approx(0.001)
    assert reading.power_w == 0.0


def test_missing_directory_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(MeterUnavailable, match="does not exist"):
        RaplMeter(tmp_path / "no-powercap")


def test_no_package_zones_is_unavailable(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    write_zone(root / "intel-rapl:0", "psys", 10)
    with pytest.raises(MeterUnavailable, match="no intel-rapl package zones"):
        RaplMeter(root)
    with pytest.raises(MeterUnavailable, match="no intel-rapl package zones"):
        RaplMeter(tmp_path)  # exists, but empty


def test_unreadable_counter_says_how_to_fix(
    powercap: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests usually run as root, where chmod does not stop reads: refuse the read instead,
    # as the kernel does for non-root users since Linux 5.10.
    locked = powercap["package-1"] / "energy_uj"
    read_text = Path.read_text

    def refuse_locked(path: Path, *args: object, **kwargs: object) -> str:
        if path == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return read_text(path, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", refuse_locked)
    with pytest.raises(MeterUnavailable) as raised:
        RaplMeter(powercap["root"])
    assert str(raised.value) == (
        f"permission denied reading {locked}; run as root or `chmod a+r {locked}`"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_counter_by_file_mode(powercap: dict[str, Path]) -> None:
    locked = powercap["package-0"] / "energy_uj"
    locked.chmod(0)
    with pytest.raises(MeterUnavailable, match="permission denied reading .*chmod a\\+r"):
        RaplMeter(powercap["root"])


def test_garbage_in_counter_is_unavailable(powercap: dict[str, Path]) -> None:
    (powercap["package-0"] / "energy_uj").write_text("n/a\n")
    with pytest.raises(MeterUnavailable, match="unexpected content"):
        RaplMeter(powercap["root"])

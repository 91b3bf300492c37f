"""CPU energy from the kernel's RAPL counters under /sys/class/powercap: the `rapl` method.

Intel CPUs (and AMD Zen CPUs with a recent kernel) count the energy of each CPU package,
and on servers often of its DRAM, in microjoules. The counters wrap at
`max_energy_range_uj`; a window's energy is the difference with one wrap allowed, which
holds as long as a window is shorter than a full range (minutes at full load).

Since Linux 5.10 the `energy_uj` files are readable by root only (CVE-2020-8694), so a
permission error is the usual reason this meter is unavailable.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.meters.base import EnergyMeter, EnergyReading, MeterUnavailable

POWERCAP_ROOT = Path("/sys/class/powercap")
_PACKAGE_DIR = re.compile(r"intel-rapl:\d+")
_SUBZONE_DIR = re.compile(r"intel-rapl:\d+:\d+")


@dataclass(frozen=True)
class RaplZone:
    """One energy counter: a package, or the DRAM of a package."""

    label: str  # e.g. "package-0", "package-0/dram"
    path: Path  # the zone's directory
    max_energy_uj: int


def _read_text(path: Path) -> str:
    try:
        return path.read_text().strip()
    except PermissionError as exc:
        raise MeterUnavailable(
            f"permission denied reading {path}; run as root or `chmod a+r {path}`"
        ) from exc
    except OSError as exc:
        raise MeterUnavailable(f"cannot read {path}: {exc.strerror or exc}") from exc


def _read_int(path: Path) -> int:
    text = _read_text(path)
    try:
        return int(text)
    except ValueError as exc:
        raise MeterUnavailable(f"unexpected content in {path}: {text!r}") from exc


def find_rapl_zones(root: Path = POWERCAP_ROOT) -> list[RaplZone]:
    """The package zones under `root` and their DRAM subzones, in a stable order."""
    if not root.is_dir():
        raise MeterUnavailable(
            f"{root} does not exist: no RAPL powercap interface "
            "(not an Intel/AMD CPU, a virtual machine, or the intel_rapl module is not loaded)"
        )
    zones: list[RaplZone] = []
    for package_dir in sorted(root.iterdir()):
        if not _PACKAGE_DIR.fullmatch(package_dir.name):
            continue
        package_name = _read_text(package_dir / "name")
        if not package_name.startswith("package"):
            continue  # psys and others overlap the packages; counting them would double count
        zones.append(
            RaplZone(package_name, package_dir, _read_int(package_dir / "max_energy_range_uj"))
        )
        for subzone_dir in sorted(package_dir.iterdir()):
            if not _SUBZONE_DIR.fullmatch(subzone_dir.name):
                continue
            if _read_text(subzone_dir / "name") == "dram":
                zones.append(
                    RaplZone(
                        f"{package_name}/dram",
                        subzone_dir,
                        _read_int(subzone_dir / "max_energy_range_uj"),
                    )
                )
    if not zones:
        raise MeterUnavailable(f"no intel-rapl package zones under {root}")
    return zones


def counter_difference_uj(start_uj: int, end_uj: int, max_energy_uj: int) -> int:
    """Energy between two readings of a counter that wraps to zero after `max_energy_uj`."""
    if end_uj < start_uj:
        return end_uj + max_energy_uj - start_uj
    return end_uj - start_uj


class RaplMeter(EnergyMeter):
    """Energy of a window as the sum of the package and DRAM counters of all sockets."""

    method = "rapl"

    def __init__(
        self, root: Path | None = None, *, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        # None reads POWERCAP_ROOT at call time, so tests can point it at a fake tree.
        self.root = Path(root) if root is not None else POWERCAP_ROOT
        self._clock = clock
        self.zones = find_rapl_zones(self.root)
        self._read_counters()  # fail now, with the reason, rather than in the first window
        self._start_uj: list[int] | None = None
        self._start_s = 0.0

    def _read_counters(self) -> list[int]:
        return [_read_int(zone.path / "energy_uj") for zone in self.zones]

    def start(self) -> None:
        self._start_uj = self._read_counters()
        self._start_s = self._clock()

    def stop(self) -> EnergyReading:
        if self._start_uj is None:
            raise RuntimeError("RaplMeter.stop() called without start()")
        end_uj = self._read_counters()
        duration_s = self._clock() - self._start_s
        start_uj, self._start_uj = self._start_uj, None
        zone_energy_j = {
            zone.label: counter_difference_uj(start, end, zone.max_energy_uj) / 1e6
            for zone, start, end in zip(self.zones, start_uj, end_uj, strict=True)
        }
        return EnergyReading(
            energy_j=sum(zone_energy_j.values()),
            duration_s=duration_s,
            method=self.method,
            details={"zone_energy_j": zone_energy_j},
        )

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "source": f"{self.root}/intel-rapl:*/energy_uj (µJ), package and dram zones",
            "zones": [zone.label for zone in self.zones],
        }

"""Pick the best energy meter that works on a device, and say why better ones did not.

Order of preference: a counter the hardware keeps (nvml, rapl) over polled power
(nvml-power) over a model (estimate). The reasons for passing over a better meter are
returned so the catalog can record them beside every run.
"""

from __future__ import annotations

from collections.abc import Callable

from scanner.device import Device, DeviceError
from scanner.meters.base import EnergyMeter, MeterUnavailable
from scanner.meters.estimate import EstimateMeter
from scanner.meters.nvml import NvmlMeter
from scanner.meters.nvml_power import NvmlPowerMeter
from scanner.meters.rapl import RaplMeter

METHODS = ("nvml", "nvml-power", "rapl", "estimate")


def cuda_device_index(device: str) -> int | None:
    """0 for "cuda", N for "cuda:N", None for any other device."""
    try:
        return Device.parse(device).gpu_index
    except DeviceError:
        return None


def _builders(device: str) -> dict[str, Callable[[], EnergyMeter]]:
    gpu_index = cuda_device_index(device)
    builders: dict[str, Callable[[], EnergyMeter]] = {
        "rapl": RaplMeter,
        "estimate": EstimateMeter,
    }
    if gpu_index is not None:
        builders["nvml"] = lambda: NvmlMeter(gpu_index)
        builders["nvml-power"] = lambda: NvmlPowerMeter(gpu_index)
    return builders


def select_meter(device: str, prefer: str | None = None) -> tuple[EnergyMeter, list[str]]:
    """The meter to use on `device` ("cpu", "cuda", "cuda:N") and why better ones were not.

    `prefer` forces one method; MeterUnavailable says why when it cannot run there.
    """
    builders = _builders(device)
    if prefer is not None:
        if prefer not in METHODS:
            raise MeterUnavailable(
                f"unknown energy method {prefer!r}; choose one of {', '.join(METHODS)}"
            )
        if prefer not in builders:
            raise MeterUnavailable(f"energy method {prefer} measures a GPU; device is {device}")
        return builders[prefer](), []

    if cuda_device_index(device) is not None:
        # No CPU fallback: CPU time or package energy says nothing about a GPU's energy.
        order = ["nvml", "nvml-power"]
    elif device == "cpu":
        order = ["rapl", "estimate"]
    else:
        raise MeterUnavailable(f"no energy meter for device {device!r} (use cpu or cuda:N)")

    reasons: list[str] = []
    for method in order:
        try:
            return builders[method](), reasons
        except MeterUnavailable as exc:
            reasons.append(f"{method}: {exc}")
    raise MeterUnavailable(f"no energy meter works on {device}: " + "; ".join(reasons))

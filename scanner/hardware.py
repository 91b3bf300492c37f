"""What machine a run happened on: the hardware record, its profile, and software versions.

The `profile` is the class that grades compare within (`cpu-x86-64`, `gpu-h100-80gb`); it
must stay the same across driver updates and machines of the same kind. The `fingerprint`
identifies the concrete machine (exact CPU, core count, memory, GPU driver, power limit),
so two runs with different power limits on the same profile can be told apart.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import re
from pathlib import Path
from typing import Any

from labels.errors import LabelerError
from labels.records import HardwareRecord
from scanner.meters.base import MeterUnavailable
from scanner.meters.estimate import read_cpu_model
from scanner.meters.nvml import describe_nvml_device, load_nvml, nvml_device_handle
from scanner.meters.select import cuda_device_index

# Memory sizes GPUs are sold with, in GB as marketed (which is nearly GiB): what NVML
# reports is a little less than the marketed size (an H200 reports 140.4 GiB for 141 GB).
MARKETED_GPU_MEMORY_GB = (
    4, 6, 8, 10, 11, 12, 16, 20, 24, 32, 40, 48, 64, 80, 94, 96, 120, 141, 144, 180, 192, 288,
)  # fmt: skip

_VENDOR_WORDS = {"nvidia", "tesla", "geforce", "quadro"}
# Form factor and memory type do not change the class a GPU competes in.
_FORM_FACTOR = re.compile(r"sxm\d*|pcie|hbm\d*e?|gddr\d*x?")
_MEMORY_WORD = re.compile(r"(\d+)gb")
_CPU_ARCHITECTURES = {
    "x86_64": "x86-64",
    "amd64": "x86-64",
    "aarch64": "arm64",
    "arm64": "arm64",
}


class HardwareDetectionError(LabelerError):
    """The device asked for cannot be inspected here; the message says why."""


def marketed_memory_gb(memory_gib: float) -> int:
    """The marketed size just above what the driver reports, or the rounded figure.

    Drivers report less than the marketed size (ECC and reserved memory, up to about 6 % on
    a T4), never more, so only sizes at or above the reported figure are candidates.
    """
    for size in MARKETED_GPU_MEMORY_GB:
        if memory_gib - 0.5 <= size and memory_gib >= 0.93 * size:
            return size
    return round(memory_gib)


def gpu_profile(name: str, memory_gib: float | None) -> str:
    """A stable class name from a GPU's name, e.g. "NVIDIA A100-SXM4-40GB" → gpu-a100-40gb."""
    words = [word for word in re.split(r"[^a-z0-9+]+", name.lower()) if word]
    memory_gb: int | None = None
    model_words = []
    for word in words:
        if word == "mig":
            break  # a MIG slice ("MIG 1g.10gb") is part of the board named before it
        size = _MEMORY_WORD.fullmatch(word)
        if size:
            memory_gb = int(size.group(1))
        elif word not in _VENDOR_WORDS and not _FORM_FACTOR.fullmatch(word):
            model_words.append(word.replace("+", "plus"))
    if memory_gb is None and memory_gib is not None:
        memory_gb = marketed_memory_gb(memory_gib)
    model = "-".join(model_words) or "unknown"
    return f"gpu-{model}-{memory_gb}gb" if memory_gb is not None else f"gpu-{model}"


def cpu_profile(machine: str | None = None) -> str:
    """cpu-x86-64 or cpu-arm64 (or cpu-<machine> for anything else)."""
    machine = (machine or platform.machine()).lower()
    return f"cpu-{_CPU_ARCHITECTURES.get(machine, machine or 'unknown')}"


def read_memory_gb(meminfo: Path = Path("/proc/meminfo")) -> float:
    """Total memory in GiB from /proc/meminfo, or from sysconf where there is none."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        return 0.0


def hardware_fingerprint(details: dict[str, Any]) -> str:
    """16 hex digits of sha256 over the concrete details, in a stable order."""
    canonical = json.dumps(details, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def detect_hardware(
    device: str,
    *,
    cpuinfo: Path = Path("/proc/cpuinfo"),
    meminfo: Path = Path("/proc/meminfo"),
) -> HardwareRecord:
    """The hardware record for `device` ("cpu", "cuda", "cuda:N") on this machine."""
    cpu_model = read_cpu_model(cpuinfo)
    cpu_cores = os.cpu_count() or 1
    memory_gb = read_memory_gb(meminfo)
    concrete: dict[str, Any] = {
        "cpu_model": cpu_model,
        "cpu_cores": cpu_cores,
        # Whole GiB: MemTotal moves by a few MB between kernels, the machine does not.
        "memory_gb": round(memory_gb),
    }
    gpu_index = cuda_device_index(device)
    if gpu_index is None:
        if device != "cpu":
            raise HardwareDetectionError(f"unknown device {device!r} (use cpu or cuda:N)")
        profile = cpu_profile()
        concrete["profile"] = profile
        return HardwareRecord(
            fingerprint=hardware_fingerprint(concrete),
            profile=profile,
            kind="cpu",
            device_name=cpu_model,
            cpu_model=cpu_model,
            cpu_cores=cpu_cores,
            memory_gb=memory_gb,
        )

    gpu = describe_gpu(gpu_index)
    profile = gpu_profile(gpu["gpu_name"], gpu["gpu_memory_gb"])
    concrete.update(gpu, profile=profile)
    return HardwareRecord(
        fingerprint=hardware_fingerprint(concrete),
        profile=profile,
        kind="gpu",
        device_name=gpu["gpu_name"],
        cpu_model=cpu_model,
        cpu_cores=cpu_cores,
        memory_gb=memory_gb,
        gpu_driver=gpu["driver_version"],
        gpu_power_limit_w=gpu["power_limit_w"],
        gpu_memory_gb=gpu["gpu_memory_gb"],
    )


def describe_gpu(device_index: int) -> dict[str, Any]:
    """GPU name, driver, power limit (W) and memory (GiB) from NVML."""
    try:
        pynvml = load_nvml()
        handle = nvml_device_handle(pynvml, device_index)
    except MeterUnavailable as exc:
        raise HardwareDetectionError(str(exc)) from exc
    try:
        return describe_nvml_device(pynvml, handle)
    finally:
        pynvml.nvmlShutdown()


def software_versions() -> dict[str, str | None]:
    """Versions that change measured numbers: python, torch, transformers, CUDA, duckdb."""
    versions: dict[str, str | None] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": None,
        "transformers": None,
        "cuda": None,
        "duckdb": None,
    }
    try:
        import torch  # here, not at the top: `import scanner.hardware` must stay cheap

        versions["torch"] = torch.__version__
        versions["cuda"] = torch.version.cuda
    except ImportError:
        pass
    for package in ("transformers", "duckdb"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    return versions

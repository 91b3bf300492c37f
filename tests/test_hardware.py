"""Hardware detection: profiles, fingerprints, and GPU details through a patched NVML."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from scanner.hardware import (
    HardwareDetectionError,
    cpu_profile,
    detect_hardware,
    gpu_profile,
    marketed_memory_gb,
    read_memory_gb,
    software_versions,
)
from tests.test_meters_nvml import FakeGpu, FakeNvml


def test_cpu_on_this_machine() -> None:
    record = detect_hardware("cpu")
    assert record.profile == "cpu-x86-64"
    assert record.kind == "cpu"
    assert record.cpu_cores >= 1
    assert record.memory_gb > 0
    assert record.cpu_model
    assert record.device_name == record.cpu_model
    assert record.gpu_driver is None
    assert len(record.fingerprint) == 16
    assert detect_hardware("cpu").fingerprint == record.fingerprint


def test_fingerprint_follows_concrete_details(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    meminfo = tmp_path / "meminfo"
    cpuinfo.write_text("model name\t: AMD EPYC 7763 64-Core Processor\n")
    meminfo.write_text("MemTotal:       24676540 kB\nMemFree:        1000 kB\n")
    first = detect_hardware("cpu", cpuinfo=cpuinfo, meminfo=meminfo)
    assert first.cpu_model == "AMD EPYC 7763 64-Core Processor"
    assert first.memory_gb == pytest.approx(23.5)
    meminfo.write_text("MemTotal:       24676000 kB\n")  # a few kB less after a kernel update
    assert detect_hardware("cpu", cpuinfo=cpuinfo, meminfo=meminfo).fingerprint == (
        first.fingerprint
    )
    cpuinfo.write_text("model name\t: AMD EPYC 9654 96-Core Processor\n")
    second = detect_hardware("cpu", cpuinfo=cpuinfo, meminfo=meminfo)
    assert second.fingerprint != first.fingerprint
    assert second.profile == first.profile


def test_cpu_profiles() -> None:
    assert cpu_profile("x86_64") == "cpu-x86-64"
    assert cpu_profile("AMD64") == "cpu-x86-64"
    assert cpu_profile("aarch64") == "cpu-arm64"
    assert cpu_profile("arm64") == "cpu-arm64"
    assert cpu_profile("riscv64") == "cpu-riscv64"


@pytest.mark.parametrize(
    ("name", "memory_gib", "profile"),
    [
        ("NVIDIA H100 80GB HBM3", 79.65, "gpu-h100-80gb"),
        ("NVIDIA A100-SXM4-40GB", 39.4, "gpu-a100-40gb"),
        ("NVIDIA A100 80GB PCIe", 79.2, "gpu-a100-80gb"),
        ("NVIDIA H200", 140.4, "gpu-h200-141gb"),
        ("NVIDIA H100 PCIe", 79.65, "gpu-h100-80gb"),
        ("NVIDIA H100 NVL", 93.6, "gpu-h100-nvl-94gb"),
        ("Tesla V100-SXM2-16GB", 15.8, "gpu-v100-16gb"),
        ("Tesla T4", 15.0, "gpu-t4-16gb"),
        ("NVIDIA GeForce RTX 4090", 23.99, "gpu-rtx-4090-24gb"),
        ("NVIDIA RTX A6000", 47.99, "gpu-rtx-a6000-48gb"),
        ("NVIDIA H100 80GB HBM3 MIG 1g.10gb", 9.5, "gpu-h100-80gb"),
        ("NVIDIA L4", None, "gpu-l4"),
    ],
)
def test_gpu_profiles(name: str, memory_gib: float | None, profile: str) -> None:
    assert gpu_profile(name, memory_gib) == profile


def test_marketed_memory() -> None:
    assert marketed_memory_gb(140.4) == 141
    assert marketed_memory_gb(79.65) == 80
    assert marketed_memory_gb(15.0) == 16
    assert marketed_memory_gb(56.0) == 56  # between sizes: keep what the driver says
    assert marketed_memory_gb(82.0) == 82  # above 80: not an 80 GB board


def test_gpu_record_through_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    nvml = FakeNvml(gpus=[FakeGpu(), FakeGpu(name="NVIDIA H200", memory_bytes=143771 * 1024**2)])
    nvml.install(monkeypatch)
    record = detect_hardware("cuda:1")
    assert record.kind == "gpu"
    assert record.profile == "gpu-h200-141gb"
    assert record.device_name == "NVIDIA H200"
    assert record.gpu_driver == "550.54.15"
    assert record.gpu_power_limit_w == pytest.approx(700.0)
    assert record.gpu_memory_gb == pytest.approx(140.4, abs=0.01)
    assert nvml.inits == 0  # NVML released again

    h100 = detect_hardware("cuda")
    assert h100.profile == "gpu-h100-80gb"
    assert h100.fingerprint != record.fingerprint
    nvml.gpus[0].power_limit_mw = 500_000  # same GPU, capped: same class, other machine
    capped = detect_hardware("cuda:0")
    assert capped.profile == h100.profile
    assert capped.fingerprint != h100.fingerprint


def test_gpu_missing_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeNvml(gpus=[]).install(monkeypatch)
    with pytest.raises(HardwareDetectionError, match="no NVIDIA GPU with index 0"):
        detect_hardware("cuda")
    with pytest.raises(HardwareDetectionError, match="unknown device 'tpu'"):
        detect_hardware("tpu")


def test_memory_from_meminfo(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16384000 kB\n")
    assert read_memory_gb(meminfo) == pytest.approx(15.6)
    assert read_memory_gb(tmp_path / "missing") > 0  # sysconf fallback


def test_software_versions() -> None:
    versions = software_versions()
    assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
    assert versions["torch"]
    assert versions["transformers"]
    assert versions["duckdb"]
    assert versions["platform"]
    assert "cuda" in versions

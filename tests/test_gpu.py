"""Tests that need a real NVIDIA GPU (`pytest -m gpu`); they skip on a CPU-only machine.

The GPU suite (`benchmarks/gpu_suite.py`) runs them first on a lent GPU machine. The NVML
code paths are also unit-tested everywhere against a patched NVML (test_meters_nvml.py).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
import torch

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU")
pytestmark = [pytest.mark.gpu, needs_cuda]


def test_nvml_counter_reads_the_energy_of_real_work() -> None:
    from scanner.meters.nvml import NvmlMeter

    meter = NvmlMeter(0)
    try:
        a = torch.randn(4096, 4096, device="cuda")
        meter.start()
        started = time.perf_counter()
        while time.perf_counter() - started < 2.0:
            a = a @ a
            a = a / a.norm()
        torch.cuda.synchronize()
        reading = meter.stop()
    finally:
        meter.close()
    assert reading.duration_s >= 2.0
    assert 20.0 < reading.power_w < 2000.0  # a busy data-centre GPU, not zero, not absurd


def test_hardware_profile_is_named_by_the_device() -> None:
    from scanner.hardware import detect_hardware

    hardware = detect_hardware("cuda")
    assert hardware.kind == "gpu"
    assert hardware.profile.startswith("gpu-")
    assert hardware.gpu_name


def test_benchmark_model_on_cuda_measures_with_nvml_and_applies_fp16(tmp_path: Path) -> None:
    from labels.scheme import load_scheme
    from scanner.benchmark import BenchmarkJob, benchmark_model
    from scanner.discovery.demo import build_synthetic_model
    from scanner.hardware import detect_hardware

    model_id = "synthetic/tiny-bert-text-classification"
    path = build_synthetic_model(model_id, tmp_path / model_id)
    scheme = load_scheme()
    job = BenchmarkJob(
        model_id=model_id,
        revision="local",
        task="text-classification",
        path=str(path),
        device="cuda",
        tactics=["fp16"],
        scan_id="gpu-test",
        scheme_version=scheme.version,
        hardware=dataclasses.asdict(detect_hardware("cuda")),
        protocol={"windows": 2, "window_s": 0.5, "idle_s": 0.5, "cooldown_s": 0.0},
    )
    results = benchmark_model(job, scheme).results
    by_variant = {r.run.variant: r.run for r in results}
    assert by_variant["baseline"].status == "ok"
    assert by_variant["baseline"].energy_method == "nvml"
    assert by_variant["fp16"].status == "ok"

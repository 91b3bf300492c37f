"""The GPU suite's dry run on the CPU: every step wired, under a patched NVML, in seconds.

The real suite runs on a lent GPU machine now and then; this keeps it runnable in between.
The patched NVML's energy counter advances at the same 250 W that its power reading
reports, so the suite's meter comparisons must come out at 1.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from pathlib import Path
from types import ModuleType

import pynvml
import pytest
import torch

from tests.test_meters_nvml import FakeGpu, FakeNvml

ROOT = Path(__file__).resolve().parent.parent
POWER_W = 250.0


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def steady_gpu(monkeypatch: pytest.MonkeyPatch) -> FakeNvml:
    """A patched NVML whose counter (mJ) grows at POWER_W, as a steady board's would."""
    nvml = FakeNvml([FakeGpu(power_mw=int(POWER_W * 1000))])
    nvml.install(monkeypatch)
    monkeypatch.setattr(
        pynvml,
        "nvmlDeviceGetTotalEnergyConsumption",
        lambda handle: int(POWER_W * 1000 * time.perf_counter()),
    )
    return nvml


@pytest.mark.slow
def test_dry_run_runs_every_step_and_writes_one_folder(
    steady_gpu: FakeNvml, tmp_path: Path
) -> None:
    suite = load_script("gpu_suite")
    assert suite.main(["--dry-run", "--out", str(tmp_path)]) == 0

    manifest = json.loads((tmp_path / "suite.json").read_text())
    status = {step["name"]: step["status"] for step in manifest["steps"]}
    assert status == {
        "gpu-tests": "ok",
        "measurement": "ok",
        "nvml-vs-zeus": "ok",
        "tactics": "ok",
        "stability": "skipped",
        "energy-score": "skipped",
    }
    assert manifest["mode"] == "dry-run"
    assert manifest["environment"]["packages"]["torch"] == torch.__version__
    assert (tmp_path / "env.json").is_file()
    for step in manifest["steps"]:
        if step["status"] == "ok":
            assert (tmp_path / step["log"]).is_file()
    # pytest collected the GPU tests (they skip without CUDA, but they exist)
    assert "test_gpu.py" in (tmp_path / "gpu-tests.log").read_text()

    meters = json.loads((tmp_path / "nvml-vs-zeus.json").read_text())
    assert len(meters["windows"]) == 2
    assert meters["nvml_over_power"]["within_target"] is True
    assert meters["nvml_over_power"]["median"] == pytest.approx(1.0, abs=0.05)
    assert meters["nvml_over_zeus"] is None
    assert "not a CUDA device" in meters["zeus"]["reason"]

    measurement = json.loads((tmp_path / "measurement.json").read_text())
    fp32 = measurement["models"][0]["variants"]["fp32"]
    # Both meters read the patched board's 250 W. Their energies differ by the time between
    # the poller's first sample and the counter's start (and the same at the end): µs on a
    # quiet host, but a preempted thread on a busy one is milliseconds of a 0.05 s window.
    # So the power each reports is checked, and the energy ratio only for its direction.
    for window in fp32["windows"]:
        assert window["power_w_integrated"] == pytest.approx(POWER_W, rel=1e-6)  # a constant
        # the counter's two reads and their clock reads are adjacent lines, not threads
        assert window["power_w_counter"] == pytest.approx(POWER_W, rel=0.05)
    # the poller starts first and stops last, so the counter never holds more energy
    assert 0.5 < fp32["counter_over_integrated_median"] <= 1.0 + 1e-9
    assert fp32["energy_wh_per_1k"] > 0

    tactics = json.loads((tmp_path / "tactics.json").read_text())
    assert {m["model_id"] for m in tactics["models"]} == {
        "synthetic/tiny-bert-text-classification",
        "synthetic/tiny-vit-image-classification",
    }


def test_a_failing_step_is_recorded_and_the_suite_goes_on(
    steady_gpu: FakeNvml, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = load_script("gpu_suite")
    broken = suite.Step("broken", "benchmarks/nvml_vs_zeus.py", None, None, ["--windows", "x"])
    fine = suite.Step(
        "fine",
        "benchmarks/nvml_vs_zeus.py",
        None,
        None,
        ["--device", "cpu", "--tiny", "--windows", "1", "--window-s", "0.01", "--out", "{out}"],
    )
    monkeypatch.setattr(suite, "suite_steps", lambda device: [broken, fine])

    assert suite.main(["--dry-run", "--out", str(tmp_path)]) == 1

    steps = json.loads((tmp_path / "suite.json").read_text())["steps"]
    assert [(s["name"], s["status"]) for s in steps] == [("broken", "failed"), ("fine", "ok")]
    assert steps[0]["returncode"] == 2  # argparse's exit status for a bad option
    assert "invalid int value" in (tmp_path / "broken.log").read_text()


def test_steps_past_the_budget_are_skipped_not_run(steady_gpu: FakeNvml, tmp_path: Path) -> None:
    suite = load_script("gpu_suite")
    assert suite.main(["--dry-run", "--budget-s", "0", "--out", str(tmp_path)]) == 0
    steps = json.loads((tmp_path / "suite.json").read_text())["steps"]
    assert {s["status"] for s in steps} == {"skipped"}
    assert "time budget spent" in {s["reason"] for s in steps}


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a CPU machine")
def test_the_real_suite_refuses_a_machine_without_cuda(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = load_script("gpu_suite")
    assert suite.main(["--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: --device cuda: torch sees no CUDA device")

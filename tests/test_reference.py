"""The reference model measured beside the model: drift cancels in the grade, the pairs and
windows are recorded, any hardware profile is graded, and bad schemes fail cleanly."""

from __future__ import annotations

import dataclasses
import json
import platform
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labeler.cli import app
from labeler.grading import grade_runs
from labels.eei import eei_interval
from labels.scheme import SCHEMES_DIR, load_scheme
from scanner.benchmark import BenchmarkJob, benchmark_model
from scanner.discovery.demo import build_synthetic_model
from scanner.harness import Protocol, run_paired_windows
from scanner.meters.fake import FakeMeter
from tests.test_harness import DriftingMachine
from tests.test_meters_nvml import FakeGpu, FakeNvml

MODEL_ID = "synthetic/tiny-bert-text-classification"
TINY_PROTOCOL = {
    "windows": 5,
    "window_s": 0.01,
    "window_iterations": 1,
    "warmup_s": 0.0,
    "warmup_iterations": 1,
    "idle_s": 0.0,
}


def _eei_after(machine: DriftingMachine, model_s: float, reference_s: float) -> tuple[float, float]:
    """(EEI from pairs, the model's absolute J per call) measured from the machine's now."""
    meter = FakeMeter(power_w=40.0, clock=machine)
    protocol = Protocol(
        warmup_s=0, warmup_iterations=0, window_s=1.0, window_iterations=1, windows=5
    )
    paired = run_paired_windows(
        machine.model(model_s),
        machine.model(reference_s),
        meter,
        variant_inferences_per_call=8,
        baseline_inferences_per_call=8,
        protocol=protocol,
        idle_power_w=0.0,
        clock=machine,
    )
    ratios = [
        m.energy_wh_per_1k / r.energy_wh_per_1k
        for m, r in zip(paired.variant.windows, paired.baseline.windows, strict=True)
    ]
    return eei_interval(ratios, 1.0, 0.9).eei, paired.variant.energy_wh_per_1k


def test_grade_holds_while_the_absolute_energy_moves_on_a_drifting_machine() -> None:
    scheme = load_scheme("v2")
    machine = DriftingMachine(drift_per_s=0.02)  # the host slows down as it gets busier
    early_eei, early_energy = _eei_after(machine, model_s=0.07, reference_s=0.1)
    machine.now_s += 100.0  # later the same day: the host is three times slower
    late_eei, late_energy = _eei_after(machine, model_s=0.07, reference_s=0.1)

    assert late_energy / early_energy > 2.5  # absolute energy moved by classes
    assert early_eei == pytest.approx(0.7, rel=0.03)
    assert late_eei == pytest.approx(0.7, rel=0.03)
    assert scheme.grade_for_eei(early_eei) == scheme.grade_for_eei(late_eei) == "D"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_synthetic_model(MODEL_ID, tmp_path_factory.mktemp("models") / MODEL_ID)


def _job(path: Path, hardware: dict, scheme_version: str = "v2") -> BenchmarkJob:
    return BenchmarkJob(
        model_id=MODEL_ID,
        revision="local",
        task="text-classification",
        path=str(path),
        device="cpu",
        tactics=["baseline", "dynamic-int8"],
        scan_id="scan-1",
        scheme_version=scheme_version,
        hardware=hardware,
        protocol=TINY_PROTOCOL,
    )


def _cpu_hardware() -> dict:
    from scanner.hardware import detect_hardware

    return dataclasses.asdict(detect_hardware("cpu"))


def test_baseline_is_measured_beside_the_reference_in_abba_windows(tiny_model: Path) -> None:
    scheme = load_scheme("v2")  # tiny reference models (tests/tiny_schemes.py)
    # the fixed protocol: five pairs whatever the ratios (sequential stopping would end
    # after two when the measured EEI sits far inside a class, as it may on a fast host)
    job = _job(tiny_model, _cpu_hardware())
    job = dataclasses.replace(job, protocol={**job.protocol, "sequential": False})
    result = benchmark_model(job, scheme, meter=FakeMeter(30.0))
    baseline = next(r for r in result.results if r.run.variant == "baseline")
    run = baseline.run
    spec = scheme.reference_model("text-classification")
    assert run.status == "ok"
    assert (run.reference_model, run.reference_config_sha256) == (
        spec.model_id,
        spec.config_sha256,
    )
    ratios = json.loads(run.reference_ratios_json)
    assert len(ratios) == 5 and all(r > 0 for r in ratios)
    assert run.reference_energy_wh_per_1k > 0
    roles = ["ref" if w.reference_window else "model" for w in baseline.windows]
    assert roles == ["ref", "model", "model", "ref"] * 2 + ["ref", "model"]
    assert [w.window_index for w in baseline.windows] == list(range(10))
    assert run.windows == 5  # the model's own windows; the reference's are flagged beside

    # variants are still paired with the baseline only, never with the reference
    variant = next(r for r in result.results if r.run.variant == "dynamic-int8")
    assert variant.run.reference_ratios_json is None
    assert not any(w.reference_window for w in variant.windows)

    label = grade_runs([r.run for r in result.results], scheme)
    assert label.grade is not None and label.eei_low <= label.eei <= label.eei_high


def test_under_v1_no_reference_is_measured(tiny_model: Path) -> None:
    scheme = load_scheme("v1")
    job = dataclasses.replace(_job(tiny_model, _cpu_hardware(), "v1"), tactics=["baseline"])
    result = benchmark_model(job, scheme, meter=FakeMeter(30.0))
    run = result.results[0].run
    assert run.status == "ok" and run.reference_ratios_json is None
    assert not any(w.reference_window for w in result.results[0].windows)


def test_a_gpu_profile_is_graded_without_any_reference_number(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scanner.hardware import detect_hardware

    FakeNvml(gpus=[FakeGpu()]).install(monkeypatch)
    gpu = detect_hardware("cuda")
    assert gpu.profile == "gpu-h100-80gb"
    v1, v2 = load_scheme("v1"), load_scheme("v2")
    assert v1.reference("text-classification", gpu.profile) is None
    assert not v2.references  # v2 stores no energy for any hardware

    # the measurement itself runs on this machine's CPU; the label is filed under the GPU
    job = dataclasses.replace(_job(tiny_model, dataclasses.asdict(gpu)), tactics=["baseline"])
    runs = [r.run for r in benchmark_model(job, v2, meter=FakeMeter(300.0)).results]
    assert runs[0].hardware_profile == "gpu-h100-80gb"
    label = grade_runs(runs, v2)
    assert label.hardware == "gpu-h100-80gb"
    assert label.grade is not None and label.eei is not None and label.reason is None
    assert grade_runs(runs, v1).grade is None  # v1 had no yardstick for this board


def test_the_shipped_reference_builds_from_its_config_with_a_fixed_seed() -> None:
    """BERT-base from the committed config: 110M parameters, the same weights every time."""
    from scanner.reference import build_reference
    from scanner.tasks import adapter_for

    scheme = load_scheme("v2", SCHEMES_DIR / "v2.toml")
    spec = scheme.reference_model("feature-extraction")
    workload = scheme.workload("feature-extraction")
    adapter = adapter_for("feature-extraction")
    first = build_reference(spec, adapter, workload, "cpu")
    params = sum(p.numel() for p in first.model.parameters())
    assert 105e6 < params < 115e6
    assert first.batch.inferences == 8 and first.batch.input_shape == "8x128 tokens"
    second = build_reference(spec, adapter, workload, "cpu")
    name, weight = next(iter(first.model.state_dict().items()))
    assert (second.model.state_dict()[name] == weight).all()


# -- bad input: one line, exit 2, catalog untouched ------------------------------------------


def _assert_one_error_line(result, catalog: Path, text: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and text in lines[0], lines
    assert not catalog.exists()


def test_unknown_scheme_version(tmp_path: Path) -> None:
    catalog = tmp_path / "c.duckdb"
    result = CliRunner().invoke(app, ["grade", "--scheme", "v9", "--catalog", str(catalog)])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error:")


def test_scheme_with_a_changed_reference_config(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    folder = tmp_path / "schemes"
    shutil.copytree(SCHEMES_DIR, folder)
    config = folder / "v2" / "vit-base-patch16-224.json"
    config.write_text(config.read_text().replace("224", "256"))
    monkeypatch.setenv("LABELER_SCHEMES_DIR", str(folder))
    catalog = tmp_path / "c.duckdb"
    result = CliRunner().invoke(
        app, ["scan", "--source", str(tiny_model.parent), "--catalog", str(catalog)]
    )
    _assert_one_error_line(result, catalog, "does not match its hash")


def test_scheme_v1_on_hardware_it_has_no_reference_for(
    tmp_path: Path, tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")  # an arm64 host: cpu-arm64
    catalog = tmp_path / "c.duckdb"
    result = CliRunner().invoke(
        app,
        ["scan", "--source", str(tiny_model.parent), "--scheme", "v1", "--catalog", str(catalog)],
    )
    _assert_one_error_line(result, catalog, "no reference energy for hardware cpu-arm64")

"""Benchmark a demo model of a task through the real path (`scanner.benchmark`), for the
per-task adapter tests: a fake meter, a tiny protocol, scheme v2 with tiny references."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from labels.records import RunRecord
from labels.scheme import load_scheme
from scanner.benchmark import BenchmarkJob, ModelBenchmark, benchmark_model
from scanner.hardware import detect_hardware
from scanner.meters.fake import FakeMeter
from tests.test_benchmark_model import TINY_PROTOCOL


def benchmark_v2(
    path: Path, task: str, tactics: list[str], model_id: str | None = None
) -> ModelBenchmark:
    """`benchmark_model` of the folder under scheme v2 on the CPU: fake meter, tiny protocol."""
    job = BenchmarkJob(
        model_id=model_id or f"test/{path.name}",
        revision="local",
        task=task,
        path=str(path),
        device="cpu",
        tactics=tactics,
        scan_id="scan-test",
        scheme_version="v2",
        hardware=dataclasses.asdict(detect_hardware("cpu")),
        protocol=dict(TINY_PROTOCOL),
    )
    return benchmark_model(job, load_scheme("v2"), meter=FakeMeter(power_w=10.0))


def benchmark_runs(path: Path, task: str, tactics: list[str]) -> dict[str, RunRecord]:
    """Each variant's run record by tactic, benchmarked under scheme v2 on the CPU."""
    return {r.run.tactic: r.run for r in benchmark_v2(path, task, tactics).results}


FAST_SCAN = ["--tactic", "baseline", "--windows", "1", "--window-s", "0.05"]
FAST_SCAN += ["--warmup-s", "0", "--idle-s", "0", "--executor", "inprocess"]


def scan_folder(models: Path, catalog: Path) -> tuple[int, dict[str, tuple[str, str | None]]]:
    """`labeler scan --source models` (baseline only, tiny windows): the exit code and each
    model's baseline status and reason from the catalog."""
    from typer.testing import CliRunner

    from labeler.cli import app
    from labels import Catalog

    result = CliRunner().invoke(
        app, ["scan", "--source", str(models), *FAST_SCAN, "--catalog", str(catalog)]
    )
    assert "Traceback" not in result.output, result.output
    rows = (
        Catalog(catalog)
        .query("SELECT model_id, status, reason FROM latest_runs WHERE variant = 'baseline'")
        .rows
    )
    return result.exit_code, {model_id: (status, reason) for model_id, status, reason in rows}


def write_card(path: Path, pipeline_tag: str) -> None:
    """A model card whose front matter names the pipeline tag."""
    (path / "README.md").write_text(
        f"---\npipeline_tag: {pipeline_tag}\n---\n\n# test model\n", encoding="utf-8"
    )

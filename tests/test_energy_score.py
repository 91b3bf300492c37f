"""`--protocol energy-score`: the AI Energy Score's method, stored apart and never graded."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from labeler.cli import app
from labels import Catalog
from labels.scheme import load_scheme
from scanner.benchmark import BenchmarkJob, benchmark_model
from scanner.discovery.demo import build_synthetic_model
from scanner.energy_score import (
    ENERGY_SCORE,
    NEW_TOKENS,
    QUERIES,
    energy_score_protocol,
    energy_score_workload,
)
from scanner.hardware import detect_hardware
from scanner.meters.fake import FakeMeter
from tests.test_cli import _snapshot, assert_one_line_error
from tests.tiny_models import TINY_BERT, build_tiny_model, copy_model

TINY_GPT2 = "synthetic/tiny-gpt2-text-generation"


def test_workload_is_batch_one_with_ten_new_tokens_for_generation() -> None:
    scheme = load_scheme("v1")
    classify = energy_score_workload(scheme.workload("text-classification"))
    generate = energy_score_workload(scheme.workload("text-generation"))
    assert classify["batch_size"] == 1 and "new_tokens" not in classify
    assert classify["sequence_length"] == scheme.workload("text-classification")["sequence_length"]
    assert generate["batch_size"] == 1 and generate["new_tokens"] == NEW_TOKENS == 10


def test_protocol_is_windows_of_exactly_a_thousand_queries() -> None:
    assert energy_score_protocol({}) == {
        "windows": 1,
        "window_s": 0.0,
        "window_iterations": QUERIES,
        "warmup_s": 0.0,
        "warmup_iterations": 10,
        "warmup_rounds": 1,
    }
    # --windows repeats the 1,000 queries; a window length in seconds does not apply
    assert energy_score_protocol({"windows": 3, "window_s": 5.0, "idle_s": 0.0}) == {
        "windows": 3,
        "window_s": 0.0,
        "window_iterations": QUERIES,
        "warmup_s": 0.0,
        "warmup_iterations": 10,
        "warmup_rounds": 1,
        "idle_s": 0.0,
    }


def _job(
    path: Path, model_id: str, task: str, tactics: list[str], queries: int | None = None
) -> BenchmarkJob:
    return BenchmarkJob(
        model_id=model_id,
        revision="local",
        task=task,
        path=str(path),
        device="cpu",
        tactics=tactics,
        scan_id="es-test",
        scheme_version="v1",
        hardware=dataclasses.asdict(detect_hardware("cpu")),
        protocol={"idle_s": 0.0, **({"window_iterations": queries} if queries else {})},
        protocol_name=ENERGY_SCORE,
    )


@pytest.mark.parametrize(
    ("model_id", "task", "queries"),
    [
        (TINY_BERT, "text-classification", QUERIES),
        # 10 tokens a query: fewer queries keep the test short; the figure is still per 1,000
        (TINY_GPT2, "text-generation", 100),
    ],
)
def test_benchmark_measures_the_baseline_on_single_queries(
    tmp_path: Path, model_id: str, task: str, queries: int
) -> None:
    path = build_synthetic_model(model_id, tmp_path / model_id)
    meter = FakeMeter(power_w=10.0)
    # tactics asked for are ignored: the protocol measures the model as published
    results = benchmark_model(
        _job(path, model_id, task, ["dynamic-int8"], None if queries == QUERIES else queries),
        load_scheme("v1"),
        meter=meter,
    ).results

    assert [r.run.variant for r in results] == ["baseline"]
    run, windows = results[0].run, results[0].windows
    assert run.status == "ok", run.reason
    assert run.protocol == ENERGY_SCORE
    assert run.batch_size == 1 and run.windows == 1
    assert [(w.iterations, w.inferences) for w in windows] == [(queries, queries)]
    # one window of N queries: its energy in Wh, times 1,000 / N, is the figure per 1,000
    assert run.energy_wh_per_1k == pytest.approx(windows[0].energy_j / 3600.0 * 1000 / queries)
    provenance = json.loads(run.provenance_json)
    assert provenance["energy_score"]["batch_size"] == 1
    assert provenance["workload"]["batch_size"] == 1
    if task == "text-generation":
        assert provenance["workload"]["new_tokens"] == NEW_TOKENS
        assert provenance["energy_score"]["dtype"] == "model default"
    else:
        assert run.dtype == str(torch.float32).removeprefix("torch.")
        assert provenance["energy_score"]["dtype"] == "float32"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.slow
def test_energy_score_scan_is_stored_apart_never_graded_and_shown_on_its_page(
    runner: CliRunner, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    copy_model(build_tiny_model(TINY_BERT, tmp_path / "bert"), models / "org" / "tiny-bert")
    cat = ["--catalog", str(tmp_path / "catalog.duckdb")]
    common = ["scan", "--source", str(models), "--executor", "inprocess", "--idle-s", "0", *cat]

    scored = runner.invoke(app, [*common, "--protocol", "energy-score"])
    assert scored.exit_code == 0, scored.output
    assert "1 benchmarked" in scored.stdout

    graded = runner.invoke(app, ["grade", *cat])
    assert graded.exit_code == 0, graded.output
    catalog = Catalog(tmp_path / "catalog.duckdb")
    assert catalog.query("SELECT count(*) FROM latest_labels").rows == [(0,)]
    scores = catalog.query("SELECT model_id, task, energy_wh_per_1k_queries FROM energy_scores")
    assert [row[:2] for row in scores.rows] == [("org/tiny-bert", "text-classification")]
    assert scores.rows[0][2] > 0

    # the scheme's scan is not fooled into "unchanged" by the energy-score run
    labelled = runner.invoke(
        app, [*common, "--tactic", "baseline", "--windows", "1", "--window-s", "0.05"]
    )
    assert labelled.exit_code == 0, labelled.output
    assert "1 benchmarked" in labelled.stdout
    assert runner.invoke(app, ["grade", *cat]).exit_code == 0
    assert catalog.query("SELECT count(*) FROM latest_labels").rows == [(1,)]
    protocols = catalog.query("SELECT protocol, count(*) FROM runs GROUP BY ALL ORDER BY 1")
    assert protocols.rows == [("energy-score", 1), ("scheme", 1)]

    site = tmp_path / "site"
    assert runner.invoke(app, ["site", "--out", str(site), *cat]).exit_code == 0
    page = (site / "energy-score.html").read_text(encoding="utf-8")
    assert "org/tiny-bert" in page and "Wh / 1,000 queries" in page
    assert 'href="energy-score.html"' in (site / "index.html").read_text(encoding="utf-8")

    again = runner.invoke(app, [*common, "--protocol", "energy-score"])
    assert again.exit_code == 0, again.output
    assert "0 benchmarked, 1 unchanged" in again.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--protocol", "leaderboard"], "unknown protocol 'leaderboard'"),
        (["--protocol", "energy-score", "--tactic", "dynamic-int8"], "baseline alone"),
        pytest.param(
            ["--device", "cuda"],
            "torch sees no CUDA device",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a CPU-only machine"),
        ),
    ],
)
def test_bad_protocol_options_give_one_line(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    models = tmp_path / "models"
    copy_model(build_tiny_model(TINY_BERT, tmp_path / "bert"), models / "org" / "tiny-bert")
    catalog = tmp_path / "catalog.duckdb"
    Catalog(catalog)
    before = _snapshot(catalog)
    result = runner.invoke(app, ["scan", "--source", str(models), *args, "--catalog", str(catalog)])
    assert_one_line_error(result, catalog, before)
    assert result.exit_code == 2
    assert message in result.stderr

"""Batching as a deployment tactic: the sweep on a tiny model, its storage, the advice and
its arithmetic, the `--batch-sizes` option, and the model page showing sweep and cost."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from labeler.cli import app
from labeler.costs import Prices
from labeler.recommend import batching_sentence, batching_summary
from labeler.site import build_site
from labeler.slugs import model_slug
from labels import Catalog, RunResult
from labels.batching import (
    BatchPoint,
    batch_sweep_from_json,
    batch_sweep_to_json,
    batching_advice,
    parse_batch_sizes,
)
from labels.scheme import load_scheme
from scanner.batch_sweep import measure_batch_sweep
from scanner.harness import Protocol
from scanner.meters.fake import FakeMeter
from scanner.tasks.registry import adapter_for
from tests.site_catalog import CPU, MEASURED_AT, MINILM_ID, _run, fill_catalog
from tests.test_benchmark_model import TINY_PROTOCOL, by_tactic, job_for, run
from tests.test_cli_errors import assert_one_error_line

TASK = "text-classification"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from scanner.discovery.demo import build_synthetic_model

    model_id = "synthetic/tiny-bert-text-classification"
    return build_synthetic_model(model_id, tmp_path_factory.mktemp("models") / model_id)


def _sweep(path: Path, sizes: list[int], adapter=None) -> list[BatchPoint]:
    adapter = adapter or adapter_for(TASK)
    model = adapter.load(path, "cpu")
    return measure_batch_sweep(
        adapter,
        path,
        model,
        load_scheme("v2").workload(TASK),
        sizes,
        FakeMeter(power_w=10.0),
        device="cpu",
        protocol=Protocol(**TINY_PROTOCOL),
        idle_power_w=0.0,
    )


def test_sweep_measures_every_size_on_a_tiny_model(tiny_model: Path) -> None:
    points = _sweep(tiny_model, [64, 1, 32, 8, 8])
    assert [p.batch_size for p in points] == [1, 8, 32, 64]  # sorted, distinct
    for point in points:
        assert point.status == "ok" and point.reason is None
        assert point.windows == TINY_PROTOCOL["windows"]
        assert point.energy_wh_per_1k is not None and point.energy_wh_per_1k > 0
        assert point.latency_ms_per_request is not None and point.latency_ms_per_request > 0
        # throughput is the batch over the time of one batched call
        assert point.inferences_per_s == pytest.approx(
            point.batch_size / point.latency_ms_per_request * 1000
        )


class RunsOutOfMemoryAbove8:
    """The real adapter, except that a batch above 8 runs out of memory as a GPU would."""

    def __init__(self) -> None:
        self._adapter = adapter_for(TASK)

    def __getattr__(self, name: str):
        return getattr(self._adapter, name)

    def run(self, model: torch.nn.Module, batch) -> object:
        if batch.inferences > 8:
            raise torch.OutOfMemoryError("Tried to allocate 2.00 GiB")
        return self._adapter.run(model, batch)


def test_a_size_out_of_memory_ends_the_sweep_with_reasons(tiny_model: Path) -> None:
    points = _sweep(tiny_model, [1, 8, 32, 64], RunsOutOfMemoryAbove8())
    assert [(p.batch_size, p.status) for p in points] == [
        (1, "ok"),
        (8, "ok"),
        (32, "failed"),
        (64, "skipped"),
    ]
    assert points[2].reason == "out of memory"
    assert points[3].reason == "not measured: batch 32 ran out of memory"
    assert points[3].inferences_per_s is None


def test_benchmark_stores_the_sweep_on_the_baseline_only(tiny_model: Path) -> None:
    result = run(job_for(tiny_model, ["dynamic-int8"], batch_sizes=[1, 4]))
    runs = by_tactic(result)
    baseline = runs["baseline"]
    points = batch_sweep_from_json(baseline.batch_sweep_json)
    assert [(p.batch_size, p.status) for p in points] == [(1, "ok"), (4, "ok")]
    # the label's workload stays the scheme's
    assert baseline.batch_size == load_scheme("v1").workload(TASK)["batch_size"]
    assert runs["dynamic-int8"].batch_sweep_json is None
    plain = run(job_for(tiny_model, []))
    assert by_tactic(plain)["baseline"].batch_sweep_json is None


def test_energy_score_protocol_runs_no_sweep(tiny_model: Path) -> None:
    job = job_for(tiny_model, [], batch_sizes=[1, 4], protocol_name="energy-score")
    job = dataclasses.replace(job, protocol={"windows": 1, "window_iterations": 2, "idle_s": 0})
    assert by_tactic(run(job))["baseline"].batch_sweep_json is None


# -- advice and its arithmetic -------------------------------------------------------------

SWEEP = [
    BatchPoint(1, energy_wh_per_1k=1.0, latency_ms_per_request=10.0, windows=3),
    BatchPoint(8, energy_wh_per_1k=0.3, latency_ms_per_request=20.0, windows=3),
    BatchPoint(32, energy_wh_per_1k=0.2, latency_ms_per_request=50.0, windows=3),
    BatchPoint(64, energy_wh_per_1k=0.25, latency_ms_per_request=120.0, windows=3),
]


def test_advice_is_the_least_energy_per_inference_against_batch_1() -> None:
    advice = batching_advice(SWEEP)
    assert advice is not None
    assert advice.batch_size == 32
    assert advice.energy_change == pytest.approx(-0.8)  # 0.2 / 1.0 - 1
    assert advice.latency_added_ms == pytest.approx(40.0)  # 50 - 10
    assert batching_sentence(advice) == (
        "serve at batch 32: \u221280 % energy per inference, +40.0 ms per request"
    )
    assert SWEEP[2].inferences_per_s == pytest.approx(640.0)  # 32 in 50 ms


def test_on_a_near_tie_the_smaller_batch_is_advised() -> None:
    # 64 uses the least, but 8 is within 2 % of it and keeps requests waiting less
    sweep = [
        SWEEP[0],
        dataclasses.replace(SWEEP[1], energy_wh_per_1k=0.203),
        dataclasses.replace(SWEEP[2], energy_wh_per_1k=0.201),
        dataclasses.replace(SWEEP[3], energy_wh_per_1k=0.2),
    ]
    advice = batching_advice(sweep)
    assert advice is not None and advice.batch_size == 8
    assert advice.energy_change == pytest.approx(-0.797)
    assert advice.latency_added_ms == pytest.approx(10.0)
    # a 1 % saving is within the tie: batch 1 stays, so no advice
    assert batching_advice([SWEEP[0], dataclasses.replace(SWEEP[1], energy_wh_per_1k=0.99)]) is None


def test_no_advice_without_batch_1_or_without_a_saving() -> None:
    assert batching_advice(SWEEP[1:]) is None
    assert batching_advice([SWEEP[0], dataclasses.replace(SWEEP[1], energy_wh_per_1k=1.2)]) is None
    failed = BatchPoint(8, status="failed", reason="out of memory")
    assert batching_advice([SWEEP[0], failed]) is None


def test_sweep_json_round_trip_and_unreadable_values() -> None:
    assert batch_sweep_from_json(batch_sweep_to_json(SWEEP)) == SWEEP
    assert batch_sweep_from_json(None) == []
    assert batch_sweep_from_json("{not json") == []
    assert batch_sweep_from_json('[{"batch_size": 2, "unknown": 1}, {"x": 1}]') == [BatchPoint(2)]


def test_parse_batch_sizes() -> None:
    assert parse_batch_sizes("64, 1,8,32,8") == [1, 8, 32, 64]
    for bad, reason in [("0", "at least 1"), ("8,x", "whole number"), (" , ", "no batch size")]:
        with pytest.raises(ValueError, match=reason):
            parse_batch_sizes(bad)


@pytest.mark.parametrize(
    "args, contains",
    [
        (["--batch-sizes", "1,eight"], "--batch-sizes"),
        (["--batch-sizes", "-4"], "at least 1"),
        (["--batch-sizes", "1,8", "--protocol", "energy-score"], "energy-score"),
    ],
)
def test_scan_with_bad_batch_sizes_is_one_line_exit_2(tmp_path, args, contains) -> None:
    result = CliRunner().invoke(
        app, ["scan", "--source", str(tmp_path), *args, "--catalog", str(tmp_path / "c.duckdb")]
    )
    assert_one_error_line(result, contains=contains)


# -- in the catalog, in recommend and on the model page ------------------------------------


@pytest.fixture
def catalog_with_sweep(tmp_path: Path) -> Catalog:
    """tests/site_catalog.py's catalog, with MiniLM's CPU baseline measured again with a
    batching sweep (the newest baseline run is the one pages read)."""
    catalog = fill_catalog(tmp_path / "catalog.duckdb")
    [model] = [m for m in catalog.models() if m.model_id == MINILM_ID]
    again = _run(
        model,
        CPU,
        "baseline",
        "baseline",
        run_id="minilm-cpu-baseline-with-sweep",
        energy_wh_per_1k=0.9,
        quality_metric="cosine_similarity",
        finished_at=MEASURED_AT + timedelta(minutes=5),
        batch_sweep_json=batch_sweep_to_json(SWEEP),
    )
    catalog.record_model_results(model, CPU, [RunResult(again)])
    return catalog


def test_sweep_is_stored_and_read_back_from_the_catalog(catalog_with_sweep: Catalog) -> None:
    runs = catalog_with_sweep.latest_runs(MINILM_ID, hardware_profile=CPU.profile)
    summary = batching_summary(runs)
    assert summary is not None and summary.points == SWEEP
    assert summary.sentence.startswith("serve at batch 32: ")


def test_recommend_shows_the_batching_advice(
    catalog_with_sweep: Catalog, wide_console: None
) -> None:
    result = CliRunner().invoke(
        app,
        [
            "recommend",
            MINILM_ID,
            "--hardware",
            CPU.profile,
            "--catalog",
            str(catalog_with_sweep.path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "batching: serve at batch 32: \u221280 % energy per inference, +40.0 ms" in result.stdout


def test_model_page_shows_cost_payback_and_the_sweep(
    catalog_with_sweep: Catalog, tmp_path: Path
) -> None:
    prices = Prices(electricity_price_per_kwh=0.10, hardware_price_per_hour=0.60, currency="EUR")
    build_site(catalog_with_sweep, tmp_path / "site", prices=prices)
    page = (tmp_path / "site" / "models" / f"{model_slug(MINILM_ID)}.html").read_text("utf-8")
    # baseline 0.9 Wh/1k at 12 ms per batch of 8: 0.9 x 0.10 + 0.41667 h x 0.60 = 0.34
    assert "0.3400 EUR per 1 million inferences" in page
    assert "energy at 0.1 EUR/kWh + machine time at 0.6 EUR/h" in page
    # int8: 0.531 x 0.10 + 0.41667 x (1 - 0.205) x 0.60 = 0.0531 + 0.19875 = 0.25185
    assert "0.2519 EUR per 1M inferences" in page
    # build: 0.05 Wh and 3.2 s = 0.000005 + 0.00053333 = 0.00053833; it saves
    # 0.34 - 0.25185 = 0.08815 per 1M: 538.333 / 0.08815 = 6,107.01, so 6,108 inferences
    assert "build cost 0.0005383 EUR, paid back in money after 6,108 inferences" in page
    assert "<h3>Batching</h3>" in page
    assert "Serve at batch 32: \u221280 % energy per inference, +40.0 ms per request" in page
    assert "interactive (the AI Energy Score's batch size)" in page
    # a page without a sweep has no batching section, and the other prices change pages
    other = (tmp_path / "site" / "models").glob("*.html")
    assert sum("<h3>Batching</h3>" in p.read_text("utf-8") for p in other) == 1
    rebuilt = build_site(catalog_with_sweep, tmp_path / "site", prices=Prices())
    assert rebuilt.rendered_models == rebuilt.models
    page = (tmp_path / "site" / "models" / f"{model_slug(MINILM_ID)}.html").read_text("utf-8")
    assert "0.1545 USD per 1 million inferences" in page


def test_a_scan_with_batch_sizes_writes_the_sweep_into_the_catalog(tmp_path: Path) -> None:
    from scanner.discovery.local import discover_local_models
    from scanner.scan import ScanOptions, scan
    from tests.tiny_models import FAST_PROTOCOL, TINY_BERT, build_tiny_model, copy_model

    built = build_tiny_model(TINY_BERT, tmp_path / "built")
    copy_model(built, tmp_path / "models" / "org" / "tiny-bert")
    catalog = Catalog(tmp_path / "catalog.duckdb")
    options = ScanOptions(
        tactics=["baseline"],
        protocol=dict(FAST_PROTOCOL),
        executor="inprocess",
        batch_sizes=[1, 2],
    )
    summary = scan(discover_local_models(tmp_path / "models"), catalog, options)
    assert summary.ok, summary.failures
    [baseline] = catalog.latest_runs("org/tiny-bert")
    assert [p.batch_size for p in batch_sweep_from_json(baseline.batch_sweep_json)] == [1, 2]

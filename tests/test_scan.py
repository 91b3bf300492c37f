"""End-to-end scans of tiny models into a real DuckDB catalog.

One test goes through the subprocess executor (the default, one child per model); the
others use the in-process executor, since isolation is not what they check and each child
pays seconds of torch import.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from labeler.grading import grade_catalog
from labels import Catalog
from scanner.discovery.local import discover_local_models
from scanner.scan import ScanOptions, scan
from tests.tiny_models import (
    FAST_PROTOCOL,
    TINY_BERT,
    TINY_DISTILBERT,
    build_tiny_model,
    copy_model,
    make_corrupt_safetensors,
    make_not_a_model,
    make_pickle_only,
    make_remote_code,
)

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def built_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("built")
    return {
        "bert": build_tiny_model(TINY_BERT, root / "bert"),
        "distilbert": build_tiny_model(TINY_DISTILBERT, root / "distilbert"),
    }


def _options(**changes) -> ScanOptions:
    values = {
        "device": "cpu",
        "tactics": ["baseline", "dynamic-int8"],
        "protocol": dict(FAST_PROTOCOL),
        "executor": "inprocess",
        "timeout_s": 300.0,
    }
    values.update(changes)
    return ScanOptions(**values)


def _count(catalog: Catalog, sql: str) -> int:
    return catalog.query(sql).rows[0][0]


@pytest.mark.slow
def test_subprocess_scan_grade_rescan_and_force(tmp_path, built_models):
    models = tmp_path / "models"
    copy_model(built_models["bert"], models / "org" / "tiny-bert")
    copy_model(built_models["distilbert"], models / "org" / "tiny-distilbert")
    catalog = Catalog(tmp_path / "catalog.duckdb")
    refs = discover_local_models(models)
    assert [r.model_id for r in refs] == ["org/tiny-bert", "org/tiny-distilbert"]
    events: list[tuple[str, str]] = []

    summary = scan(
        refs,
        catalog,
        _options(executor="subprocess"),
        on_event=lambda kind, ref, _detail: events.append((kind, ref.model_id)),
    )
    assert summary.ok and summary.benchmarked == 2 and summary.failed == 0
    assert ("done", "org/tiny-bert") in events
    assert _count(catalog, "SELECT count(*) FROM models") == 2
    runs = catalog.query("SELECT model_id, variant, status FROM runs ORDER BY 1, 2").rows
    assert runs == [
        ("org/tiny-bert", "baseline", "ok"),
        ("org/tiny-bert", "dynamic-int8", "ok"),
        ("org/tiny-distilbert", "baseline", "ok"),
        ("org/tiny-distilbert", "dynamic-int8", "ok"),
    ]
    # two windows per run, each with real energy from whatever meter this machine has;
    # a variant's run also keeps the two baseline windows measured between its own, and
    # (scheme v2) a baseline's run the two reference-model windows measured between its own
    assert _count(catalog, "SELECT count(*) FROM measurements") == 16
    assert _count(catalog, "SELECT count(*) FROM measurements WHERE paired_baseline") == 4
    assert _count(catalog, "SELECT count(*) FROM measurements WHERE reference_window") == 4
    assert _count(catalog, "SELECT count(*) FROM measurements WHERE energy_j <= 0") == 0

    graded = grade_catalog(catalog)
    assert len(graded.labels) == 2
    labels = {r.model_id: r for r in catalog.latest_labels()}
    assert set(labels) == {"org/tiny-bert", "org/tiny-distilbert"}
    assert all(r.energy_wh_per_1k > 0 for r in labels.values())

    again = scan(refs, catalog, _options(executor="subprocess"))
    assert (again.benchmarked, again.unchanged) == (0, 2)
    assert _count(catalog, "SELECT count(*) FROM runs") == 4

    # in-process here: what is checked is the incremental rule, not the isolation again
    forced = scan(refs[:1], catalog, _options(force=True))
    assert forced.benchmarked == 1
    assert _count(catalog, "SELECT count(*) FROM runs") == 6


def test_broken_models_are_recorded_and_the_scan_goes_on(tmp_path, built_models):
    models = tmp_path / "models"
    copy_model(built_models["bert"], models / "org" / "good")
    make_not_a_model(models / "org" / "not-a-model")
    make_corrupt_safetensors(built_models["bert"], models / "org" / "corrupt")
    make_remote_code(built_models["bert"], models / "org" / "remote-code")
    catalog = Catalog(tmp_path / "catalog.duckdb")

    summary = scan(discover_local_models(models), catalog, _options(tactics=["baseline"]))

    assert not summary.ok
    assert summary.failed == 1 and summary.skipped == 2 and summary.benchmarked == 1
    assert [m for m, _ in summary.failures] == ["org/corrupt"]
    rows = catalog.query(
        "SELECT model_id, status, reason FROM latest_runs WHERE variant = 'baseline'"
    ).rows
    by_model = {model_id: (status, reason) for model_id, status, reason in rows}
    assert by_model["org/good"] == ("ok", None)
    assert by_model["org/corrupt"][0] == "failed"
    assert by_model["org/corrupt"][1].startswith("load error")
    assert by_model["org/remote-code"][0] == "skipped"
    assert "trust_remote_code" in by_model["org/remote-code"][1]
    assert by_model["org/not-a-model"][0] == "skipped"
    assert "unsupported task" in by_model["org/not-a-model"][1]
    failures = {r[0] for r in catalog.query("SELECT model_id FROM failures").rows}
    assert failures == {"org/corrupt", "org/remote-code", "org/not-a-model"}

    grade_catalog(catalog)
    reasons = {r.model_id: r.reason for r in catalog.latest_labels()}
    assert reasons["org/corrupt"].startswith("failed: load error")
    assert reasons["org/remote-code"].startswith("skipped: needs trust_remote_code")


def test_pickle_only_model_is_skipped_with_the_reason(tmp_path, built_models):
    models = tmp_path / "models"
    make_pickle_only(built_models["bert"], models / "org" / "pickled")
    catalog = Catalog(tmp_path / "catalog.duckdb")

    summary = scan(discover_local_models(models), catalog, _options(tactics=["baseline"]))

    assert summary.ok and summary.skipped == 1
    [(status, reason)] = catalog.query("SELECT status, reason FROM runs").rows
    assert status == "skipped"
    assert reason.startswith("only pickle weights")
    assert "--allow-pickle" in reason


def test_scan_keeps_card_results_and_a_classifiers_top1_classes(tmp_path, built_models):
    """What `labeler alternatives` compares quality with, stored at scan time."""
    import json

    models = tmp_path / "models"
    bert = copy_model(built_models["bert"], models / "org" / "tiny-bert")
    (bert / "README.md").write_text(
        "---\npipeline_tag: text-classification\nmodel-index:\n- name: tiny-bert\n  results:\n"
        "  - task: {type: text-classification}\n"
        "    dataset: {type: glue, name: GLUE SST2, config: sst2, split: validation}\n"
        "    metrics:\n    - {type: accuracy, value: 0.91}\n---\n# tiny\n",
        encoding="utf-8",
    )
    copy_model(built_models["distilbert"], models / "org" / "tiny-distilbert")
    catalog = Catalog(tmp_path / "catalog.duckdb")

    summary = scan(discover_local_models(models), catalog, _options())

    assert summary.ok and summary.benchmarked == 2, summary.failures
    stored = dict(catalog.query("SELECT model_id, model_index_json FROM models").rows)
    (result,) = json.loads(stored["org/tiny-bert"])
    assert (result["dataset_type"], result["dataset_config"], result["dataset_split"]) == (
        "glue",
        "sst2",
        "validation",
    )
    assert (result["metric_type"], result["value"]) == ("accuracy", 0.91)
    assert stored["org/tiny-distilbert"] == "[]"
    rows = catalog.query(
        "SELECT model_id, variant, top1_labels_json FROM runs ORDER BY model_id, variant"
    ).rows
    top1 = {(model_id, variant): value for model_id, variant, value in rows}
    classes = json.loads(top1[("org/tiny-bert", "baseline")])
    assert classes["inputs"].startswith("tokenizer:")
    assert len(classes["top1"]) == 32 and set(classes["top1"]) <= set(classes["labels"])
    assert top1[("org/tiny-bert", "dynamic-int8")] is None  # the baseline's alone
    assert top1[("org/tiny-distilbert", "baseline")] is None  # not a sequence classifier

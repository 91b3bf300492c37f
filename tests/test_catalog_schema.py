"""The catalog schema, asserted column by column after migrating an empty database.

The views are the documented surface for users' scripts (docs/catalog.md): a change here is
a change users see, so it must come with a new migration and an updated doc.
"""

from __future__ import annotations

import duckdb
import pytest

from labels.migrations import migrate

# m003: what scheme v2 adds to labels and to latest_labels, in this order.
LABEL_V2 = [
    "eei_low", "eei_high", "borderline", "reference_model", "reference_config_sha256",
    "measured_grade", "previous_grade", "grade_changed_at", "energy_j_per_token",
]  # fmt: skip
# m008: a label graded from a contended measurement, and the foreign load beside it.
LABEL_FOREIGN = ["contended", "foreign_cpu_cores"]

TABLES = {
    "_migrations": ["name", "applied_at"],
    "models": [
        "model_id", "revision", "task", "source", "synthetic", "library", "pipeline_tag",
        "license", "gated", "downloads", "likes", "params", "weights_mb", "tags_json",
        "card_summary", "first_seen_at", "last_seen_at", "model_index_json",
    ],
    "hardware": [
        "fingerprint", "profile", "kind", "device_name", "cpu_model", "cpu_cores", "memory_gb",
        "gpu_driver", "gpu_power_limit_w", "gpu_memory_gb", "first_seen_at",
    ],
    "runs": [
        "run_id", "scan_id", "model_id", "revision", "task", "hardware_profile",
        "hardware_fingerprint", "variant", "tactic", "status", "reason", "energy_method",
        "device", "dtype", "batch_size", "input_shape", "harness_version", "scheme_version",
        "torch_version", "transformers_version", "cuda_version", "started_at", "finished_at",
        "windows", "energy_wh_per_1k", "energy_wh_per_1k_net", "energy_wh_per_1k_min",
        "energy_wh_per_1k_max", "energy_cv", "noisy", "latency_ms_p50", "latency_ms_p95",
        "peak_mem_mb", "idle_power_w", "quality_metric", "quality_value", "quality_json",
        "qualifies", "build_s", "build_energy_wh", "size_mb", "notes", "provenance_json",
        "paired_baseline_wh_per_1k", "paired_energy_ratio", "paired_latency_ratio",
        "paired_cheaper_windows", "reference_model", "reference_config_sha256",
        "reference_energy_wh_per_1k", "reference_ratios_json", "protocol", "batch_sweep_json",
        "top1_labels_json",
        # m007: bytes on disk of an ONNX variant's model
        "build_disk_bytes",
        # m008: foreign load, contended runs, threads
        "foreign_cpu_cores", "foreign_cpu_share", "foreign_cpu_share_max",
        "foreign_gpu_processes", "foreign_gpu_util_pct", "foreign_load_method",
        "busy_remeasured", "contended", "busy_host_allowed", "cpu_threads",
    ],
    "measurements": [
        "run_id", "window_index", "duration_s", "iterations", "inferences", "energy_j",
        "idle_energy_j", "energy_wh_per_1k", "energy_wh_per_1k_net", "latency_ms_p50",
        "power_w", "energy_method", "temperature_c", "sm_clock_mhz", "paired_baseline",
        "reference_window",
        # m008
        "foreign_cpu_cores", "foreign_cpu_share", "foreign_gpu_processes",
        "foreign_gpu_util_pct",
    ],
    "labels": [
        "model_id", "revision", "task", "hardware", "scheme_version", "grade", "eei",
        "energy_wh_per_1k", "energy_method", "best_variant", "best_grade",
        "best_energy_wh_per_1k", "quality_retained", "quality_metric", "noisy",
        "recommendations_json", "measured_at", "graded_at", "reason", *LABEL_V2,
        *LABEL_FOREIGN,
    ],
    "label_history": [
        "model_id", "revision", "task", "hardware", "scheme_version", "grade",
        "measured_grade", "eei", "eei_low", "eei_high", "borderline", "measured_at",
        "graded_at",
    ],
}  # fmt: skip

VIEWS = {
    "latest_labels": [
        "model_id", "revision", "task", "hardware", "grade", "energy_wh_per_1k",
        "best_variant", "best_grade", "best_energy_wh_per_1k", "quality_retained",
        "quality_metric", "energy_method", "estimated", "noisy", "eei", "scheme_version",
        "measured_at", "graded_at", "reason", "recommendations_json", "source", "synthetic",
        *LABEL_V2, *LABEL_FOREIGN,
    ],
    "latest_runs": TABLES["runs"],
    "failures": [
        "model_id", "revision", "task", "hardware_profile", "variant", "status", "reason",
        "finished_at",
    ],
    "energy_scores": [
        "model_id", "revision", "task", "hardware", "energy_wh_per_1k_queries",
        "energy_method", "estimated", "windows", "energy_cv", "latency_ms_p50", "dtype",
        "device", "measured_at", "run_id",
    ],
}  # fmt: skip

# What issue 2 promises users of latest_labels, whatever else the view grows.
LATEST_LABELS_PROMISED = {
    "model_id", "revision", "task", "hardware", "grade", "energy_wh_per_1k", "best_variant",
    "best_grade", "best_energy_wh_per_1k", "quality_retained", "energy_method",
    "scheme_version", "measured_at",
}  # fmt: skip


@pytest.fixture
def migrated(catalog_path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(catalog_path))
    migrate(con)
    yield con
    con.close()


def _columns(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position",
        [name],
    ).fetchall()
    return [r[0] for r in rows]


def _relations(con: duckdb.DuckDBPyConnection, kind: str) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_type = ?", [kind]
    ).fetchall()
    return {r[0] for r in rows}


def test_exactly_these_tables_and_views(migrated):
    assert _relations(migrated, "BASE TABLE") == set(TABLES)
    assert _relations(migrated, "VIEW") == set(VIEWS)


@pytest.mark.parametrize("table", sorted(TABLES))
def test_table_columns(migrated, table):
    assert _columns(migrated, table) == TABLES[table]


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_view_columns(migrated, view):
    assert _columns(migrated, view) == VIEWS[view]


def test_latest_labels_keeps_the_promised_columns(migrated):
    assert set(_columns(migrated, "latest_labels")) >= LATEST_LABELS_PROMISED


def test_record_dataclasses_match_their_tables(migrated):
    import dataclasses

    from labels.records import HardwareRecord, LabelRecord, ModelRecord, RunRecord, WindowRecord

    for record, table in [
        (ModelRecord, "models"),
        (HardwareRecord, "hardware"),
        (RunRecord, "runs"),
        (WindowRecord, "measurements"),
        (LabelRecord, "labels"),
    ]:
        fields = [f.name for f in dataclasses.fields(record)]
        assert set(fields) <= set(_columns(migrated, table)), record.__name__


def test_latest_label_has_the_views_columns_in_order(migrated):
    """`Catalog.latest_labels()` builds `LatestLabel`s from the view: both must list the same."""
    from labels.latest_label import LATEST_LABEL_COLUMNS

    assert list(LATEST_LABEL_COLUMNS) == _columns(migrated, "latest_labels")

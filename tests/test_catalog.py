"""The catalog API on real DuckDB files: views, locking, corruption, exports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from labels import (
    Catalog,
    CatalogError,
    CatalogLockedError,
    HardwareRecord,
    ModelRecord,
    RunRecord,
    RunResult,
    WindowRecord,
    export_csv,
    export_parquet,
)
from tests.label_records import label_record

ROOT = Path(__file__).resolve().parents[1]
CPU = HardwareRecord(
    fingerprint="fp-cpu",
    profile="cpu-x86-64",
    kind="cpu",
    device_name="cpu",
    cpu_model="Test CPU",
    cpu_cores=2,
    memory_gb=8.0,
)
T0 = datetime(2026, 11, 1, 12, 0)


def _label(model_id: str, revision: str, grade: str, measured_at: datetime, hw: str = "cpu-x86-64"):
    return label_record(
        model_id=model_id,
        revision=revision,
        hardware=hw,
        grade=grade,
        eei=0.7,
        energy_wh_per_1k=1.0,
        energy_method="estimate",
        best_variant="baseline",
        best_grade=grade,
        best_energy_wh_per_1k=1.0,
        quality_retained=1.0,
        quality_metric="top1_agreement",
        measured_at=measured_at,
        graded_at=measured_at + timedelta(minutes=1),
    )


def _model(model_id: str, revision: str) -> ModelRecord:
    return ModelRecord(
        model_id=model_id, revision=revision, task="text-classification", source="local"
    )


def _run(model_id: str, revision: str, finished_at: datetime, status: str = "ok") -> RunRecord:
    return RunRecord(
        run_id=f"{model_id}-{revision}-{finished_at.isoformat()}",
        scan_id="scan-1",
        model_id=model_id,
        revision=revision,
        task="text-classification",
        hardware_profile="cpu-x86-64",
        hardware_fingerprint="fp-cpu",
        variant="baseline",
        tactic="baseline",
        status=status,
        reason=None if status == "ok" else "load error: broken",
        harness_version="h1",
        scheme_version="v1",
        finished_at=finished_at,
        energy_wh_per_1k=1.0 if status == "ok" else None,
    )


def _window(run_id: str) -> WindowRecord:
    return WindowRecord(
        run_id=run_id,
        window_index=0,
        duration_s=0.05,
        iterations=1,
        inferences=8,
        energy_j=1.0,
        idle_energy_j=0.1,
        energy_wh_per_1k=0.03,
        energy_wh_per_1k_net=0.028,
        latency_ms_p50=5.0,
        power_w=20.0,
        energy_method="estimate",
    )


def test_import_labels_works_without_torch():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None  # any `import torch` now raises ImportError
        sys.modules["transformers"] = None
        import labels
        from labels import Catalog, load_scheme
        load_scheme("v1")
        c = Catalog(sys.argv[1])
        print(len(c.latest_labels()))
        assert "torch" not in [m for m, v in sys.modules.items() if v is not None]
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(Path.cwd() / "no-torch.duckdb")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0"


def test_latest_labels_one_row_per_model_task_hardware_newest_wins(fresh_catalog):
    fresh_catalog.upsert_model(_model("org/a", "rev1"))
    fresh_catalog.upsert_model(_model("org/a", "rev2"))
    fresh_catalog.upsert_model(_model("org/b", "rev1"))
    fresh_catalog.write_labels(
        [
            _label("org/a", "rev1", "D", T0),
            _label("org/a", "rev2", "B", T0 + timedelta(days=1)),
            _label("org/a", "rev2", "E", T0, hw="gpu-h100-80gb"),
            _label("org/b", "rev1", "C", T0),
        ]
    )
    rows = fresh_catalog.latest_labels()
    keys = [(r.model_id, r.task, r.hardware) for r in rows]
    assert len(keys) == len(set(keys)) == 3
    by_key = {(r.model_id, r.hardware): r for r in rows}
    assert by_key[("org/a", "cpu-x86-64")].revision == "rev2"
    assert by_key[("org/a", "cpu-x86-64")].grade == "B"
    assert by_key[("org/a", "gpu-h100-80gb")].grade == "E"
    assert by_key[("org/a", "cpu-x86-64")].estimated is True
    assert by_key[("org/b", "cpu-x86-64")].source == "local"


def test_write_labels_replaces_the_same_key(fresh_catalog):
    fresh_catalog.write_labels([_label("org/a", "rev1", "D", T0)])
    fresh_catalog.write_labels([_label("org/a", "rev1", "C", T0)])
    result = fresh_catalog.query("SELECT grade FROM labels")
    assert result.rows == [("C",)]


def test_results_runs_windows_and_failures_view(fresh_catalog):
    ok = _run("org/a", "rev1", T0)
    failed = _run("org/b", "rev1", T0, status="failed")
    fresh_catalog.record_model_results(
        _model("org/a", "rev1"), CPU, [RunResult(ok, [_window(ok.run_id)])]
    )
    fresh_catalog.record_model_results(_model("org/b", "rev1"), CPU, [RunResult(failed)])
    assert fresh_catalog.windows(ok.run_id)[0].energy_j == 1.0
    assert fresh_catalog.hardware("fp-cpu") == CPU
    assert ("org/a", "rev1") in fresh_catalog.measured_revisions("cpu-x86-64", "h1", "v1")
    assert ("org/a", "rev1") not in fresh_catalog.measured_revisions("cpu-x86-64", "h2", "v1")
    failures = fresh_catalog.query("SELECT model_id, status, reason FROM failures")
    assert failures.rows == [("org/b", "failed", "load error: broken")]


def test_latest_runs_prefers_the_newest_run(fresh_catalog):
    old = _run("org/a", "rev1", T0, status="failed")
    new = _run("org/a", "rev1", T0 + timedelta(hours=1))
    fresh_catalog.record_model_results(_model("org/a", "rev1"), CPU, [RunResult(old)])
    fresh_catalog.record_model_results(_model("org/a", "rev1"), CPU, [RunResult(new)])
    runs = fresh_catalog.latest_runs(model_id="org/a")
    assert [r.run_id for r in runs] == [new.run_id]
    assert fresh_catalog.query("SELECT count(*) FROM failures").rows == [(0,)]


def test_missing_catalog_is_not_created_when_create_is_false(catalog_path):
    with pytest.raises(CatalogError, match="not found"):
        Catalog(catalog_path, create=False)
    assert not catalog_path.exists()


def test_directory_is_not_a_catalog(tmp_path):
    with pytest.raises(CatalogError, match="directory"):
        Catalog(tmp_path)


def test_corrupt_file_is_a_catalog_error(catalog_path):
    catalog_path.write_bytes(b"this is not a duckdb file\x00\xff" * 512)
    before = catalog_path.read_bytes()
    with pytest.raises(CatalogError) as info:
        Catalog(catalog_path, lock_timeout_s=1.0)
    assert not isinstance(info.value, CatalogLockedError)
    assert "\n" not in str(info.value)
    assert catalog_path.read_bytes() == before


LOCK_HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("CREATE TABLE IF NOT EXISTS held (x INTEGER)")
print("locked", flush=True)
sys.stdin.readline()  # hold the file until the test lets go
con.close()
"""


def test_a_held_writer_file_blocks_writers_with_catalog_locked_error_but_never_readers(
    fresh_catalog,
):
    opened_before = Catalog(fresh_catalog.path, lock_timeout_s=0.2)
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(fresh_catalog.writer_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(CatalogLockedError, match="locked"):
            Catalog(fresh_catalog.path, lock_timeout_s=0.2)
        with pytest.raises(CatalogLockedError):
            opened_before.write_labels([_label("org/a", "rev1", "C", T0)])
        # Reads go to the published file, which no process holds for writing.
        assert opened_before.latest_labels() == []
        assert Catalog(fresh_catalog.path, read_only=True).query("SELECT 1").rows == [(1,)]
        con = duckdb.connect(str(fresh_catalog.path), read_only=True)
        con.close()
    finally:
        holder.communicate("\n", timeout=30)
    assert Catalog(fresh_catalog.path).latest_labels() == []  # usable again once released


def test_export_parquet_and_csv_round_trip(fresh_catalog, tmp_path):
    fresh_catalog.upsert_model(_model("org/a", "rev1"))
    fresh_catalog.write_labels([_label("org/a", "rev1", "C", T0), _label("org/b", "r", "A", T0)])
    parquet = export_parquet(fresh_catalog, tmp_path / "out" / "labels.parquet")
    csv = export_csv(fresh_catalog, tmp_path / "out" / "labels.csv")
    failures = export_parquet(fresh_catalog, tmp_path / "failures.parquet", view="failures")
    query = "SELECT model_id, grade, measured_at FROM {} ORDER BY model_id"
    expected = fresh_catalog.query(query.format("latest_labels")).rows
    con = duckdb.connect()
    try:
        assert con.execute(query.format(f"read_parquet('{parquet}')")).fetchall() == expected
        assert con.execute(query.format(f"read_csv('{csv}')")).fetchall() == expected
        assert con.execute(f"SELECT count(*) FROM read_parquet('{failures}')").fetchone() == (0,)
    finally:
        con.close()


def test_an_unchanged_catalog_exports_the_same_bytes_in_model_order(tmp_path):
    """The site rewrites its downloads when labels change; an unchanged catalog must give
    the same files (DuckDB scans a view on several threads, in any order)."""
    from benchmarks.site_scale import fill_synthetic_catalog

    catalog = fill_synthetic_catalog(tmp_path / "c.duckdb", 2000)
    first = export_csv(catalog, tmp_path / "a.csv").read_bytes()
    assert export_csv(catalog, tmp_path / "b.csv").read_bytes() == first
    parquet = [export_parquet(catalog, tmp_path / f"{n}.parquet") for n in "ab"]
    assert parquet[0].read_bytes() == parquet[1].read_bytes()
    con = duckdb.connect()
    try:
        ids = [
            row[0]
            for row in con.execute(
                f"SELECT model_id FROM read_csv('{tmp_path / 'a.csv'}')"
            ).fetchall()
        ]
        ordered = con.execute(f"SELECT model_id FROM read_parquet('{parquet[0]}')").fetchall()
    finally:
        con.close()
    assert len(ids) >= 2000 and ids == sorted(ids)
    assert [row[0] for row in ordered] == ids


def test_export_refuses_unknown_views(fresh_catalog, tmp_path):
    with pytest.raises(CatalogError, match="unknown view"):
        export_parquet(fresh_catalog, tmp_path / "x.parquet", view="labels; DROP TABLE runs")


def test_query_errors_are_catalog_errors(fresh_catalog):
    with pytest.raises(CatalogError, match="query failed"):
        fresh_catalog.query("SELEC nonsense")


def test_read_only_catalog_cannot_write(fresh_catalog):
    reader = Catalog(fresh_catalog.path, read_only=True)
    assert reader.query("SELECT count(*) FROM latest_labels").rows == [(0,)]
    with pytest.raises(CatalogError):
        reader.query("DELETE FROM labels")

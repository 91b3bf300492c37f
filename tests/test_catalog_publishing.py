"""The published catalog: readers never meet the writer's lock, snapshots rotate, damaged or
newer files are refused in one line and left as they were.

Real DuckDB files throughout; the reader is a separate process using plain `duckdb` exactly
as the README shows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from labeler.cli import app
from labels.catalog import Catalog, CatalogCorruptError, CatalogError
from labels.migrations import MIGRATIONS
from labels.snapshots import (
    SnapshotError,
    default_keep_snapshots,
    is_good_catalog_file,
    list_snapshots,
    snapshot_dir_for,
    take_snapshot,
    writer_path_for,
)
from tests.test_catalog import CPU, T0, _label, _model, _run, _window
from tests.tiny_models import TINY_BERT, build_tiny_model, copy_model

REPO = Path(__file__).resolve().parents[1]
FAST_CLI = [
    "--tactic", "baseline", "--windows", "1", "--window-s", "0.2", "--warmup-s", "0",
    "--idle-s", "0", "--meter", "estimate", "--executor", "inprocess",
]  # fmt: skip

# Exactly the README's read, every 20 ms, until told to stop; every failure is printed.
README_READER = """
import sys, time, pathlib, duckdb
path, stop = sys.argv[1], pathlib.Path(sys.argv[2])
reads = failed = 0
seen = set()
deadline = time.monotonic() + 300
while not stop.exists() and time.monotonic() < deadline:
    try:
        con = duckdb.connect(path, read_only=True)
        try:
            seen.add(con.execute("SELECT count(*) FROM runs").fetchone()[0])
            con.execute("SELECT * FROM latest_labels").fetchall()
        finally:
            con.close()
        reads += 1
    except Exception as exc:
        failed += 1
        print("failure:", repr(exc), file=sys.stderr)
    time.sleep(0.02)
print(reads, failed, max(seen, default=0), len(seen))
"""

KILLED_OLD_WRITER = """
import os, sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("SET checkpoint_threshold = '10GB'")
con.execute(
    "INSERT INTO models (model_id, revision, task, source, first_seen_at, last_seen_at) "
    "VALUES ('org/in-wal', 'r', 'text-classification', 'local', now(), now())"
)
os._exit(0)  # no close, no checkpoint: the row is only in the write-ahead log
"""


def labeler(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from labeler.cli import main; main()", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def filled_catalog(path: Path) -> Catalog:
    catalog = Catalog(path, lock_timeout_s=2.0)
    run = _run("org/a", "rev1", T0)
    catalog.record_model_results(_model("org/a", "rev1"), CPU, [_result(run)])
    catalog.write_labels([_label("org/a", "rev1", "C", T0)])
    return catalog


def _result(run):  # noqa: ANN001, ANN202
    from labels.records import RunResult

    return RunResult(run, [_window(run.run_id)])


def files_in(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_reader_polling_with_plain_duckdb_never_fails_while_a_scan_and_grading_write(
    tmp_path: Path,
) -> None:
    tiny = build_tiny_model(TINY_BERT, tmp_path / "tiny")
    models = tmp_path / "models"
    for index in range(3):
        copy_model(tiny, models / "org" / f"tiny-{index}")
    catalog = tmp_path / "catalog.duckdb"
    Catalog(catalog)  # the reader starts on an empty, published catalog
    stop = tmp_path / "stop-reading"
    reader = subprocess.Popen(
        [sys.executable, "-c", README_READER, str(catalog), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        scan = labeler(
            "scan", "--source", str(models), *FAST_CLI, "--catalog", str(catalog), cwd=tmp_path
        )
        grade = labeler("grade", "--catalog", str(catalog), cwd=tmp_path)
    finally:
        stop.touch()
        reader_out, reader_err = reader.communicate(timeout=60)

    assert scan.returncode == 0, scan.stderr
    assert grade.returncode == 0, grade.stderr
    reads, failed, most_runs, distinct_counts = map(int, reader_out.split())
    assert failed == 0, reader_err
    assert reads >= 20
    # The reader saw the catalog grow while the scan wrote, and ended on all three runs.
    assert most_runs == 3 and distinct_counts >= 2
    assert writer_path_for(catalog).is_file()


def test_labeler_sql_reads_the_published_file_and_never_migrates_or_writes(
    tmp_path: Path,
) -> None:
    catalog = tmp_path / "catalog.duckdb"
    con = duckdb.connect(str(catalog))  # a catalog made by a release with one migration
    MIGRATIONS[0][1](con)
    con.execute("CREATE TABLE _migrations (name VARCHAR PRIMARY KEY, applied_at TIMESTAMP)")
    con.execute("INSERT INTO _migrations VALUES ('m001_initial', now())")
    con.close()
    before = files_in(tmp_path)

    result = CliRunner().invoke(
        app, ["sql", "SELECT name FROM _migrations", "--format", "csv", "--catalog", str(catalog)]
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["name", "m001_initial"]
    assert files_in(tmp_path) == before  # no writer file, no migration, no new bytes


def test_an_old_single_file_catalog_is_adopted_with_its_write_ahead_log(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.duckdb"
    (tmp_path / "old").mkdir()
    filled_catalog(tmp_path / "old" / "catalog.duckdb")
    old = tmp_path / "old" / "catalog.writer.duckdb"
    os.replace(old, catalog)  # the whole file, as an old release left it
    # An old writer killed after a commit leaves rows only in the write-ahead log.
    subprocess.run([sys.executable, "-c", KILLED_OLD_WRITER, str(catalog)], check=True)
    assert Path(f"{catalog}.wal").is_file()

    adopted = Catalog(catalog)

    assert {m.model_id for m in adopted.models()} == {"org/a", "org/in-wal"}
    assert adopted.latest_labels()[0].grade == "C"
    assert not Path(f"{catalog}.wal").exists()
    assert is_good_catalog_file(writer_path_for(catalog))
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM models").fetchone() == (2,)
    finally:
        con.close()


def test_snapshots_rotate_keeping_the_newest_n(tmp_path: Path, monkeypatch) -> None:
    catalog = tmp_path / "catalog.duckdb"
    filled_catalog(catalog)
    start = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

    taken = [take_snapshot(catalog, 3, now=start + timedelta(days=day)) for day in range(5)]

    kept = list_snapshots(catalog)
    assert kept == [taken[4], taken[3], taken[2]]
    assert not taken[0].exists() and not taken[1].exists()
    assert kept[0].name == "catalog-20261127T030000000000Z.duckdb"
    assert all(is_good_catalog_file(path) for path in kept)
    assert take_snapshot(catalog, 0) is None and len(list_snapshots(catalog)) == 3

    monkeypatch.setenv("LABELER_KEEP_SNAPSHOTS", "2")
    assert default_keep_snapshots() == 2
    monkeypatch.setenv("LABELER_KEEP_SNAPSHOTS", "many")
    with pytest.raises(SnapshotError, match="LABELER_KEEP_SNAPSHOTS"):
        default_keep_snapshots()


def test_the_schedule_keeps_the_last_n_snapshots(tmp_path: Path, monkeypatch) -> None:
    build_tiny_model(TINY_BERT, tmp_path / "models" / "org" / "tiny")
    catalog = tmp_path / "catalog.duckdb"
    monkeypatch.setenv("LABELER_KEEP_SNAPSHOTS", "1")
    args = [
        "schedule", "--once", "--source", str(tmp_path / "models"), "--tactic", "baseline",
        "--windows", "1", "--window-s", "0.05", "--executor", "inprocess",
        "--out", str(tmp_path / "site"), "--catalog", str(catalog),
    ]  # fmt: skip

    for extra in ([], [], ["--keep-snapshots", "2"]):
        result = CliRunner().invoke(app, [*args, *extra])
        assert result.exit_code == 0, result.output
        assert "snapshot " in result.output
        if not extra:
            assert len(list_snapshots(catalog)) == 1  # the environment's limit

    kept = list_snapshots(catalog)
    assert len(kept) == 2
    assert sorted(p.name for p in snapshot_dir_for(catalog).iterdir()) == sorted(
        p.name for p in kept
    )
    for snapshot in kept:
        con = duckdb.connect(str(snapshot), read_only=True)
        try:
            assert con.execute("SELECT count(*) FROM latest_labels").fetchone() == (1,)
        finally:
            con.close()


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_writer_file_names_the_newest_good_copy_and_nothing_is_overwritten(
    tmp_path: Path, damage: str
) -> None:
    catalog = tmp_path / "catalog.duckdb"
    filled_catalog(catalog)
    take_snapshot(catalog, 5)
    writer = writer_path_for(catalog)
    data = writer.read_bytes()
    writer.write_bytes(data[: len(data) // 2] if damage == "truncated" else b"\x00junk" * 999)
    before = files_in(tmp_path)

    result = CliRunner().invoke(app, ["grade", "--catalog", str(catalog)])

    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "corrupt or truncated" in lines[0]
    assert f"newest good snapshot: {catalog}" in lines[0]  # the published copy is newest
    assert files_in(tmp_path) == before


def test_a_damaged_published_file_with_no_writer_file_names_the_newest_snapshot(
    tmp_path: Path,
) -> None:
    catalog = tmp_path / "catalog.duckdb"
    filled_catalog(catalog)
    old = take_snapshot(catalog, 5, now=datetime(2026, 11, 1, tzinfo=UTC))
    new = take_snapshot(catalog, 5, now=datetime(2026, 11, 2, tzinfo=UTC))
    new.write_bytes(new.read_bytes()[:4096])  # the newest snapshot is damaged too
    writer_path_for(catalog).unlink()
    catalog.write_bytes(catalog.read_bytes()[:5000])
    before = files_in(tmp_path)

    with pytest.raises(CatalogCorruptError) as writer_error:
        Catalog(catalog)
    with pytest.raises(CatalogCorruptError) as reader_error:
        Catalog(catalog, read_only=True).latest_labels()

    for error in (writer_error, reader_error):
        message = str(error.value)
        assert "\n" not in message and f"newest good snapshot: {old}" in message
    assert files_in(tmp_path) == before


def test_a_catalog_from_a_newer_release_is_refused_untouched(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.duckdb"
    filled_catalog(catalog)
    con = duckdb.connect(str(writer_path_for(catalog)))
    con.execute("INSERT INTO _migrations VALUES ('m999_from_the_future', now())")
    con.close()
    before = files_in(tmp_path)

    for command in (["grade"], ["scan", "--source", str(tmp_path / "none")]):
        result = CliRunner().invoke(app, [*command, "--catalog", str(catalog)])
        assert result.exit_code == 2, result.output
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and "newer version" in lines[0], result.stderr
        assert "m999_from_the_future" in lines[0]
    assert files_in(tmp_path) == before


@pytest.mark.parametrize(
    ("folder", "message"),
    [
        ("{tmp}/no/such/folder", "catalog folder does not exist"),
        ("/sys", "cannot write in the catalog folder"),
        ("{tmp}/a-file", "catalog folder does not exist"),
    ],
)
def test_a_catalog_in_a_missing_or_unwritable_folder_is_one_line_and_exit_2(
    tmp_path: Path, folder: str, message: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    path = Path(folder.replace("{tmp}", str(tmp_path))) / "catalog.duckdb"
    before = files_in(tmp_path)

    result = CliRunner().invoke(app, ["grade", "--catalog", str(path)])
    scan = CliRunner().invoke(app, ["scan", "--source", str(tmp_path), "--catalog", str(path)])

    for outcome in (result, scan):
        assert outcome.exit_code == 2, outcome.output
        lines = outcome.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), outcome.stderr
    assert "not found" in result.stderr  # grade never creates a catalog
    assert message in scan.stderr
    assert files_in(tmp_path) == before
    with pytest.raises(CatalogError, match=message):
        Catalog(path)

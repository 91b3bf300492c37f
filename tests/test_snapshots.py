"""Publishing and restoring the catalog (labels/snapshots.py), one function at a time on small
real DuckDB files: cheap enough for the mutation run (docs/mutants.md) to run per mutant.
tests/test_catalog_publishing.py checks the same through the catalog, the CLI and readers in
other processes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from labels.snapshots import (
    DEFAULT_KEEP_SNAPSHOTS,
    SnapshotError,
    _fsync_folder,
    _process_alive,
    check_every_row,
    copy_atomically,
    default_keep_snapshots,
    is_good_catalog_file,
    list_snapshots,
    newest_good_snapshot,
    remove_stale_temp_files,
    snapshot_dir_for,
    take_snapshot,
    writer_path_for,
)

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def good_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A DuckDB file with two tables, big enough that a block in its middle holds rows."""
    path = tmp_path_factory.mktemp("db") / "good.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT range AS i, md5(range::VARCHAR) AS s FROM range(60000)")
    con.execute("CREATE SCHEMA other")
    con.execute("CREATE TABLE other.u AS SELECT 1 AS x")
    con.close()
    return path.read_bytes()


def a_block_overwritten(data: bytes) -> bytes:
    """The file with one block of rows overwritten: it opens, and its row counts (from
    metadata) still answer, but reading the rows fails the block's checksum."""
    second_block = 3 * 4096 + 256 * 1024  # after the three headers, the first block of rows
    return data[:second_block] + b"\x01" * 4096 + data[second_block + 4096 :]


def test_the_writer_and_snapshot_paths_sit_beside_the_published_file() -> None:
    assert writer_path_for(Path("/d/catalog.duckdb")) == Path("/d/catalog.writer.duckdb")
    assert writer_path_for(Path("/d/labels.db")) == Path("/d/labels.writer.db")
    assert writer_path_for(Path("/d/catalog")) == Path("/d/catalog.writer.duckdb")
    assert snapshot_dir_for(Path("/d/catalog.duckdb")) == Path("/d/catalog.snapshots")


@pytest.mark.parametrize(("text", "keep"), [(None, 7), ("", 7), ("0", 0), ("3", 3), (" 12", 12)])
def test_how_many_snapshots_to_keep(monkeypatch, text: str | None, keep: int) -> None:
    monkeypatch.delenv("LABELER_KEEP_SNAPSHOTS", raising=False)
    if text is not None:
        monkeypatch.setenv("LABELER_KEEP_SNAPSHOTS", text)
    assert default_keep_snapshots() == keep
    assert DEFAULT_KEEP_SNAPSHOTS == 7


@pytest.mark.parametrize("text", ["-1", "many", "2.5"])
def test_a_bad_number_of_snapshots_to_keep_is_one_line(monkeypatch, text: str) -> None:
    monkeypatch.setenv("LABELER_KEEP_SNAPSHOTS", text)
    with pytest.raises(SnapshotError) as refused:
        default_keep_snapshots()
    assert str(refused.value) == (
        f"LABELER_KEEP_SNAPSHOTS must be a whole number >= 0, not {text!r}"
    )


# -- publishing ------------------------------------------------------------------------------


def test_a_copy_replaces_the_target_whole_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    tmp_path = tmp_path / "folder"
    tmp_path.mkdir()
    source, target = tmp_path / "writer.duckdb", tmp_path / "catalog.duckdb"
    data = os.urandom(3 * (1 << 20) + 17)  # more than one chunk of the copy
    source.write_bytes(data)
    target.write_bytes(b"the previous file")
    assert copy_atomically(source, target) == len(data)
    assert target.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.duckdb", "writer.duckdb"]


def test_a_failed_copy_removes_its_temporary_file_and_keeps_the_target(tmp_path: Path) -> None:
    tmp_path = tmp_path / "folder"
    tmp_path.mkdir()
    source = tmp_path / "writer.duckdb"
    source.write_bytes(b"new bytes")
    target = tmp_path / "catalog.duckdb"
    target.mkdir()  # a folder that is not empty cannot be replaced by a file
    (target / "inside").write_text("kept")
    with pytest.raises(OSError):
        copy_atomically(source, target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog.duckdb", "writer.duckdb"]
    assert (target / "inside").read_text() == "kept"
    with pytest.raises(FileNotFoundError):
        copy_atomically(tmp_path / "missing.duckdb", tmp_path / "other.duckdb")
    assert not (tmp_path / "other.duckdb").exists()


def test_the_temporary_name_carries_the_publishers_pid(tmp_path: Path) -> None:
    # a publisher killed mid-copy leaves `.<name>.publish-<pid>.tmp`: the next one removes it
    # only when that process is gone (a live publisher's copy is left alone)
    folder = tmp_path / "folder"
    folder.mkdir()
    dead = _a_dead_pid()
    # many stale copies, so that some are listed after the live ones whatever the order
    stale = [folder / f".catalog.duckdb.publish-{dead + i}.tmp" for i in range(12)]
    stale.append(folder / ".catalog.duckdb.publish-notapid.tmp")
    live = [
        folder / f".catalog.duckdb.publish-{os.getpid()}.tmp",
        # the infix twice: the pid is what follows the last one
        folder / f".notes.publish-1.duckdb.publish-{os.getpid()}.tmp",
    ]
    unrelated = [folder / "catalog.duckdb", folder / f"catalog.duckdb.publish-{dead}.tmp"]
    for path in [*stale, *live, *unrelated]:
        path.write_bytes(b"x")
    stuck = folder / f".stuck.duckdb.publish-{dead}.tmp"
    stuck.mkdir()  # cannot be unlinked: left, and no error
    remove_stale_temp_files(folder)
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in [*live, *unrelated, stuck])


def test_a_process_is_alive_until_it_has_exited() -> None:
    assert _process_alive(os.getpid())
    # a child of this test (never the test's parent, mutmut's fork server) that reports
    # every signal it gets: asking whether it is alive must send none
    child = subprocess.Popen(
        [sys.executable, "-c", _SIGNAL_REPORTER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline() == "ready\n"
        assert _process_alive(child.pid)
        out, _ = child.communicate("")  # its stdin closes: it exits, after any handler ran
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert out == "" and child.returncode == 0
    assert not _process_alive(_a_dead_pid())


_SIGNAL_REPORTER = """
import signal, sys
for number in range(1, signal.NSIG):
    if number not in (signal.SIGKILL, signal.SIGSTOP):
        try:
            signal.signal(number, lambda n, _f: print(f"signal {n}", flush=True))
        except (OSError, ValueError):
            pass
print("ready", flush=True)
sys.stdin.read()
"""


def test_fsyncing_a_folder_that_cannot_be_opened_is_no_error(tmp_path: Path) -> None:
    _fsync_folder(tmp_path / "missing")
    _fsync_folder(tmp_path)


def _a_dead_pid() -> int:
    """A pid no process can have (above the kernel's largest): signalling it reaches none."""
    return int(Path("/proc/sys/kernel/pid_max").read_text()) + 1


# -- good files and snapshots ------------------------------------------------------------------


def test_a_good_file_reads_every_row_and_a_damaged_one_does_not(tmp_path, good_bytes) -> None:
    good, damaged, garbage = (tmp_path / f"{n}.duckdb" for n in ("good", "damaged", "garbage"))
    good.write_bytes(good_bytes)
    damaged.write_bytes(a_block_overwritten(good_bytes))
    garbage.write_bytes(b"\x00junk" * 999)
    assert is_good_catalog_file(good)
    assert not is_good_catalog_file(damaged)  # it opens: only reading every row finds it
    assert not is_good_catalog_file(garbage)
    assert not is_good_catalog_file(tmp_path / "missing.duckdb")
    assert not (tmp_path / "missing.duckdb").exists()  # looking never creates a file

    con = duckdb.connect(str(damaged), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM t").fetchone() == (60000,)
        with pytest.raises(duckdb.Error, match="checksum"):
            check_every_row(con)
    finally:
        con.close()
    # a file opened for reading is closed again: it can be opened for writing at once
    duckdb.connect(str(good)).close()


def test_every_table_of_every_schema_is_read(tmp_path: Path, good_bytes) -> None:
    path = tmp_path / "good.duckdb"
    path.write_bytes(good_bytes)
    con = duckdb.connect(str(path))
    try:
        check_every_row(con)
        con.execute("ATTACH ':memory:' AS elsewhere")
        con.execute("CREATE TABLE elsewhere.v AS SELECT 1 AS y")
        con.execute("DROP TABLE other.u")
        con.execute("CREATE TABLE other.u (x INTEGER CHECK (x > 0))")
        check_every_row(con)  # only the file's own database: the attached one is not read
    finally:
        con.close()


def test_snapshots_are_listed_newest_first_and_other_files_ignored(tmp_path: Path) -> None:
    published = tmp_path / "catalog.duckdb"
    assert list_snapshots(published) == []  # no snapshot folder yet
    folder = snapshot_dir_for(published)
    folder.mkdir()
    names = [
        "catalog-20261101T030000000000Z.duckdb",
        "catalog-20261103T030000000000Z.duckdb",
        "catalog-20261102T030000000000Z.duckdb",
    ]
    for name in [
        *names,
        "catalog-notastamp.duckdb",
        "catalog-20261104T030000000000Z.parquet",
        "other-20261105T030000000000Z.duckdb",
        "catalog-20261106T030000000000Z-copy.duckdb",
    ]:
        (folder / name).write_bytes(b"x")
    assert [p.name for p in list_snapshots(published)] == sorted(names, reverse=True)


def test_snapshots_are_taken_dated_and_rotated(tmp_path: Path, good_bytes) -> None:
    published = tmp_path / "catalog.duckdb"
    published.write_bytes(good_bytes)
    taken = [take_snapshot(published, 3, now=T0 + timedelta(days=day)) for day in range(5)]
    assert [p.name for p in list_snapshots(published)] == [
        "catalog-20261127T030000000000Z.duckdb",
        "catalog-20261126T030000000000Z.duckdb",
        "catalog-20261125T030000000000Z.duckdb",
    ]
    assert taken[4] == snapshot_dir_for(published) / "catalog-20261127T030000000000Z.duckdb"
    assert not taken[0].exists() and not taken[1].exists()
    assert taken[4].read_bytes() == good_bytes
    assert take_snapshot(published, 1, now=T0 + timedelta(days=9)).name.startswith(
        "catalog-20261202T"
    )
    assert len(list_snapshots(published)) == 1
    # an old "snapshot" that cannot be removed (a folder) is left, and the new one is taken
    stuck = snapshot_dir_for(published) / "catalog-20200101T000000000000Z.duckdb"
    stuck.mkdir()
    (stuck / "inside").write_bytes(b"x")
    newest = take_snapshot(published, 1, now=T0 + timedelta(days=10))
    assert list_snapshots(published) == [newest, stuck]


def test_a_snapshot_is_named_for_the_time_it_was_taken(tmp_path: Path, monkeypatch) -> None:
    published = tmp_path / "catalog.duckdb"
    published.write_bytes(b"x")
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # 9 h off UTC: a local time would show
    time.tzset()
    before = datetime.now(UTC).replace(microsecond=0)
    path = take_snapshot(published, 2)
    after = datetime.now(UTC)
    stamp = re.fullmatch(r"catalog-(\d{8}T\d{12})Z\.duckdb", path.name)
    assert stamp is not None
    moment = datetime.strptime(stamp.group(1), "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)
    assert before <= moment <= after


@pytest.fixture(autouse=True)
def _restore_the_time_zone():
    yield
    time.tzset()  # after monkeypatch has put TZ back


@pytest.mark.parametrize("keep", [0, -1])
def test_keeping_no_snapshot_takes_none_and_removes_none(tmp_path: Path, keep: int) -> None:
    published = tmp_path / "catalog.duckdb"
    assert take_snapshot(published, keep) is None  # not even a missing file is an error
    assert not snapshot_dir_for(published).exists()
    published.write_bytes(b"x")
    kept = take_snapshot(published, 1, now=T0)
    assert take_snapshot(published, keep) is None and list_snapshots(published) == [kept]


def test_no_published_catalog_is_no_snapshot(tmp_path: Path) -> None:
    published = tmp_path / "catalog.duckdb"
    with pytest.raises(SnapshotError) as refused:
        take_snapshot(published, 3)
    assert str(refused.value) == f"no published catalog to snapshot: {published}"
    published.mkdir()
    with pytest.raises(SnapshotError):
        take_snapshot(published, 3)


def test_the_newest_good_copy_skips_damaged_snapshots(tmp_path: Path, good_bytes) -> None:
    published = tmp_path / "catalog.duckdb"
    assert newest_good_snapshot(published) is None
    assert newest_good_snapshot(published, include_published=True) is None
    published.write_bytes(good_bytes)
    assert newest_good_snapshot(published) is None  # the published file is not a snapshot
    assert newest_good_snapshot(published, include_published=True) == published
    old = take_snapshot(published, 5, now=T0)
    new = take_snapshot(published, 5, now=T0 + timedelta(days=1))
    assert newest_good_snapshot(published) == new
    new.write_bytes(a_block_overwritten(good_bytes))
    assert newest_good_snapshot(published) == old
    published.write_bytes(b"\x00junk" * 999)
    assert newest_good_snapshot(published, include_published=True) == old

"""Publish the writer's catalog file for readers, keep dated snapshots, find a good one.

DuckDB lets one process open a file for writing, and while it does, no other process can
open that file at all, not even read-only. So the writer never writes the file that scripts
read: it works on a private file beside it (`catalog.writer.duckdb`) and, after each
committed transaction, copies that file whole to a temporary name in the same folder,
fsyncs it and renames it over `catalog.duckdb`. A rename is atomic: a reader opens either
the previous published file or the new one, never half of one, and a reader that holds the
previous file keeps reading it undisturbed. Every published file is immutable, so copying
it again (a dated snapshot) needs no lock either.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from labels.errors import LabelerError

DEFAULT_KEEP_SNAPSHOTS = 7
_TEMP_INFIX = ".publish-"
_SNAPSHOT_STAMP = re.compile(r"-(\d{8}T\d{6}\d{6}Z)$")


class SnapshotError(LabelerError):
    """A snapshot option or file is unusable; the message says why in one line."""


def writer_path_for(published: Path) -> Path:
    """The writer's private file beside the published one: `catalog.writer.duckdb`."""
    return published.with_name(f"{published.stem}.writer{published.suffix or '.duckdb'}")


def snapshot_dir_for(published: Path) -> Path:
    """Where dated snapshots of `published` are kept: `catalog.snapshots/` beside it."""
    return published.with_name(f"{published.stem}.snapshots")


def default_keep_snapshots() -> int:
    """`LABELER_KEEP_SNAPSHOTS` if set, else 7: how many snapshots the schedule keeps."""
    text = os.environ.get("LABELER_KEEP_SNAPSHOTS")
    if not text:
        return DEFAULT_KEEP_SNAPSHOTS
    try:
        keep = int(text)
    except ValueError:
        keep = -1
    if keep < 0:
        raise SnapshotError(f"LABELER_KEEP_SNAPSHOTS must be a whole number >= 0, not {text!r}")
    return keep


def copy_atomically(source: Path, target: Path) -> int:
    """Copy `source` to `target` so that `target` is always either the old or the new file.

    The bytes go to a temporary file in the target's folder, are fsynced, and the file is
    renamed into place; the folder is fsynced too so that the rename survives a power cut.
    Returns the number of bytes copied.
    """
    temp = target.with_name(f".{target.name}{_TEMP_INFIX}{os.getpid()}.tmp")
    try:
        with source.open("rb") as reader, temp.open("wb") as writer:
            shutil.copyfileobj(reader, writer, length=1 << 20)
            writer.flush()
            os.fsync(writer.fileno())
            size = writer.tell()
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _fsync_folder(target.parent)
    return size


def remove_stale_temp_files(folder: Path) -> None:
    """Temporary copies left by a publisher that was killed (its process is gone)."""
    for temp in folder.glob(f".*{_TEMP_INFIX}*.tmp"):
        pid_text = temp.name.rsplit(_TEMP_INFIX, 1)[-1].removesuffix(".tmp")
        if pid_text.isdigit() and _process_alive(int(pid_text)):
            continue
        with contextlib.suppress(OSError):
            temp.unlink()


def is_good_catalog_file(path: Path) -> bool:
    """True when `path` opens as DuckDB and every row of every table reads back.

    Opening alone is not enough: DuckDB reads table blocks lazily, so a truncated file
    opens and answers `count(*)` from metadata; hashing every row reads every block and
    checks its checksum.
    """
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return False
    try:
        check_every_row(con)
    except duckdb.Error:
        return False
    finally:
        con.close()
    return True


def check_every_row(con: duckdb.DuckDBPyConnection) -> None:
    """Read every row of every table on `con`; raises duckdb.Error on a damaged block."""
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = "
        "current_database()"
    ).fetchall()
    for schema, table in tables:
        con.execute(f'SELECT count(hash(t)) FROM "{schema}"."{table}" AS t').fetchone()


def list_snapshots(published: Path) -> list[Path]:
    """The snapshots of `published`, newest first."""
    folder = snapshot_dir_for(published)
    if not folder.is_dir():
        return []
    found = [
        path
        for path in folder.glob(f"{published.stem}-*{published.suffix}")
        if _SNAPSHOT_STAMP.search(path.stem)
    ]
    return sorted(found, key=lambda path: path.stem, reverse=True)


def newest_good_snapshot(published: Path, *, include_published: bool = False) -> Path | None:
    """The newest file a damaged catalog can be restored from, or None.

    With `include_published`, the published file itself counts (it is the newest copy when
    the writer's private file is the damaged one).
    """
    candidates = [published] if include_published and published.exists() else []
    for candidate in [*candidates, *list_snapshots(published)]:
        if is_good_catalog_file(candidate):
            return candidate
    return None


def take_snapshot(published: Path, keep: int, *, now: datetime | None = None) -> Path | None:
    """Copy the published catalog to `catalog.snapshots/catalog-<UTC time>.duckdb`.

    Keeps the newest `keep` snapshots and removes older ones; `keep=0` takes none and
    removes none. The published file is never written in place, so the copy needs no lock.
    """
    if keep <= 0:
        return None
    if not published.is_file():
        raise SnapshotError(f"no published catalog to snapshot: {published}")
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    folder = snapshot_dir_for(published)
    folder.mkdir(exist_ok=True)
    target = folder / f"{published.stem}-{moment}{published.suffix}"
    copy_atomically(published, target)
    for old in list_snapshots(published)[keep:]:
        with contextlib.suppress(OSError):
            old.unlink()
    return target


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # some filesystems refuse to open a folder: the rename still happened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

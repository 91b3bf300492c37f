"""Read and write the DuckDB catalog; readers never meet the writer's lock.

DuckDB lets one process open a file for writing, and while it does, no other process can
open that file at all. So the catalog is two files: the writer's private file
(`catalog.writer.duckdb`), which scans and grading write in short transactions, and the
published file (`catalog.duckdb`), a whole copy of it renamed into place after every
committed transaction (see `labels.snapshots`). Scripts, `labeler sql`, the site and the
exports read the published file, which no process ever holds for writing, so a read-only
open never fails on a lock. A scan killed at any point leaves only whole models in the
writer's file, and the published file is always the last whole copy.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from labels.errors import LabelerError, first_line
from labels.latest_label import LatestLabel, latest_label_from_row
from labels.migrations import migrate, unknown_migrations
from labels.records import (
    HardwareRecord,
    LabelRecord,
    ModelRecord,
    RunRecord,
    RunResult,
    WindowRecord,
)
from labels.snapshots import (
    check_every_row,
    copy_atomically,
    newest_good_snapshot,
    remove_stale_temp_files,
    writer_path_for,
)
from labels.timestamps import utc_now

DEFAULT_CATALOG = Path("build") / "catalog.duckdb"
DEFAULT_LOCK_TIMEOUT_S = 15.0
R = TypeVar("R")


class CatalogError(LabelerError):
    """The catalog cannot be opened or used; the message says why in one line."""


class CatalogLockedError(CatalogError):
    """Another process holds the catalog file for longer than we were willing to wait."""


class CatalogCorruptError(CatalogError):
    """A catalog file is damaged; the message names the newest good snapshot."""


@dataclass(frozen=True)
class Publication:
    """One copy of the writer's file published for readers (times are Unix seconds)."""

    committed_at_s: float  # the transaction's COMMIT returned
    published_at_s: float  # the new file was renamed into place
    size_bytes: int


def default_catalog_path() -> Path:
    """`LABELER_CATALOG` if set, else `build/catalog.duckdb`."""
    return Path(os.environ.get("LABELER_CATALOG") or DEFAULT_CATALOG)


def default_lock_timeout_s() -> float:
    """`LABELER_LOCK_TIMEOUT_S` if set, else 15 s: how long to wait for another writer."""
    text = os.environ.get("LABELER_LOCK_TIMEOUT_S")
    if not text:
        return DEFAULT_LOCK_TIMEOUT_S
    try:
        return max(float(text), 0.0)
    except ValueError:
        raise CatalogError(
            f"LABELER_LOCK_TIMEOUT_S must be a number of seconds, not {text!r}"
        ) from None


def check_catalog_folder(path: Path) -> None:
    """A writer's folder must exist (only the default `build/` is created) and be writable.

    The CLI calls this before discovery, so a bad `--catalog` fails before any download.
    """
    folder = path.parent
    if not folder.exists() and path == DEFAULT_CATALOG:
        folder.mkdir(parents=True, exist_ok=True)
    if not folder.is_dir():
        raise CatalogError(f"catalog folder does not exist: {folder} (create it first)")
    probe = folder / f".{path.name}.probe-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise CatalogError(
            f"cannot write in the catalog folder {folder}: {exc.strerror or exc}"
        ) from None


def catalog_exists(path: Path) -> bool:
    """True when the published file or the writer's file is there."""
    return path.exists() or writer_path_for(path).exists()


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]


def _columns(record_type: type) -> list[str]:
    return [f.name for f in dataclasses.fields(record_type)]


def _values(record: Any) -> list[Any]:
    return [getattr(record, name) for name in _columns(type(record))]


def _records(cursor: duckdb.DuckDBPyConnection, record_type: type[R]) -> list[R]:
    names = [d[0] for d in cursor.description]
    wanted = set(_columns(record_type))
    return [
        record_type(**{k: v for k, v in zip(names, row, strict=True) if k in wanted})
        for row in cursor.fetchall()
    ]


class Catalog:
    """The catalog published at `path`; its writer's private file lies beside it.

    A writer (`read_only=False`) opens the private file, refuses a file made by a newer
    release, checks every row, runs pending migrations and publishes. Every read method
    reads the published file. `create=False` refuses to make a new catalog: readers such as
    `labeler grade` then fail with a clear message instead of grading an empty catalog.
    `on_publish` is called after each publication (the reliability benchmark times them).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        create: bool = True,
        read_only: bool = False,
        lock_timeout_s: float | None = None,
        on_publish: Callable[[Publication], None] | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else default_catalog_path()
        self.writer_path = writer_path_for(self.path)
        self.read_only = read_only
        self.on_publish = on_publish
        self.lock_timeout_s = (
            lock_timeout_s if lock_timeout_s is not None else default_lock_timeout_s()
        )
        if self.path.is_dir():
            raise CatalogError(f"catalog path is a directory, not a DuckDB file: {self.path}")
        if read_only:
            if not self.path.exists():
                raise CatalogError(f"catalog not found: {self.path} (run `labeler scan` first)")
            return
        if not self.writer_path.exists() and not self.path.exists() and not create:
            raise CatalogError(f"catalog not found: {self.path} (run `labeler scan` first)")
        check_catalog_folder(self.path)
        remove_stale_temp_files(self.path.parent)
        if self.writer_path.exists():
            self._check_file(self.writer_path)  # read-only: a refused file is not touched
        elif self.path.exists():
            self._adopt_published_file()
        with self._connect_with_retry(self.writer_path, read_only=False) as con:
            migrate(con)
            self._publish(con, time.time())

    def _check_file(self, path: Path) -> None:
        """Refuse a damaged file, or one written by a newer release, opening it read-only."""
        with self._connect_with_retry(path, read_only=True) as con:
            try:
                newer = unknown_migrations(con)
                check_every_row(con)
            except duckdb.Error as exc:
                raise self._corrupt(path, exc) from None
        if newer:
            raise CatalogError(
                f"catalog {path} was written by a newer version of this project "
                f"(unknown migration {newer[0]!r}): upgrade to use it; nothing was changed"
            )

    def _adopt_published_file(self) -> None:
        """A catalog from before the writer's private file: copy it whole to that file.

        Nothing is written when the file is damaged or comes from a newer release.
        """
        self._check_file(self.path)
        # Read-write once: a write-ahead log left beside it by an old writer is folded in.
        with self._connect_with_retry(self.path, read_only=False) as con:
            con.execute("CHECKPOINT")
            copy_atomically(self.path, self.writer_path)

    def _corrupt(self, damaged: Path, exc: BaseException) -> CatalogError:
        if not _looks_corrupt(exc):
            return CatalogError(f"cannot open catalog {damaged}: {first_line(exc)}")
        good = newest_good_snapshot(self.path, include_published=damaged != self.path)
        restore = (
            f"newest good snapshot: {good}"
            if good is not None
            else "no good snapshot to restore from"
        )
        return CatalogCorruptError(
            f"catalog {damaged} is corrupt or truncated ({first_line(exc)}); {restore}; "
            "nothing was overwritten (docs/catalog.md says how to restore)"
        )

    @contextmanager
    def _connect_with_retry(
        self, path: Path, *, read_only: bool
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection held only for the `with` block; waits a while for a lock."""
        deadline = time.monotonic() + self.lock_timeout_s
        delay_s = 0.05
        while True:
            try:
                con = duckdb.connect(str(path), read_only=read_only)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise self._corrupt(path, exc) from None
                if time.monotonic() >= deadline:
                    raise CatalogLockedError(
                        f"catalog {path} is locked by another process "
                        f"(waited {self.lock_timeout_s:.0f} s)"
                    ) from None
                time.sleep(delay_s)
                delay_s = min(delay_s * 2, 0.5)
            except duckdb.Error as exc:
                raise self._corrupt(path, exc) from None
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The writer's private file read-write, or the published file for `read_only`."""
        path = self.path if self.read_only else self.writer_path
        with self._connect_with_retry(path, read_only=self.read_only) as con:
            yield con

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The published file, read-only: what every read method and export uses."""
        with self._connect_with_retry(self.path, read_only=True) as con:
            try:
                yield con
            except duckdb.Error as exc:  # a damaged block shows only when a query reads it
                if _looks_corrupt(exc):
                    raise self._corrupt(self.path, exc) from None
                raise

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One write transaction on the writer's file, published once it commits."""
        if self.read_only:
            raise CatalogError(f"catalog {self.path} was opened read-only")
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
            self._publish(con, time.time())

    def publish(self) -> Publication:
        """Copy the writer's file to the published path now (each write already does)."""
        with self.connect() as con:
            return self._publish(con, time.time())

    def _publish(self, con: duckdb.DuckDBPyConnection, committed_at_s: float) -> Publication:
        # The checkpoint folds the write-ahead log into the file; holding `con` keeps any
        # other writer out while the bytes are copied, so the copy is one consistent state.
        con.execute("CHECKPOINT")
        try:
            size = copy_atomically(self.writer_path, self.path)
        except OSError as exc:
            raise CatalogError(f"cannot publish catalog {self.path}: {exc}") from None
        publication = Publication(committed_at_s, time.time(), size)
        if self.on_publish is not None:
            self.on_publish(publication)
        return publication

    # -- writes ---------------------------------------------------------------------------

    def upsert_model(self, model: ModelRecord) -> None:
        with self.transaction() as con:
            _upsert_model(con, model)

    def record_hardware(self, hardware: HardwareRecord) -> None:
        with self.transaction() as con:
            _record_hardware(con, hardware)

    def record_model_results(
        self,
        model: ModelRecord,
        hardware: HardwareRecord,
        results: Sequence[RunResult],
    ) -> None:
        """Write a model, its machine, and all its runs and windows in one transaction."""
        with self.transaction() as con:
            _upsert_model(con, model)
            _record_hardware(con, hardware)
            for result in results:
                _insert(con, "runs", result.run)
                for window in result.windows:
                    _insert(con, "measurements", window)

    def write_labels(self, labels: Sequence[LabelRecord]) -> None:
        with self.transaction() as con:
            for label in labels:
                con.execute(
                    "DELETE FROM labels WHERE model_id = ? AND revision = ? AND task = ? "
                    "AND hardware = ? AND scheme_version = ?",
                    [
                        label.model_id,
                        label.revision,
                        label.task,
                        label.hardware,
                        label.scheme_version,
                    ],
                )
                _insert(con, "labels", label)
                _record_history(con, label)

    # -- reads ----------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | None = None) -> QueryResult:
        with self.read() as con:
            try:
                cursor = con.execute(sql, list(params or []))
            except duckdb.Error as exc:
                if _looks_corrupt(exc):
                    raise self._corrupt(self.path, exc) from None
                raise CatalogError(f"query failed: {first_line(exc)}") from None
            if cursor.description is None:
                return QueryResult([], [])
            columns = [d[0] for d in cursor.description]
            return QueryResult(columns, cursor.fetchall())

    def measured_revisions(
        self,
        hardware_profile: str,
        harness_version: str,
        scheme_version: str,
        protocol: str = "scheme",
    ) -> set[tuple[str, str]]:
        """Every (model_id, revision) with a run under these versions, in one query.

        A rescan of thousands of unchanged models then costs one query, not one per model.
        A Hub error (a failed run whose reason starts "hub error") never reached the model,
        so it does not count: that model is tried again. Nor does a model whose newest
        baseline was contended (a busy host): it is measured again in a later scan.
        """
        with self.read() as con:
            rows = con.execute(
                "SELECT model_id, revision FROM runs WHERE hardware_profile = ? "
                "AND harness_version = ? AND scheme_version = ? AND protocol = ? "
                "AND NOT (status = 'failed' AND starts_with(coalesce(reason, ''), 'hub error')) "
                "GROUP BY model_id, revision "
                "HAVING NOT coalesce(arg_max(contended, finished_at) "
                "FILTER (WHERE variant = 'baseline'), false)",
                [hardware_profile, harness_version, scheme_version, protocol],
            ).fetchall()
        return {(model_id, revision) for model_id, revision in rows}

    def models(self) -> list[ModelRecord]:
        with self.read() as con:
            return _records(con.execute("SELECT * FROM models ORDER BY model_id"), ModelRecord)

    def model(self, model_id: str, revision: str) -> ModelRecord | None:
        with self.read() as con:
            found = _records(
                con.execute(
                    "SELECT * FROM models WHERE model_id = ? AND revision = ?",
                    [model_id, revision],
                ),
                ModelRecord,
            )
        return found[0] if found else None

    def hardware(self, fingerprint: str) -> HardwareRecord | None:
        with self.read() as con:
            found = _records(
                con.execute("SELECT * FROM hardware WHERE fingerprint = ?", [fingerprint]),
                HardwareRecord,
            )
        return found[0] if found else None

    def latest_runs(
        self,
        model_id: str | None = None,
        revision: str | None = None,
        task: str | None = None,
        hardware_profile: str | None = None,
        protocol: str = "scheme",
    ) -> list[RunRecord]:
        """The newest run per (model, revision, task, hardware, variant), filtered.

        Only runs of one `protocol`: the scheme's by default, the ones grading reads.
        """
        where, params = _filters(
            model_id=model_id,
            revision=revision,
            task=task,
            hardware_profile=hardware_profile,
            protocol=protocol,
        )
        with self.read() as con:
            return _records(
                con.execute(
                    f"SELECT * FROM latest_runs {where} "
                    "ORDER BY model_id, task, hardware_profile, variant = 'baseline' DESC, variant",
                    params,
                ),
                RunRecord,
            )

    def windows(self, run_id: str) -> list[WindowRecord]:
        with self.read() as con:
            return _records(
                con.execute(
                    "SELECT * FROM measurements WHERE run_id = ? ORDER BY window_index", [run_id]
                ),
                WindowRecord,
            )

    def label_history(
        self, model_id: str, task: str, hardware: str, scheme_version: str
    ) -> list[dict[str, Any]]:
        """The published grade of one (model, task, hardware) per measurement, oldest first."""
        result = self.query(
            "SELECT * FROM label_history WHERE model_id = ? AND task = ? AND hardware = ? "
            "AND scheme_version = ? ORDER BY measured_at",
            [model_id, task, hardware, scheme_version],
        )
        return [dict(zip(result.columns, row, strict=True)) for row in result.rows]

    def latest_labels(self) -> list[LatestLabel]:
        """The `latest_labels` view, typed, ordered by task, hardware and model."""
        result = self.query("SELECT * FROM latest_labels ORDER BY task, hardware, model_id")
        return [latest_label_from_row(result.columns, row) for row in result.rows]

    def latest_label(self, model_id: str, hardware: str | None = None) -> LatestLabel | None:
        """One model's newest label, on `hardware` when given, in one query.

        A model graded for several tasks or hardware profiles has several; the first in the
        order of `latest_labels()` (task, then hardware) is returned, as readers always had.
        """
        where, params = _filters(model_id=model_id, hardware=hardware)
        result = self.query(
            f"SELECT * FROM latest_labels {where} ORDER BY task, hardware LIMIT 1", params
        )
        return latest_label_from_row(result.columns, result.rows[0]) if result.rows else None


def export_parquet(catalog: Catalog, out: str | Path, view: str = "latest_labels") -> Path:
    """Write a snapshot of a view (default `latest_labels`) as Parquet for readers elsewhere."""
    return _export(catalog, out, view, "(FORMAT parquet)")


def export_csv(catalog: Catalog, out: str | Path, view: str = "latest_labels") -> Path:
    return _export(catalog, out, view, "(HEADER, DELIMITER ',')")


def _export(catalog: Catalog, out: str | Path, view: str, options: str) -> Path:
    if view not in {"latest_labels", "latest_runs", "failures", "models", "runs", "labels"}:
        raise CatalogError(f"cannot export unknown view {view!r}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    escaped = str(out).replace("'", "''")
    with catalog.read() as con:
        # in one order, so an unchanged catalog writes the same file (a scan of a view on
        # several threads returns its rows in any order)
        con.execute(f"COPY (SELECT * FROM {view} ORDER BY ALL) TO '{escaped}' {options}")
    return out


def _insert(con: duckdb.DuckDBPyConnection, table: str, record: Any) -> None:
    columns = _columns(type(record))
    placeholders = ", ".join("?" for _ in columns)
    con.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", _values(record)
    )


def _record_history(con: duckdb.DuckDBPyConnection, label: LabelRecord) -> None:
    """One history row per measurement: grading the same measurement again replaces it."""
    con.execute(
        "INSERT OR REPLACE INTO label_history (model_id, revision, task, hardware, "
        "scheme_version, grade, measured_grade, eei, eei_low, eei_high, borderline, "
        "measured_at, graded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            label.model_id,
            label.revision,
            label.task,
            label.hardware,
            label.scheme_version,
            label.grade,
            label.measured_grade,
            label.eei,
            label.eei_low,
            label.eei_high,
            label.borderline,
            label.measured_at,
            label.graded_at,
        ],
    )


def _upsert_model(con: duckdb.DuckDBPyConnection, model: ModelRecord) -> None:
    columns = _columns(ModelRecord)
    now = utc_now()
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in ("model_id", "revision"))
    con.execute(
        f"INSERT INTO models ({', '.join(columns)}, first_seen_at, last_seen_at) "
        f"VALUES ({', '.join('?' for _ in columns)}, ?, ?) "
        f"ON CONFLICT (model_id, revision) DO UPDATE SET {updates}, "
        "last_seen_at = excluded.last_seen_at",
        [*_values(model), now, now],
    )


def _record_hardware(con: duckdb.DuckDBPyConnection, hardware: HardwareRecord) -> None:
    columns = _columns(HardwareRecord)
    con.execute(
        f"INSERT INTO hardware ({', '.join(columns)}, first_seen_at) "
        f"VALUES ({', '.join('?' for _ in columns)}, ?) ON CONFLICT DO NOTHING",
        [*_values(hardware), utc_now()],
    )


def _filters(**conditions: Any) -> tuple[str, list[Any]]:
    parts = [f"{name} = ?" for name, value in conditions.items() if value is not None]
    params = [value for value in conditions.values() if value is not None]
    return ("WHERE " + " AND ".join(parts) if parts else ""), params


_CORRUPTION_SIGNS = (
    "not a valid duckdb",
    "could not read enough bytes",
    "corrupt",
    "checksum",
    "serializ",
    "invalid block",
)


def _looks_corrupt(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(sign in text for sign in _CORRUPTION_SIGNS)

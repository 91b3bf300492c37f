"""Read and write the DuckDB catalog in short transactions.

DuckDB lets one process hold a file for writing at a time, so every operation opens the
file, does its work in one transaction and closes it again. A user's script can read the
catalog between those transactions, and a scan killed at any point leaves only whole models.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from labels.migrations import migrate
from labels.records import (
    HardwareRecord,
    LabelRecord,
    ModelRecord,
    RunRecord,
    RunResult,
    WindowRecord,
)

DEFAULT_CATALOG = Path("build") / "catalog.duckdb"
DEFAULT_LOCK_TIMEOUT_S = 15.0
R = TypeVar("R")


class CatalogError(Exception):
    """The catalog cannot be opened or used; the message says why in one line."""


class CatalogLockedError(CatalogError):
    """Another process holds the catalog file for longer than we were willing to wait."""


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


def utc_now() -> datetime:
    """Naive UTC, which is how the catalog stores every timestamp."""
    return datetime.now(UTC).replace(tzinfo=None)


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
    """The catalog at `path`. Opening it runs any pending migrations.

    `create=False` refuses to make a new file: readers such as `labeler grade` then fail
    with a clear message instead of silently grading an empty catalog.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        create: bool = True,
        read_only: bool = False,
        lock_timeout_s: float | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else default_catalog_path()
        self.read_only = read_only
        self.lock_timeout_s = (
            lock_timeout_s if lock_timeout_s is not None else default_lock_timeout_s()
        )
        if self.path.is_dir():
            raise CatalogError(f"catalog path is a directory, not a DuckDB file: {self.path}")
        if not self.path.exists():
            if not create or read_only:
                raise CatalogError(f"catalog not found: {self.path} (run `labeler scan` first)")
            self.path.parent.mkdir(parents=True, exist_ok=True)
        if not read_only:
            with self.connect() as con:
                migrate(con)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection held only for the `with` block; waits a while for a lock."""
        deadline = time.monotonic() + self.lock_timeout_s
        delay_s = 0.05
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=self.read_only)
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise CatalogError(
                        f"cannot open catalog {self.path}: {_first_line(exc)}"
                    ) from None
                if time.monotonic() >= deadline:
                    raise CatalogLockedError(
                        f"catalog {self.path} is locked by another process "
                        f"(waited {self.lock_timeout_s:.0f} s)"
                    ) from None
                time.sleep(delay_s)
                delay_s = min(delay_s * 2, 0.5)
            except duckdb.Error as exc:
                raise CatalogError(f"cannot open catalog {self.path}: {_first_line(exc)}") from None
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.connect() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

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

    # -- reads ----------------------------------------------------------------------------

    def query(self, sql: str, params: Sequence[Any] | None = None) -> QueryResult:
        with self.connect() as con:
            try:
                cursor = con.execute(sql, list(params or []))
            except duckdb.Error as exc:
                raise CatalogError(f"query failed: {_first_line(exc)}") from None
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
        so it does not count: that model is tried again.
        """
        with self.connect() as con:
            rows = con.execute(
                "SELECT DISTINCT model_id, revision FROM runs WHERE hardware_profile = ? "
                "AND harness_version = ? AND scheme_version = ? AND protocol = ? "
                "AND NOT (status = 'failed' AND starts_with(coalesce(reason, ''), 'hub error'))",
                [hardware_profile, harness_version, scheme_version, protocol],
            ).fetchall()
        return {(model_id, revision) for model_id, revision in rows}

    def models(self) -> list[ModelRecord]:
        with self.connect() as con:
            return _records(con.execute("SELECT * FROM models ORDER BY model_id"), ModelRecord)

    def model(self, model_id: str, revision: str) -> ModelRecord | None:
        with self.connect() as con:
            found = _records(
                con.execute(
                    "SELECT * FROM models WHERE model_id = ? AND revision = ?",
                    [model_id, revision],
                ),
                ModelRecord,
            )
        return found[0] if found else None

    def hardware(self, fingerprint: str) -> HardwareRecord | None:
        with self.connect() as con:
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
        with self.connect() as con:
            return _records(
                con.execute(
                    f"SELECT * FROM latest_runs {where} "
                    "ORDER BY model_id, task, hardware_profile, variant = 'baseline' DESC, variant",
                    params,
                ),
                RunRecord,
            )

    def windows(self, run_id: str) -> list[WindowRecord]:
        with self.connect() as con:
            return _records(
                con.execute(
                    "SELECT * FROM measurements WHERE run_id = ? ORDER BY window_index", [run_id]
                ),
                WindowRecord,
            )

    def latest_labels(self) -> list[dict[str, Any]]:
        result = self.query("SELECT * FROM latest_labels ORDER BY task, hardware, model_id")
        return [dict(zip(result.columns, row, strict=True)) for row in result.rows]


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
    with catalog.connect() as con:
        con.execute(f"COPY (SELECT * FROM {view}) TO '{escaped}' {options}")
    return out


def _insert(con: duckdb.DuckDBPyConnection, table: str, record: Any) -> None:
    columns = _columns(type(record))
    placeholders = ", ".join("?" for _ in columns)
    con.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", _values(record)
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

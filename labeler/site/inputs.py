"""Read what the site shows from the catalog, with as few and as light queries as it can.

A nightly build over 100,000 models must not turn every label into a Python object just to
find that one model changed. So the catalog first answers, in one query, a digest per model
of its label rows, runs and model records (DuckDB hashes the rows, in parallel, without
handing them to Python), plus the few site-wide facts the header and index need. Label rows,
runs and model records are then read only for the models, chunks and task pages being made
again; the index's first page and a task page's table read only the rows they show, and
task charts read only the run columns they plot. `read_label_rows` is the one place the
site turns label rows into `LatestLabel`s, and it counts them (`LabelReads`).
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from duckdb import DuckDBPyConnection as Connection

from labels import HardwareRecord, ModelRecord, RunRecord
from labels.latest_label import LatestLabel, latest_label_from_row
from labels.scheme import GRADES

LabelKey = tuple[str, str, str, str]  # model id, revision, task, hardware profile
_RUN_ORDER = "ORDER BY model_id, task, hardware_profile, variant = 'baseline' DESC, variant"
_RUN_COLUMNS = ", ".join(f.name for f in dataclasses.fields(RunRecord))
_MODEL_COLUMNS = ", ".join(f.name for f in dataclasses.fields(ModelRecord))
_HARDWARE_COLUMNS = ", ".join(f.name for f in dataclasses.fields(HardwareRecord))
_IN_MODELS = "model_id IN (SELECT unnest(?::VARCHAR[]))"
_LABEL_ORDER = "ORDER BY task, hardware, model_id"  # the order `Catalog.latest_labels` gives
# The index's order in SQL, as `label_sort_key` has it in Python (ties: the catalog's order).
_GRADE_RANK = (
    "CASE grade "
    + " ".join(f"WHEN '{g}' THEN {i}" for i, g in enumerate(GRADES))
    + f" ELSE {len(GRADES)} END"
)
_INDEX_ORDER = f"{_GRADE_RANK}, energy_wh_per_1k ASC NULLS LAST, model_id, task, hardware"
# One digest per labelled model: its label rows, runs and model records, each row hashed by
# DuckDB (`hash` of the whole row) and combined with XOR, so no row order is needed.
_DIGEST_SQL = """
WITH l AS (SELECT model_id, bit_xor(hash(t)) AS h FROM latest_labels t GROUP BY model_id),
     r AS (SELECT model_id, bit_xor(hash(t)) AS h FROM latest_runs t GROUP BY model_id),
     m AS (SELECT model_id, bit_xor(hash(t)) AS h FROM models t GROUP BY model_id)
SELECT l.model_id, hash(l.h, r.h, m.h)
FROM l LEFT JOIN r USING (model_id) LEFT JOIN m USING (model_id)
"""


def label_key(label: LatestLabel) -> LabelKey:
    return (label.model_id, label.revision, label.task, label.hardware)


def label_sort_key(label: LatestLabel) -> tuple[int, float, str]:
    """Best class first, then least energy, then id: the index's order."""
    grade = label.grade
    rank = GRADES.index(grade) if grade in GRADES else len(GRADES)
    energy = label.energy_wh_per_1k
    return (rank, energy if energy is not None else math.inf, label.model_id)


class ChartRun(NamedTuple):
    """The run columns a task page's scatter chart plots."""

    model_id: str
    variant: str
    status: str
    energy_wh_per_1k: float | None
    quality_value: float | None
    qualifies: bool | None


@dataclass(frozen=True)
class Baseline:
    latency_ms_p50: float | None
    size_mb: float | None


@dataclass(frozen=True)
class SiteOverview:
    """What every build reads whole: one digest per model and the site-wide facts."""

    model_digests: dict[str, int]  # model id -> digest of its labels, runs and model records
    tasks: list[str]
    hardware_profiles: list[str]
    label_count: int
    hardware: dict[str, HardwareRecord]  # by fingerprint
    hardware_digest: str


@dataclass(frozen=True)
class ModelDetails:
    """Full runs and model records of the models being rendered."""

    runs_by_label: dict[LabelKey, list[RunRecord]]
    models: dict[tuple[str, str], ModelRecord]

    def runs(self, label: LatestLabel) -> list[RunRecord]:
        return self.runs_by_label.get(label_key(label), [])


@dataclass(frozen=True)
class TaskProfile:
    """One hardware profile of a task page: its best labels and its class counts."""

    hardware: str
    labels: list[LatestLabel]  # the best `limit`, index order
    label_count: int
    grade_counts: dict[str | None, int]  # class (None: ungraded) -> labels


class LabelReads:
    """Counts the label rows a build turns into Python objects (`SiteSummary.labels_read`)."""

    def __init__(self) -> None:
        self.count = 0


def read_site_overview(con: Connection) -> SiteOverview:
    digests = dict(con.execute(_DIGEST_SQL).fetchall())
    tasks, profiles, label_count = con.execute(
        "SELECT list_sort(list(DISTINCT task)), list_sort(list(DISTINCT hardware)), count(*) "
        "FROM latest_labels"
    ).fetchone() or ([], [], 0)
    hardware = {
        row[0]: HardwareRecord(*row)
        for row in con.execute(
            f"SELECT {_HARDWARE_COLUMNS} FROM hardware WHERE fingerprint IN "
            "(SELECT DISTINCT hardware_fingerprint FROM latest_runs)"
        ).fetchall()
    }
    (hardware_digest,) = con.execute(
        "SELECT coalesce(md5(string_agg(CAST(h AS VARCHAR), '|' ORDER BY fingerprint)), '') "
        "FROM hardware h"
    ).fetchone() or ("",)
    return SiteOverview(
        digests, list(tasks or []), list(profiles or []), label_count, hardware, hardware_digest
    )


def _models_filter(model_ids: Sequence[str] | None) -> tuple[str, list[Any]]:
    """A WHERE clause for `model_ids` (None: every model) and its parameters."""
    return ("", []) if model_ids is None else (f"WHERE {_IN_MODELS}", [list(model_ids)])


def _labels(
    con: Connection, reads: LabelReads | None, sql: str, params: list[Any]
) -> list[LatestLabel]:
    cursor = con.execute(sql, params)
    columns = [d[0] for d in cursor.description]
    labels = [latest_label_from_row(columns, row) for row in cursor.fetchall()]
    if reads is not None:
        reads.count += len(labels)
    return labels


def read_label_rows(
    con: Connection, model_ids: Sequence[str] | None = None, reads: LabelReads | None = None
) -> list[LatestLabel]:
    """The `latest_labels` rows of `model_ids` (None: all), by task, hardware and model."""
    if model_ids is not None and not model_ids:
        return []
    where, params = _models_filter(model_ids)
    return _labels(con, reads, f"SELECT * FROM latest_labels {where} {_LABEL_ORDER}", params)


def read_first_labels(con: Connection, limit: int, reads: LabelReads | None) -> list[LatestLabel]:
    """The first `limit` labels in the index's order."""
    sql = f"SELECT * FROM latest_labels ORDER BY {_INDEX_ORDER} LIMIT ?"
    return sorted(_labels(con, reads, sql, [limit]), key=label_sort_key)


def read_task_profiles(
    con: Connection, task: str, limit: int, reads: LabelReads | None
) -> list[TaskProfile]:
    """Per hardware profile of `task`: the best `limit` labels, how many there are, by class."""
    best = _labels(
        con,
        reads,
        "SELECT * FROM latest_labels WHERE task = ? QUALIFY row_number() OVER "
        f"(PARTITION BY hardware ORDER BY {_INDEX_ORDER}) <= ? {_LABEL_ORDER}",
        [task, limit],
    )
    counts = con.execute(
        "SELECT hardware, grade, count(*) FROM latest_labels WHERE task = ? GROUP BY ALL", [task]
    ).fetchall()
    by_hardware: dict[str, list[LatestLabel]] = defaultdict(list)
    for label in best:
        by_hardware[label.hardware].append(label)
    grade_counts: dict[str, dict[str | None, int]] = defaultdict(dict)
    for hardware, grade, count in counts:
        grade_counts[hardware][grade] = count
    return [
        TaskProfile(
            hardware,
            sorted(by_hardware[hardware], key=label_sort_key),
            sum(grade_counts[hardware].values()),
            grade_counts[hardware],
        )
        for hardware in sorted(grade_counts)
    ]


def read_baselines(con: Connection, model_ids: Sequence[str] | None) -> dict[LabelKey, Baseline]:
    """Latency and size of the ok baseline runs of `model_ids` (None: all), for index rows."""
    also, params = ("", []) if model_ids is None else (f"AND {_IN_MODELS}", [list(model_ids)])
    return {
        (m, rev, task, hw): Baseline(latency, size)
        for m, rev, task, hw, latency, size in con.execute(
            "SELECT model_id, revision, task, hardware_profile, latency_ms_p50, size_mb "
            f"FROM latest_runs WHERE variant = 'baseline' AND status = 'ok' {also}",
            params,
        ).fetchall()
    }


def read_model_details(con: Connection, model_ids: Sequence[str] | None) -> ModelDetails:
    """Runs and model records of `model_ids` (None: every model), in two queries."""
    runs_by_label: dict[LabelKey, list[RunRecord]] = defaultdict(list)
    models: dict[tuple[str, str], ModelRecord] = {}
    if model_ids is not None and not model_ids:
        return ModelDetails({}, models)
    where, params = _models_filter(model_ids)
    for row in con.execute(
        f"SELECT {_RUN_COLUMNS} FROM latest_runs {where} {_RUN_ORDER}", params
    ).fetchall():
        run = RunRecord(*row)
        runs_by_label[(run.model_id, run.revision, run.task, run.hardware_profile)].append(run)
    for row in con.execute(f"SELECT {_MODEL_COLUMNS} FROM models {where}", params).fetchall():
        model = ModelRecord(*row)
        models[(model.model_id, model.revision)] = model
    return ModelDetails(dict(runs_by_label), models)


def read_chart_runs(con: Connection, task: str) -> dict[str, list[ChartRun]]:
    """The plotted columns of every labelled run of `task`, by hardware profile."""
    by_hardware: dict[str, list[ChartRun]] = defaultdict(list)
    rows = con.execute(
        "SELECT r.hardware_profile, r.model_id, r.variant, r.status, r.energy_wh_per_1k, "
        "r.quality_value, r.qualifies FROM latest_runs r JOIN latest_labels l "
        "ON r.model_id = l.model_id AND r.revision = l.revision AND r.task = l.task "
        "AND r.hardware_profile = l.hardware WHERE r.task = ? "
        "ORDER BY r.model_id, r.hardware_profile, r.variant = 'baseline' DESC, r.variant",
        [task],
    ).fetchall()
    for hardware, *fields in rows:
        by_hardware[hardware].append(ChartRun(*fields))
    return dict(by_hardware)

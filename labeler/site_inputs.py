"""Read what the site shows from the catalog, with as few and as light queries as it can.

A nightly build over 10,000 models must not turn every run into a Python object just to
find that one model changed. So the catalog first answers, per model, a digest of its runs
and model records (computed by DuckDB); the full runs and records are read only for the
models whose pages are rendered, and task charts read only the few run columns they plot.
Labels are read through `read_label_rows`, the one place the site reads them.
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from labels import Catalog, HardwareRecord, ModelRecord, RunRecord
from labels.latest_label import LatestLabel
from labels.scheme import GRADES

LabelKey = tuple[str, str, str, str]  # model id, revision, task, hardware profile
_RUN_ORDER = "ORDER BY model_id, task, hardware_profile, variant = 'baseline' DESC, variant"
_RUN_COLUMNS = ", ".join(f.name for f in dataclasses.fields(RunRecord))
_MODEL_COLUMNS = ", ".join(f.name for f in dataclasses.fields(ModelRecord))
_IN_MODELS = "model_id IN (SELECT unnest(?::VARCHAR[]))"


def read_label_rows(catalog: Catalog) -> list[LatestLabel]:
    """The one place the site reads labels: the `latest_labels` rows."""
    return catalog.latest_labels()


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
class SiteInputs:
    labels: list[LatestLabel]  # best class first
    model_digests: dict[str, str]  # model id -> digest of its runs and model records
    baselines: dict[LabelKey, Baseline]
    hardware: dict[str, HardwareRecord | None]  # by fingerprint
    hardware_digest: str


@dataclass(frozen=True)
class ModelDetails:
    """Full runs and model records of the models being rendered."""

    runs_by_label: dict[LabelKey, list[RunRecord]]
    models: dict[tuple[str, str], ModelRecord]

    def runs(self, label: LatestLabel) -> list[RunRecord]:
        return self.runs_by_label.get(label_key(label), [])


def read_site_inputs(catalog: Catalog) -> SiteInputs:
    labels = sorted(read_label_rows(catalog), key=label_sort_key)
    digests: dict[str, list[str]] = defaultdict(list)
    with catalog.connect() as con:
        for table in ("latest_runs", "models"):
            order = "run_id" if table == "latest_runs" else "revision"
            rows = con.execute(
                f"SELECT model_id, md5(string_agg(CAST(t AS VARCHAR), '|' ORDER BY {order})) "
                f"FROM {table} t GROUP BY model_id"
            ).fetchall()
            for model_id, digest in rows:
                digests[model_id].append(digest)
        baselines = {
            (m, rev, task, hw): Baseline(latency, size)
            for m, rev, task, hw, latency, size in con.execute(
                "SELECT model_id, revision, task, hardware_profile, latency_ms_p50, size_mb "
                "FROM latest_runs WHERE variant = 'baseline' AND status = 'ok'"
            ).fetchall()
        }
        fingerprints = [
            fp
            for (fp,) in con.execute(
                "SELECT DISTINCT hardware_fingerprint FROM latest_runs"
            ).fetchall()
        ]
        (hardware_digest,) = con.execute(
            "SELECT coalesce(md5(string_agg(CAST(h AS VARCHAR), '|' ORDER BY fingerprint)), '') "
            "FROM hardware h"
        ).fetchone()
    hardware = {fp: catalog.hardware(fp) for fp in sorted(fingerprints)}
    return SiteInputs(
        labels,
        {m: ":".join(d) for m, d in digests.items()},
        baselines,
        hardware,
        hardware_digest,
    )


def read_model_details(catalog: Catalog, model_ids: Sequence[str] | None) -> ModelDetails:
    """Runs and model records of `model_ids` (None: every model), in two queries."""
    where, params = ("", []) if model_ids is None else (f"WHERE {_IN_MODELS}", [list(model_ids)])
    runs_by_label: dict[LabelKey, list[RunRecord]] = defaultdict(list)
    with catalog.connect() as con:
        if model_ids is None or model_ids:
            for row in con.execute(
                f"SELECT {_RUN_COLUMNS} FROM latest_runs {where} {_RUN_ORDER}", params
            ).fetchall():
                run = RunRecord(*row)
                runs_by_label[(run.model_id, run.revision, run.task, run.hardware_profile)].append(
                    run
                )
            models = {
                (m.model_id, m.revision): m
                for m in (
                    ModelRecord(*row)
                    for row in con.execute(
                        f"SELECT {_MODEL_COLUMNS} FROM models {where}", params
                    ).fetchall()
                )
            }
        else:
            models = {}
    return ModelDetails(dict(runs_by_label), models)


def read_chart_runs(catalog: Catalog, task: str) -> dict[str, list[ChartRun]]:
    """The plotted columns of every labelled run of `task`, by hardware profile."""
    by_hardware: dict[str, list[ChartRun]] = defaultdict(list)
    with catalog.connect() as con:
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

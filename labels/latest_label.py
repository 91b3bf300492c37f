"""`LatestLabel`: one row of the `latest_labels` view, typed, as every reader gets it.

`Catalog.latest_labels()` returns these; the site, the card, badges and the CLI read fields
by name (`label.grade`) and the ranked tactics through `label.recommendations`. Its fields
are the view's columns, in the view's order (a test keeps the two in step); `to_dict` is the
one plain-data form, for JSON and templates.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from functools import cached_property
from typing import Any

from labels.recommendation import Recommendation, recommendations_from_json


@dataclass(frozen=True)
class LatestLabel:
    """The newest label of (model, revision, task, hardware) with the model's source."""

    model_id: str
    revision: str
    task: str
    hardware: str
    grade: str | None
    energy_wh_per_1k: float | None
    best_variant: str | None
    best_grade: str | None
    best_energy_wh_per_1k: float | None
    quality_retained: float | None
    quality_metric: str | None
    energy_method: str | None
    estimated: bool | None
    noisy: bool | None
    eei: float | None
    scheme_version: str
    measured_at: datetime | None
    graded_at: datetime | None
    reason: str | None
    recommendations_json: str | None
    source: str | None
    synthetic: bool | None
    eei_low: float | None = None
    eei_high: float | None = None
    borderline: bool | None = None
    reference_model: str | None = None
    reference_config_sha256: str | None = None
    measured_grade: str | None = None
    previous_grade: str | None = None
    grade_changed_at: datetime | None = None
    energy_j_per_token: float | None = None
    contended: bool | None = None  # graded from a contended measurement (--allow-busy-host)
    foreign_cpu_cores: float | None = None  # cores' worth other processes took meanwhile

    @cached_property
    def recommendations(self) -> list[Recommendation]:
        """The ranked tactics, parsed once from `recommendations_json`."""
        return recommendations_from_json(self.recommendations_json)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in LATEST_LABEL_COLUMNS}


LATEST_LABEL_COLUMNS = tuple(f.name for f in fields(LatestLabel))


def latest_label_from_row(columns: list[str], row: tuple[Any, ...]) -> LatestLabel:
    """A view row as a `LatestLabel`; a column the class does not know is a bug, not data."""
    values = dict(zip(columns, row, strict=True))
    unknown = set(values) - set(LATEST_LABEL_COLUMNS)
    if unknown:
        raise ValueError(f"latest_labels has columns LatestLabel lacks: {sorted(unknown)}")
    return LatestLabel(**values)

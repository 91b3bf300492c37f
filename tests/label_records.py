"""Labels for tests, built in one place from one default.

`label_record` is a row to write (`Catalog.write_labels`); `latest_label` is a row as
`Catalog.latest_labels()` reads it back, with the model's source. Both start from `UNGRADED`,
an ungraded v1 label of `org/model` on `cpu-x86-64` that decides nothing, and a test names
every field its checks read. Fields a test leaves out keep the record's own defaults
(`contended` False, no interval), so a label here never differs from what the catalog would
hold.
"""

from __future__ import annotations

from datetime import datetime

from labels import LabelRecord
from labels.latest_label import LatestLabel

MEASURED_AT = datetime(2026, 11, 24, 10, 30)
GRADED_AT = datetime(2026, 11, 24, 11, 0)

UNGRADED: dict[str, object] = {
    "model_id": "org/model",
    "revision": "r1",
    "task": "text-classification",
    "hardware": "cpu-x86-64",
    "scheme_version": "v1",
    "grade": None,
    "eei": None,
    "energy_wh_per_1k": None,
    "energy_method": "rapl",
    "best_variant": None,
    "best_grade": None,
    "best_energy_wh_per_1k": None,
    "quality_retained": None,
    "quality_metric": None,
    "noisy": False,
    "recommendations_json": "[]",
    "measured_at": MEASURED_AT,
    "graded_at": GRADED_AT,
    "reason": None,
}

# what `latest_labels()` adds from the model and the method
LATEST_ONLY: dict[str, object] = {"estimated": False, "source": "hub", "synthetic": False}


def label_record(**fields: object) -> LabelRecord:
    """A label to write; `fields` override `UNGRADED`."""
    return LabelRecord(**(UNGRADED | fields))  # type: ignore[arg-type]


def latest_label(**fields: object) -> LatestLabel:
    """A label as `Catalog.latest_labels()` returns it; `fields` override `UNGRADED`."""
    return LatestLabel(**(UNGRADED | LATEST_ONLY | fields))  # type: ignore[arg-type]

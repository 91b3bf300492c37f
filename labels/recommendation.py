"""One recommendation: what a tactic did beside the baseline, typed, with its one JSON form.

`labeler.recommend` builds these from measured runs; the catalog stores a label's list as
JSON (`labels.recommendations_json`); the site, the card, badges and the CLI read them back.
`recommendations_to_json` and `recommendations_from_json` are the only places that list is
written or parsed, so a new field is added here once. Lists written by older versions parse
too: missing fields take their defaults and unknown ones are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Recommendation:
    """A tactic's entry in a label's ranked list; measured fields are None when not measured.

    `applies` is False for a tactic that does not apply to the model (`note` says why); a
    tactic that applied but failed has `qualifies` False and `note` "failed: …".
    """

    tactic: str
    variant: str
    applies: bool = True
    qualifies: bool = False
    note: str = ""
    energy_wh_per_1k: float | None = None  # baseline's energy scaled by the paired change
    measured_energy_wh_per_1k: float | None = None  # the variant's own median
    energy_change: float | None = None  # relative, -0.3 = 30 % less than the baseline
    latency_change: float | None = None  # relative, like energy_change
    paired_windows: bool = False  # measured in windows interleaved with the baseline's
    cheaper_pairs: int | None = None  # pairs in which the variant used less energy
    quality_metric: str | None = None
    quality_value: float | None = None
    quality_extra: dict[str, float] = field(default_factory=dict)  # other quality figures
    labelled_accuracy: float | None = None
    baseline_labelled_accuracy: float | None = None
    saving_measurable: bool = False  # cheaper in every pair (harness 2)
    grade: str | None = None  # the grade the variant's energy earns
    size_mb: float | None = None
    size_change: float | None = None  # relative to the baseline's size on disk
    build_s: float | None = None
    build_energy_wh: float | None = None
    payback_inferences: int | None = None  # inferences until the build energy is saved
    noisy: bool = False

    @property
    def counts(self) -> bool:
        """True when it may count toward the achievable grade: applies, qualifies, measurable."""
        return self.applies and self.qualifies and self.saving_measurable

    def to_dict(self) -> dict[str, Any]:
        """The JSON object; shallow (no `dataclasses.asdict` deep copy: the site writes one
        per variant of every model, and the deep copy was a sixth of a 10k-model build)."""
        values = {name: getattr(self, name) for name in _FIELD_NAMES}
        values["quality_extra"] = dict(self.quality_extra)
        return values


_FIELD_NAMES = tuple(f.name for f in fields(Recommendation))
_FIELDS = set(_FIELD_NAMES)


def recommendation_from_dict(values: dict[str, Any]) -> Recommendation:
    """A recommendation from its JSON object; missing fields default, unknown ones are dropped."""
    known = {k: v for k, v in values.items() if k in _FIELDS}
    known.setdefault("variant", known.get("tactic", ""))
    known.setdefault("tactic", known["variant"])
    if known.get("quality_extra") is None:
        known.pop("quality_extra", None)
    return Recommendation(**known)


def recommendations_to_json(items: list[Recommendation]) -> str:
    """The list as stored in `labels.recommendations_json`."""
    return json.dumps([item.to_dict() for item in items])


def recommendations_from_json(text: str | None) -> list[Recommendation]:
    """The stored list; an empty or unreadable value is an empty list (a label still renders)."""
    try:
        items = json.loads(text or "[]")
    except (TypeError, ValueError):
        return []
    if not isinstance(items, list):
        return []
    return [recommendation_from_dict(item) for item in items if isinstance(item, dict)]

"""Cheaper models for the same task: the practice "use the most efficient model".

Often the best tactic is another, smaller model that does the same job. For a model in the
catalog this lists the catalog's models of the same task on the same hardware profile that
have a better grade, cheapest first (Wh per 1,000 inferences). Their quality is compared
only where the comparison means something:

- both cards report the same `model-index` dataset and metric: the two reported values;
- both are classifiers with the same label set, whose baselines' top-1 classes on the same
  reference inputs were stored at scan time: how often the two agree.

Otherwise the alternative says plainly that quality was not compared. The site, the badge
details and the card block name the cheapest alternative whose quality was compared.

The whole catalog is read in one query and grouped in Python; `find_alternatives` is
linear in the catalog per grade class, so a site of 100,000 models can call it once.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from labeler.figures import format_change, format_energy, format_percent
from labels.catalog import Catalog
from labels.errors import LabelerError
from labels.model_index import ReportedResult, results_from_json, shared_result
from labels.scheme import GRADES

NOT_COMPARED = "quality was not compared"
_GRADE_RANK = {grade: rank for rank, grade in enumerate(GRADES)}
AlternativesKey = tuple[str, str, str]  # model id, task, hardware profile

_CANDIDATES_SQL = """
SELECT l.model_id, l.revision, l.task, l.hardware, l.grade, l.energy_wh_per_1k,
       coalesce(l.estimated, false), {model_index}, {top1}
FROM latest_labels l
LEFT JOIN models m USING (model_id, revision)
LEFT JOIN latest_runs r
  ON r.model_id = l.model_id AND r.revision = l.revision AND r.task = l.task
 AND r.hardware_profile = l.hardware AND r.variant = 'baseline' AND r.status = 'ok'
 AND r.protocol = 'scheme'
ORDER BY l.task, l.hardware, l.model_id
"""


class UnknownModelError(LabelerError):
    """No label for the model asked about; exit status 2 from the CLI."""


@dataclass(frozen=True)
class Top1Labels:
    """A classifier baseline's predicted class of each reference input."""

    label_set: frozenset[str]
    top1: tuple[str, ...]
    inputs: str  # where the inputs came from and their shape, e.g. "tokenizer:32x128"

    @property
    def key(self) -> tuple[frozenset[str], str, int]:
        """What two classifiers must share for their agreement to mean anything."""
        return (self.label_set, self.inputs, len(self.top1))


@dataclass(frozen=True)
class LabelledModel:
    """One (model, task, hardware) label with what quality comparisons need."""

    model_id: str
    revision: str
    task: str
    hardware: str
    grade: str | None
    energy_wh_per_1k: float | None
    estimated: bool
    results: tuple[ReportedResult, ...] = ()
    top1: Top1Labels | None = None
    # a stable digest of everything above that a comparison with this model reads
    fingerprint: str = ""

    @property
    def key(self) -> AlternativesKey:
        return (self.model_id, self.task, self.hardware)

    @property
    def grade_rank(self) -> int | None:
        return _GRADE_RANK.get(self.grade) if self.grade else None


@dataclass(frozen=True)
class QualityComparison:
    """How an alternative's quality compares with the model's, in one sentence."""

    method: str  # "model-index", "top1-agreement" or "none"
    sentence: str
    top1_agreement: float | None = None  # fraction of reference inputs with the same class
    inputs: int | None = None  # reference inputs compared
    dataset: str | None = None  # model-index: "glue/sst2 (validation)"
    metric: str | None = None  # model-index: "accuracy"
    model_value: float | None = None  # the model's reported value
    alternative_value: float | None = None  # the alternative's reported value

    @property
    def compared(self) -> bool:
        return self.method != "none"


@dataclass(frozen=True)
class Alternative:
    """A better-graded model of the same task and hardware, with its quality comparison."""

    model_id: str
    revision: str
    grade: str
    energy_wh_per_1k: float
    energy_change: float | None  # alternative / model - 1: −0.6 is 60 % less energy
    estimated: bool
    quality: QualityComparison

    @property
    def comparable(self) -> bool:
        return self.quality.compared

    def summary(self) -> str:
        """ "org/small (B, 0.12 Wh per 1,000 inferences, −60 % energy): <quality>"."""
        change = (
            f", {format_change(self.energy_change)} energy"
            if self.energy_change is not None
            else ""
        )
        estimate = " (estimate)" if self.estimated else ""
        return (
            f"{self.model_id} ({self.grade}, {format_energy(self.energy_wh_per_1k)} Wh per "
            f"1,000 inferences{estimate}{change}): {self.quality.sentence}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "revision": self.revision,
            "grade": self.grade,
            "energy_wh_per_1k": self.energy_wh_per_1k,
            "energy_change": self.energy_change,
            "estimated": self.estimated,
            "quality_compared": self.comparable,
            "quality_method": self.quality.method,
            "quality": self.quality.sentence,
            "top1_agreement": self.quality.top1_agreement,
            "inputs": self.quality.inputs,
            "dataset": self.quality.dataset,
            "metric": self.quality.metric,
            "model_value": self.quality.model_value,
            "alternative_value": self.quality.alternative_value,
        }


@dataclass(frozen=True)
class ModelAlternatives:
    """The cheaper, better-graded models for one (model, task, hardware), cheapest first."""

    model_id: str
    revision: str
    task: str
    hardware: str
    grade: str | None
    energy_wh_per_1k: float | None
    alternatives: tuple[Alternative, ...] = ()
    total: int = 0  # better-graded models in all (`alternatives` may hold only the first few)
    cheapest_comparable: Alternative | None = None
    notes: tuple[str, ...] = ()  # why nothing is listed, when that is not for want of models

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_id": self.model_id,
            "revision": self.revision,
            "task": self.task,
            "hardware": self.hardware,
            "grade": self.grade,
            "energy_wh_per_1k": self.energy_wh_per_1k,
            "total": self.total,
            "alternatives": [a.to_dict() for a in self.alternatives],
            "cheapest_comparable": (
                self.cheapest_comparable.to_dict() if self.cheapest_comparable else None
            ),
            "notes": list(self.notes),
        }


# -- reading ------------------------------------------------------------------------------


def _top1_from_json(text: str | None) -> Top1Labels | None:
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    labels, top1, inputs = data.get("labels"), data.get("top1"), data.get("inputs")
    if not isinstance(labels, list) or not isinstance(top1, list) or not top1:
        return None
    return Top1Labels(frozenset(map(str, labels)), tuple(map(str, top1)), str(inputs or ""))


def read_labelled_models(catalog: Catalog) -> list[LabelledModel]:
    """Every latest label with its card's results and its baseline's top-1 classes.

    A catalog written before m006 (read-only opens never migrate) has neither column:
    its models are then listed with no quality comparison rather than refused.
    """
    present = {
        (table, column)
        for table, column in catalog.query(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE (table_name = 'models' AND column_name = 'model_index_json') "
            "OR (table_name = 'runs' AND column_name = 'top1_labels_json')"
        ).rows
    }
    sql = _CANDIDATES_SQL.format(
        model_index="m.model_index_json" if ("models", "model_index_json") in present else "'[]'",
        top1="r.top1_labels_json" if ("runs", "top1_labels_json") in present else "NULL",
    )
    rows = catalog.query(sql).rows
    return [
        LabelledModel(
            model_id=model_id,
            revision=revision,
            task=task,
            hardware=hardware,
            grade=grade,
            energy_wh_per_1k=energy,
            estimated=bool(estimated),
            results=tuple(results_from_json(model_index)),
            top1=_top1_from_json(top1),
            fingerprint=hashlib.md5(
                repr((model_id, revision, grade, energy, estimated, model_index, top1)).encode()
            ).hexdigest()[:16],
        )
        for model_id, revision, task, hardware, grade, energy, estimated, model_index, top1 in rows
    ]


# -- comparing ----------------------------------------------------------------------------


def compare_quality(model: LabelledModel, alternative: LabelledModel) -> QualityComparison:
    """The reported results both cards share, else the top-1 agreement, else nothing."""
    shared = shared_result(list(model.results), list(alternative.results))
    if shared is not None:
        mine, theirs = shared
        metric = mine.metric_name or mine.metric_type
        dataset = mine.describe_dataset()
        return QualityComparison(
            method="model-index",
            sentence=(
                f"{metric} on {dataset}, as the model cards report: {theirs.value:.4g} "
                f"against {mine.value:.4g} for {model.model_id}"
            ),
            dataset=dataset,
            metric=metric,
            model_value=mine.value,
            alternative_value=theirs.value,
        )
    a, b = model.top1, alternative.top1
    if a is not None and b is not None and a.key == b.key:
        same = sum(x == y for x, y in zip(a.top1, b.top1, strict=True))
        agreement = same / len(a.top1)
        return QualityComparison(
            method="top1-agreement",
            sentence=(
                f"the same top-1 class as {model.model_id} on {format_percent(agreement)} of "
                f"{len(a.top1)} reference inputs (same label set)"
            ),
            top1_agreement=agreement,
            inputs=len(a.top1),
        )
    return QualityComparison(method="none", sentence=NOT_COMPARED)


def _comparison_keys(model: LabelledModel) -> list[tuple[Any, ...]]:
    """Buckets of models any two of which can be compared."""
    keys: list[tuple[Any, ...]] = [("model-index", *r.key) for r in model.results]
    if model.top1 is not None:
        keys.append(("top1", *model.top1.key))
    return keys


def _alternative(model: LabelledModel, other: LabelledModel) -> Alternative:
    energy, other_energy = model.energy_wh_per_1k, other.energy_wh_per_1k
    assert other.grade is not None and other_energy is not None
    return Alternative(
        model_id=other.model_id,
        revision=other.revision,
        grade=other.grade,
        energy_wh_per_1k=other_energy,
        energy_change=other_energy / energy - 1 if energy else None,
        estimated=other.estimated,
        quality=compare_quality(model, other),
    )


def _energy_order(model: LabelledModel) -> tuple[float, str]:
    return (model.energy_wh_per_1k or 0.0, model.model_id)


class _Group:
    """The graded models of one (task, hardware), cheapest first, with per-class lookups.

    For a model of class g, the candidates are the models of classes better than g; those
    lists (cut at `limit`) and the cheapest comparable candidate of each bucket are worked
    out once per class, so each model's answer costs a few dictionary lookups.
    """

    def __init__(self, models: Sequence[LabelledModel], limit: int | None) -> None:
        ranked = sorted(
            (m for m in models if m.grade_rank is not None and m.energy_wh_per_1k is not None),
            key=_energy_order,
        )
        self.ranked = [(m.grade_rank or 0, m) for m in ranked]
        self.limit = limit
        self._better: dict[int, tuple[tuple[LabelledModel, ...], int]] = {}
        self._keys = {m.key: _comparison_keys(m) for m in ranked}
        self._buckets: dict[tuple[Any, ...], list[tuple[int, LabelledModel]]] = defaultdict(list)
        for rank, m in self.ranked:
            for key in self._keys[m.key]:
                self._buckets[key].append((rank, m))
        self._cheapest: dict[tuple[tuple[Any, ...], int], LabelledModel | None] = {}

    def better(self, rank: int) -> tuple[tuple[LabelledModel, ...], int]:
        """The models of a class better than `rank`, cheapest first (cut), and how many."""
        if rank not in self._better:
            better = [m for r, m in self.ranked if r < rank]
            listed = better if self.limit is None else better[: self.limit]
            self._better[rank] = (tuple(listed), len(better))
        return self._better[rank]

    def cheapest_in(self, key: tuple[Any, ...], rank: int) -> LabelledModel | None:
        if (key, rank) not in self._cheapest:
            self._cheapest[(key, rank)] = next(
                (m for r, m in self._buckets.get(key, ()) if r < rank), None
            )
        return self._cheapest[(key, rank)]

    def selection_of(self, model: LabelledModel) -> AlternativesSelection:
        rank = model.grade_rank
        if rank is None or model.energy_wh_per_1k is None:
            return AlternativesSelection(model)
        listed, total = self.better(rank)
        comparable = [
            found
            for key in self._keys[model.key]
            if (found := self.cheapest_in(key, rank)) is not None
        ]
        cheapest = min(comparable, key=_energy_order) if comparable else None
        return AlternativesSelection(model, listed, total, cheapest)


@dataclass(frozen=True)
class AlternativesSelection:
    """Which models a label's alternatives are, before their quality is compared.

    Cheap to make for every label of a big catalog (the lists are shared per class);
    `digest` changes whenever what `resolve()` would say changes, so the site re-renders
    a page only then, and compares quality only for the pages it renders.
    """

    model: LabelledModel
    listed: tuple[LabelledModel, ...] = ()
    total: int = 0
    cheapest: LabelledModel | None = None

    @property
    def digest(self) -> str:
        parts = [self.model.fingerprint, str(self.total)]
        parts += [m.fingerprint for m in self.listed]
        parts.append(self.cheapest.fingerprint if self.cheapest else "-")
        return ":".join(parts)

    def resolve(self) -> ModelAlternatives:
        model = self.model
        base = {
            "model_id": model.model_id,
            "revision": model.revision,
            "task": model.task,
            "hardware": model.hardware,
            "grade": model.grade,
            "energy_wh_per_1k": model.energy_wh_per_1k,
        }
        if model.grade_rank is None or model.energy_wh_per_1k is None:
            return ModelAlternatives(
                **base, notes=("this label has no grade and energy to compare with",)
            )
        return ModelAlternatives(
            **base,
            alternatives=tuple(_alternative(model, m) for m in self.listed),
            total=self.total,
            cheapest_comparable=_alternative(model, self.cheapest) if self.cheapest else None,
        )


def select_alternatives(
    models: Iterable[LabelledModel], *, limit: int | None = None
) -> dict[AlternativesKey, AlternativesSelection]:
    """Every label's cheaper, better-graded models (at most `limit` listed), unresolved."""
    groups: dict[tuple[str, str], list[LabelledModel]] = defaultdict(list)
    for model in models:
        groups[(model.task, model.hardware)].append(model)
    found: dict[AlternativesKey, AlternativesSelection] = {}
    for members in groups.values():
        group = _Group(members, limit)
        for model in members:
            found[model.key] = group.selection_of(model)
    return found


def find_alternatives(
    models: Iterable[LabelledModel], *, limit: int | None = None
) -> dict[AlternativesKey, ModelAlternatives]:
    """Every label's cheaper, better-graded models (at most `limit` listed), by label key."""
    return {
        key: selection.resolve()
        for key, selection in select_alternatives(models, limit=limit).items()
    }


def alternatives_for(
    catalog: Catalog,
    model_id: str,
    *,
    task: str | None = None,
    hardware: str | None = None,
    limit: int | None = None,
) -> list[ModelAlternatives]:
    """The alternatives of each label of `model_id` (narrowed to `task` and `hardware`).

    `UnknownModelError` when the catalog has no such label.
    """
    models = read_labelled_models(catalog)
    targets = [
        m
        for m in models
        if m.model_id == model_id
        and (task is None or m.task == task)
        and (hardware is None or m.hardware == hardware)
    ]
    if not targets:
        narrowed = "".join(
            f" {name} {value}" for name, value in (("task", task), ("on", hardware)) if value
        )
        raise UnknownModelError(
            f"no label for {model_id!r}{narrowed} in {catalog.path} (scan and grade it first)"
        )
    wanted = {(m.task, m.hardware) for m in targets}
    found = find_alternatives((m for m in models if (m.task, m.hardware) in wanted), limit=limit)
    return [found[m.key] for m in targets]

"""The evaluation results a model card reports (`model-index`), kept so models can be compared.

Two models' own numbers say nothing about each other unless they were measured the same
way, so a result is kept with what makes it comparable: the dataset (type, config, split)
and the metric type. `parse_model_index` turns a card's raw `model-index` (as YAML gives it)
into plain rows, dropping anything malformed; `shared_result` finds the first result both
models report for the same dataset and metric. Stdlib only: discovery and the labeler use it.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class ReportedResult:
    """One metric on one dataset, as a card's `model-index` reports it."""

    dataset_type: str  # e.g. "glue", the Hub dataset id
    metric_type: str  # e.g. "accuracy"
    value: float
    dataset_name: str | None = None  # the card's display name, e.g. "GLUE SST-2"
    dataset_config: str | None = None  # e.g. "sst2"
    dataset_split: str | None = None  # e.g. "validation"
    metric_name: str | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What two results must share to be compared."""
        return (
            self.dataset_type.lower(),
            (self.dataset_config or "").lower(),
            (self.dataset_split or "").lower(),
            self.metric_type.lower(),
        )

    def describe_dataset(self) -> str:
        """ "glue/sst2 (validation)": the dataset as a reader can look it up."""
        name = self.dataset_type + (f"/{self.dataset_config}" if self.dataset_config else "")
        return name + (f" ({self.dataset_split})" if self.dataset_split else "")


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return str(value).strip() or None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().rstrip("%")) / (100 if value.strip().endswith("%") else 1)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def parse_model_index(raw: Any) -> list[ReportedResult]:
    """Every well-formed (dataset, metric, value) of a card's `model-index`, in card order."""
    results: list[ReportedResult] = []
    if not isinstance(raw, list):
        return results
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("results"), list):
            continue
        for result in entry["results"]:
            if not isinstance(result, dict):
                continue
            dataset = result.get("dataset")
            metrics = result.get("metrics")
            if not isinstance(dataset, dict) or not isinstance(metrics, list):
                continue
            dataset_type = _text(dataset.get("type"))
            if dataset_type is None:
                continue
            for metric in metrics:
                if not isinstance(metric, dict):
                    continue
                metric_type, value = _text(metric.get("type")), _number(metric.get("value"))
                if metric_type is None or value is None:
                    continue
                results.append(
                    ReportedResult(
                        dataset_type=dataset_type,
                        metric_type=metric_type,
                        value=value,
                        dataset_name=_text(dataset.get("name")),
                        dataset_config=_text(dataset.get("config")),
                        dataset_split=_text(dataset.get("split")),
                        metric_name=_text(metric.get("name")),
                    )
                )
    return results


def model_index_json(raw: Any) -> str:
    """A card's raw `model-index` as the catalog stores it (`models.model_index_json`)."""
    return json.dumps([asdict(r) for r in parse_model_index(raw)], separators=(",", ":"))


def results_from_json(text: str | None) -> list[ReportedResult]:
    """The stored results back; a damaged value is no results, never an error."""
    try:
        rows = json.loads(text or "[]")
    except ValueError:
        return []
    if not isinstance(rows, list):
        return []
    results = []
    for row in rows:
        try:
            results.append(ReportedResult(**row))
        except TypeError:
            continue
    return results


def shared_result(
    mine: list[ReportedResult], theirs: list[ReportedResult]
) -> tuple[ReportedResult, ReportedResult] | None:
    """The first of `mine` (card order) that `theirs` also reports, as (mine, theirs)."""
    by_key = {}
    for result in theirs:
        by_key.setdefault(result.key, result)
    for result in mine:
        if result.key in by_key:
            return result, by_key[result.key]
    return None

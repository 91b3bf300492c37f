"""Recommendations: tactics ranked by energy saved at kept quality, with measured figures.

Each entry says what the tactic did on this hardware: energy and latency change against the
baseline, the quality it kept, its size on disk, what building it cost, and after how many
inferences that cost is paid back. Variants outside the quality tolerance are listed after
the qualifying ones and never count toward the achievable grade, nor do savings the
measurement cannot tell from drift (`measurably_cheaper`); tactics that do not apply say
why.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from labeler.figures import achievable_sentence, format_change
from labels.batching import BatchingAdvice, BatchPoint, batch_sweep_from_json, batching_advice
from labels.latest_label import LatestLabel
from labels.recommendation import Recommendation
from labels.records import RunRecord
from labels.run_status import RunStatus
from labels.tactic_kinds import is_baseline_variant


def recommendations(
    baseline: RunRecord,
    variants: list[RunRecord],
    not_applicable: dict[str, str],
    grade_of: Callable[[float], str | None],
) -> list[Recommendation]:
    measured = [v for v in variants if v.status == RunStatus.OK and v.energy_wh_per_1k is not None]
    entries = [_entry(baseline, v, grade_of) for v in measured]
    # energy_change is None only when the baseline measured zero energy: rank those last
    entries.sort(
        key=lambda e: (
            not e.qualifies,
            not e.saving_measurable,
            e.energy_change if e.energy_change is not None else math.inf,
        )
    )
    failed = [
        Recommendation(tactic=v.tactic, variant=v.variant, note=f"failed: {v.reason}")
        for v in variants
        if v.status != RunStatus.OK
    ]
    skipped = [
        Recommendation(tactic=name, variant=name, applies=False, note=reason)
        for name, reason in sorted(not_applicable.items())
    ]
    return entries + failed + skipped


def measurably_cheaper(variant: RunRecord, baseline: RunRecord) -> bool:
    """True when the variant's saving is larger than what the measurement can confuse.

    Harness 2 measures a variant in windows interleaved with baseline windows; the saving
    counts when the variant used less energy in **every** pair (a sign test: with five pairs
    that happens by chance once in 32). Runs without pairs (older harness) fall back to the
    windows' ranges: every variant window below every baseline window.
    """
    if variant.energy_wh_per_1k is None or baseline.energy_wh_per_1k is None:
        return False
    if variant.paired_cheaper_windows is not None:
        return variant.windows > 0 and variant.paired_cheaper_windows >= variant.windows
    if variant.energy_wh_per_1k_max is None or baseline.energy_wh_per_1k_min is None:
        return variant.energy_wh_per_1k < baseline.energy_wh_per_1k
    return variant.energy_wh_per_1k_max < baseline.energy_wh_per_1k_min


def energy_change(variant: RunRecord, baseline: RunRecord) -> float | None:
    """Relative energy change: from the interleaved pairs when measured, else the medians."""
    if variant.paired_energy_ratio is not None:
        return variant.paired_energy_ratio - 1.0
    return _change(variant.energy_wh_per_1k, baseline.energy_wh_per_1k)


def latency_change(variant: RunRecord, baseline: RunRecord) -> float | None:
    if variant.paired_latency_ratio is not None:
        return variant.paired_latency_ratio - 1.0
    return _change(variant.latency_ms_p50, baseline.latency_ms_p50)


def achievable_energy_wh_per_1k(variant: RunRecord, baseline: RunRecord) -> float | None:
    """The baseline's energy scaled by the variant's measured change (drift-free)."""
    change = energy_change(variant, baseline)
    if change is None or baseline.energy_wh_per_1k is None:
        return variant.energy_wh_per_1k
    return baseline.energy_wh_per_1k * (1.0 + change)


def _entry(
    baseline: RunRecord, variant: RunRecord, grade_of: Callable[[float], str | None]
) -> Recommendation:
    base_e = baseline.energy_wh_per_1k or 0.0
    var_e = achievable_energy_wh_per_1k(variant, baseline) or 0.0
    saved_wh_per_1k = base_e - var_e
    build_wh = variant.build_energy_wh or 0.0
    payback = None
    if saved_wh_per_1k > 0:
        payback = math.ceil(build_wh / saved_wh_per_1k * 1000) if build_wh > 0 else 0
    notes = [variant.notes] if variant.notes else []
    extra = _quality_values(variant)
    extra.pop(variant.quality_metric or "", None)
    accuracy = extra.get("labelled_accuracy")
    baseline_accuracy = _quality_values(baseline).get("labelled_accuracy")
    if accuracy is not None:
        shown = f"labelled accuracy {accuracy:.4f}"
        if baseline_accuracy is not None:
            shown += f" (baseline {baseline_accuracy:.4f})"
        notes.append(shown)
    if not variant.qualifies:
        measured = (
            f"{variant.quality_metric} {variant.quality_value:.4f}"
            if variant.quality_value is not None
            else "quality not measured"
        )
        notes.append(f"outside the quality tolerance ({measured})")
    measurable = measurably_cheaper(variant, baseline)
    if saved_wh_per_1k <= 0:
        notes.append("uses no less energy than the baseline here")
    elif not measurable:
        notes.append(
            "cheaper in only some of the windows measured beside the baseline: not counted"
            if variant.paired_cheaper_windows is not None
            else "saving within the spread of the measured windows: not counted"
        )
    return Recommendation(
        tactic=variant.tactic,
        variant=variant.variant,
        applies=True,
        energy_wh_per_1k=var_e,
        measured_energy_wh_per_1k=variant.energy_wh_per_1k,
        energy_change=energy_change(variant, baseline),
        latency_change=latency_change(variant, baseline),
        paired_windows=variant.paired_cheaper_windows is not None,
        cheaper_pairs=variant.paired_cheaper_windows,
        quality_metric=variant.quality_metric,
        quality_value=variant.quality_value,
        quality_extra=extra,
        labelled_accuracy=accuracy,
        baseline_labelled_accuracy=baseline_accuracy,
        qualifies=bool(variant.qualifies),
        saving_measurable=measurable,
        grade=grade_of(var_e),
        size_mb=variant.size_mb,
        size_change=_change(variant.size_mb, baseline.size_mb),
        build_s=variant.build_s,
        build_energy_wh=build_wh,
        payback_inferences=payback,
        noisy=bool(variant.noisy),
        note="; ".join(notes),
    )


def _quality_values(run: RunRecord) -> dict[str, float]:
    """The run's quality figures (gated metric, extras, labelled accuracy), if readable."""
    try:
        values = json.loads(run.quality_json or "{}")
    except (TypeError, ValueError):
        return {}
    if not isinstance(values, dict):  # valid JSON, but not an object of figures
        return {}
    return {k: float(v) for k, v in values.items() if isinstance(v, int | float)}


def _change(new: float | None, old: float | None) -> float | None:
    if new is None or not old:
        return None
    return (new - old) / old


def headline(label: LatestLabel) -> str:
    """One line people can act on, e.g. 'C → A with dynamic-int8, −41 % energy, 99.6 % …'."""
    grade = label.grade or "ungraded"
    best = label.best_variant
    if not best or is_baseline_variant(best):
        return f"{grade}: no tactic measurably saved energy within the quality tolerance"
    return achievable_sentence(
        grade,
        label.best_grade or "?",
        best,
        _change(label.best_energy_wh_per_1k, label.energy_wh_per_1k),
        label.quality_retained,
        (label.quality_metric or "quality").replace("_", " "),
    )


# -- priorities ---------------------------------------------------------------------------


class Priority(StrEnum):
    """What `order_by_priority` orders by first (docs/tactics.md)."""

    ENERGY = "energy"
    LATENCY = "latency"
    QUALITY = "quality"
    COST = "cost"  # money: the running cost per 1M inferences


PRIORITIES = tuple(p.value for p in Priority)
# Figures closer than this count as tied, so the next priority decides: the harness cannot
# tell a 0.4 % energy difference from drift, and a reader would not choose on it.
_TIE_CHANGE = 0.01  # one percentage point of energy, latency or running cost
_TIE_QUALITY = 0.001


def order_by_priority(
    entries: list[Recommendation],
    priority: str,
    cost_change: Callable[[Recommendation], float | None] = lambda _rec: None,
) -> list[Recommendation]:
    """The recommendations in the order the study's decision tree reads them for `priority`.

    The tree first keeps what an engineer may deploy, then asks what matters most: tactics
    that qualify and measurably save energy come first, then the others that were measured,
    then failed and inapplicable ones (their order kept). Within a group the `priority`
    figure decides (energy saved, latency saved, quality kept, or money saved; `cost_change`
    gives a recommendation's relative running-cost change), and ties, within one percentage
    point, are broken by the other figures in the order energy, latency, quality, cost.
    """
    if priority not in PRIORITIES:
        raise ValueError(f"unknown priority {priority!r} (known: {', '.join(PRIORITIES)})")
    order = [priority, *(p for p in PRIORITIES if p != priority)]

    def figure(rec: Recommendation, name: str) -> float:
        if name == "energy":
            value = rec.energy_change
            return math.inf if value is None else round(value / _TIE_CHANGE)
        if name == "latency":
            value = rec.latency_change
            return math.inf if value is None else round(value / _TIE_CHANGE)
        if name == "quality":  # higher kept quality first
            value = rec.quality_value
            return math.inf if value is None else -round(value / _TIE_QUALITY)
        value = cost_change(rec)
        return math.inf if value is None else round(value / _TIE_CHANGE)

    def group(rec: Recommendation) -> int:
        if not rec.applies or rec.note.startswith("failed:"):
            return 3
        if rec.counts:
            return 0
        return 1 if rec.qualifies else 2

    measured = [r for r in entries if group(r) < 3]
    rest = [r for r in entries if group(r) == 3]
    measured.sort(key=lambda r: (group(r), *(figure(r, name) for name in order)))
    return measured + rest


def batching_sentence(advice: BatchingAdvice) -> str:
    """'serve at batch 32: −41 % energy per inference, +12.3 ms per request'."""
    return (
        f"serve at batch {advice.batch_size}: {format_change(advice.energy_change)} energy per "
        f"inference, {advice.latency_added_ms:+.1f} ms per request"
    )


@dataclass(frozen=True)
class BatchingSummary:
    """A label's batching sweep (from its baseline run) and the advice it gives, if any."""

    points: list[BatchPoint]
    advice: BatchingAdvice | None

    @property
    def sentence(self) -> str | None:
        return batching_sentence(self.advice) if self.advice else None


def batching_summary(runs: list[RunRecord]) -> BatchingSummary | None:
    """The sweep stored on the label's baseline run; None when none was measured."""
    baseline = next((r for r in runs if is_baseline_variant(r.variant)), None)
    points = batch_sweep_from_json(baseline.batch_sweep_json) if baseline else []
    return BatchingSummary(points, batching_advice(points)) if points else None

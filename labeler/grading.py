"""Grading: turn the runs in the catalog into A-G labels under a scheme.

Two grades per (model, revision, task, hardware profile): as published (the baseline) and
achievable (the lowest-energy variant that keeps the scheme's quality). Grades compare only
within (task, hardware); a pair the scheme has no reference energy for stays ungraded, with
the reason, rather than being graded against the wrong yardstick.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from labeler.recommend import recommendations
from labels.catalog import Catalog, utc_now
from labels.records import LabelRecord, RunRecord
from labels.scheme import Scheme, load_scheme


@dataclass(frozen=True)
class GradeSummary:
    labels: list[LabelRecord]
    scheme_version: str

    @property
    def graded(self) -> int:
        return sum(1 for label in self.labels if label.grade is not None)

    @property
    def ungraded(self) -> int:
        return len(self.labels) - self.graded


def grade_catalog(catalog: Catalog, scheme: Scheme | None = None) -> GradeSummary:
    """Grade every measured (model, revision, task, hardware) and write the labels."""
    scheme = scheme or load_scheme()
    groups: dict[tuple[str, str, str, str], list[RunRecord]] = defaultdict(list)
    for run in catalog.latest_runs():
        groups[(run.model_id, run.revision, run.task, run.hardware_profile)].append(run)
    labels = [grade_runs(same_scan_as_baseline(runs), scheme) for runs in groups.values()]
    catalog.write_labels(labels)
    return GradeSummary(labels, scheme.version)


def same_scan_as_baseline(runs: list[RunRecord]) -> list[RunRecord]:
    """Only the variants measured with the newest baseline: a forced rescan with fewer
    tactics must not mix in variants measured against an older baseline."""
    baseline = next((r for r in runs if r.variant == "baseline"), None)
    if baseline is None:
        return runs
    return [r for r in runs if r.scan_id == baseline.scan_id]


def grade_runs(runs: list[RunRecord], scheme: Scheme) -> LabelRecord:
    """The label for the runs of one (model, revision, task, hardware profile)."""
    baseline = next((r for r in runs if r.variant == "baseline"), None)
    if baseline is None:
        raise ValueError("no baseline run among the runs to grade")
    measured_at = max((r.finished_at for r in runs if r.finished_at), default=utc_now())
    empty = LabelRecord(
        model_id=baseline.model_id,
        revision=baseline.revision,
        task=baseline.task,
        hardware=baseline.hardware_profile,
        scheme_version=scheme.version,
        grade=None,
        eei=None,
        energy_wh_per_1k=baseline.energy_wh_per_1k,
        energy_method=baseline.energy_method,
        best_variant=None,
        best_grade=None,
        best_energy_wh_per_1k=None,
        quality_retained=None,
        quality_metric=None,
        noisy=bool(baseline.noisy),
        recommendations_json="[]",
        measured_at=measured_at,
        graded_at=utc_now(),
    )
    if baseline.status != "ok" or baseline.energy_wh_per_1k is None:
        return _replace(empty, reason=f"{baseline.status}: {baseline.reason or 'no measurement'}")
    reference = scheme.reference(baseline.task, baseline.hardware_profile)
    not_applicable = json.loads(baseline.provenance_json or "{}").get("not_applicable", {})
    variants = [r for r in runs if r.variant != "baseline"]

    def grade_of(energy_wh_per_1k: float) -> str | None:
        if reference is None:
            return None
        return scheme.grade_for_eei(energy_wh_per_1k / reference.energy_wh_per_1k)

    ranked = recommendations(baseline, variants, not_applicable, grade_of)
    # ranked puts qualifying, measurable savings first, the largest first: that is the best
    best = next((e for e in ranked if e["qualifies"] and e.get("saving_measurable")), None)
    best_energy = best["energy_wh_per_1k"] if best else baseline.energy_wh_per_1k
    gate = scheme.quality_gate(baseline.task)
    return _replace(
        empty,
        grade=grade_of(baseline.energy_wh_per_1k),
        eei=baseline.energy_wh_per_1k / reference.energy_wh_per_1k if reference else None,
        best_variant=best["variant"] if best else baseline.variant,
        best_grade=grade_of(best_energy or 0.0),
        best_energy_wh_per_1k=best_energy,
        quality_retained=best["quality_value"] if best else 1.0,
        quality_metric=gate.metric,
        noisy=bool(baseline.noisy or (best and best["noisy"])),
        recommendations_json=json.dumps(ranked),
        reason=None
        if reference
        else f"scheme {scheme.version} has no reference energy for {baseline.task} on "
        f"{baseline.hardware_profile}",
    )


def _replace(label: LabelRecord, **changes: object) -> LabelRecord:
    from dataclasses import replace

    return replace(label, **changes)

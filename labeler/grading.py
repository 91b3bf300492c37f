"""Grading: turn the runs in the catalog into A-G labels under a scheme.

Two grades per (model, revision, task, hardware profile): as published (the baseline) and
achievable (the lowest-energy variant that keeps the scheme's quality). Grades compare only
within (task, hardware). Under v1 a pair the scheme has no reference energy for stays
ungraded, with the reason, rather than being graded against the wrong yardstick. From v2 on
the yardstick is the task's reference model measured beside the baseline: the EEI and its
interval come from the pair ratios, on any hardware, and a published grade moves only when a
new interval lies wholly outside it (`labels.eei.published_grade`).

A contended baseline (clean windows could not be had on a busy host) keeps its figures but
is not graded; its reason says how busy the host was. Measured with --allow-busy-host it is
graded and the label is marked contended. Either way it never moves a published grade.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass

from labeler.recommend import recommendations
from labels.busy_host import busy_reason
from labels.catalog import Catalog, utc_now
from labels.eei import EeiInterval, eei_interval, is_borderline, published_grade
from labels.recommendation import recommendations_to_json
from labels.records import LabelRecord, RunRecord
from labels.run_status import RunStatus
from labels.scheme import Scheme, load_scheme
from labels.tactic_kinds import is_baseline_variant

J_PER_WH = 3600.0


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

    @property
    def contended(self) -> int:
        """Labels whose newest measurement was contended (graded or not)."""
        return sum(1 for label in self.labels if label.contended or _busy(label.reason))


def grade_catalog(catalog: Catalog, scheme: Scheme | None = None) -> GradeSummary:
    """Grade every measured (model, revision, task, hardware) and write the labels."""
    scheme = scheme or load_scheme()
    groups: dict[tuple[str, str, str, str], list[RunRecord]] = defaultdict(list)
    for run in catalog.latest_runs():
        groups[(run.model_id, run.revision, run.task, run.hardware_profile)].append(run)
    labels = [grade_runs(same_scan_as_baseline(runs), scheme) for runs in groups.values()]
    if scheme.paired_reference:
        labels = [_apply_regrading_rule(catalog, label, scheme) for label in labels]
    catalog.write_labels(labels)
    return GradeSummary(labels, scheme.version)


def same_scan_as_baseline(runs: list[RunRecord]) -> list[RunRecord]:
    """Only the variants measured with the newest baseline: a forced rescan with fewer
    tactics must not mix in variants measured against an older baseline."""
    baseline = next((r for r in runs if is_baseline_variant(r.variant)), None)
    if baseline is None:
        return runs
    return [r for r in runs if r.scan_id == baseline.scan_id]


def grade_runs(runs: list[RunRecord], scheme: Scheme) -> LabelRecord:
    """The label for the runs of one (model, revision, task, hardware profile)."""
    baseline = next((r for r in runs if is_baseline_variant(r.variant)), None)
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
    if baseline.status != RunStatus.OK or baseline.energy_wh_per_1k is None:
        return _replace(empty, reason=f"{baseline.status}: {baseline.reason or 'no measurement'}")
    empty = _replace(empty, energy_j_per_token=energy_j_per_token(baseline, scheme))
    if scheme.paired_reference:
        interval, why_not = paired_eei(baseline, scheme)
        if interval is None:
            return _replace(empty, reason=why_not)
        eei_per_wh = interval.eei / baseline.energy_wh_per_1k
        empty = _replace(
            empty,
            eei_low=interval.eei_low,
            eei_high=interval.eei_high,
            borderline=is_borderline(scheme, interval.eei_low, interval.eei_high),
            reference_model=baseline.reference_model,
            reference_config_sha256=baseline.reference_config_sha256,
        )
        reason = None
    else:
        reference = scheme.reference(baseline.task, baseline.hardware_profile)
        eei_per_wh = 1.0 / reference.energy_wh_per_1k if reference else None
        reason = (
            None
            if reference
            else f"scheme {scheme.version} has no reference energy for {baseline.task} on "
            f"{baseline.hardware_profile}"
        )
    not_applicable = json.loads(baseline.provenance_json or "{}").get("not_applicable", {})
    variants = [r for r in runs if not is_baseline_variant(r.variant)]

    def grade_of(energy_wh_per_1k: float) -> str | None:
        if eei_per_wh is None:
            return None
        return scheme.grade_for_eei(energy_wh_per_1k * eei_per_wh)

    ranked = recommendations(baseline, variants, not_applicable, grade_of)
    # ranked puts qualifying, measurable savings first, the largest first: that is the best
    best = next((e for e in ranked if e.counts), None)
    best_energy = best.energy_wh_per_1k if best else baseline.energy_wh_per_1k
    gate = scheme.quality_gate(baseline.task)
    grade = grade_of(baseline.energy_wh_per_1k)
    graded = _replace(
        empty,
        grade=grade,
        measured_grade=grade,
        eei=baseline.energy_wh_per_1k * eei_per_wh if eei_per_wh is not None else None,
        best_variant=best.variant if best else baseline.variant,
        best_grade=grade_of(best_energy or 0.0),
        best_energy_wh_per_1k=best_energy,
        quality_retained=best.quality_value if best else 1.0,
        quality_metric=gate.metric,
        noisy=bool(baseline.noisy or (best and best.noisy)),
        recommendations_json=recommendations_to_json(ranked),
        reason=reason,
        foreign_cpu_cores=baseline.foreign_cpu_cores,
    )
    if not baseline.contended:
        return graded
    busy = baseline.reason or busy_reason(
        baseline.foreign_cpu_cores, baseline.foreign_gpu_processes
    )
    if baseline.busy_host_allowed and grade is not None:
        return _replace(graded, contended=True, reason=busy)
    # figures kept (energy, EEI and its interval), grades withheld
    return _replace(graded, grade=None, measured_grade=None, best_grade=None, reason=busy)


def paired_eei(baseline: RunRecord, scheme: Scheme) -> tuple[EeiInterval | None, str]:
    """The EEI interval of a baseline measured beside the scheme's reference, or why not."""
    spec = scheme.reference_model(baseline.task)
    if spec is None:
        return None, f"scheme {scheme.version} has no reference model for {baseline.task}"
    if not baseline.reference_ratios_json:
        return None, (
            f"measured without the scheme {scheme.version} reference model "
            f"(scanned under {baseline.scheme_version or 'another scheme'}; rescan with "
            f"--scheme {scheme.version})"
        )
    if baseline.reference_config_sha256 != spec.config_sha256:
        return None, (
            f"measured beside a different reference ({baseline.reference_model}, config "
            f"{(baseline.reference_config_sha256 or '?')[:12]}) than scheme {scheme.version}'s"
        )
    ratios = [float(r) for r in json.loads(baseline.reference_ratios_json)]
    if not ratios:
        return None, "no window of the reference model used measurable energy"
    return eei_interval(ratios, spec.energy_multiple, scheme.eei_confidence), ""


def energy_j_per_token(baseline: RunRecord, scheme: Scheme) -> float | None:
    """Text generation: joules per generated token (Wh/1k inferences over new tokens)."""
    if baseline.energy_wh_per_1k is None or baseline.task not in scheme.workloads:
        return None
    new_tokens = scheme.workloads[baseline.task].get("new_tokens")
    if not new_tokens:
        return None
    return baseline.energy_wh_per_1k * J_PER_WH / 1000.0 / int(new_tokens)


def _apply_regrading_rule(catalog: Catalog, label: LabelRecord, scheme: Scheme) -> LabelRecord:
    """Keep the published grade unless the new interval lies wholly outside it.

    The history (`label_history`) has the published grade per earlier measurement; the
    current measurement's own row, if it was graded before, is not "earlier".
    """
    contended = _measured_contended(label)
    if not contended and (label.grade is None or label.eei_low is None or label.eei_high is None):
        return label
    history = [
        row
        for row in catalog.label_history(label.model_id, label.task, label.hardware, scheme.version)
        if row["measured_at"] < label.measured_at and row["grade"] is not None
    ]
    if not history:
        if label.grade is None:
            return label
        return _replace(label, grade_changed_at=label.measured_at)
    previous = history[-1]
    grade = published_grade(
        scheme,
        previous["grade"],
        label.eei_low or 0.0,
        label.eei_high or 0.0,
        label.measured_grade or "",
        contended=contended,
    )
    if contended:  # the grade shown is the clean one published before, not this one's
        label = _replace(label, contended=False)
    # walk back to the last change of the published grade
    grades = [row["grade"] for row in history] + [grade]
    dates = [row["measured_at"] for row in history] + [label.measured_at]
    changed_at, earlier = dates[0], None
    for i in range(1, len(grades)):
        if grades[i] != grades[i - 1]:
            changed_at, earlier = dates[i], grades[i - 1]
    return _replace(label, grade=grade, previous_grade=earlier, grade_changed_at=changed_at)


def _measured_contended(label: LabelRecord) -> bool:
    """This label's measurement was contended: graded anyway, or withheld as busy."""
    return label.contended or (label.grade is None and _busy(label.reason))


def _busy(reason: str | None) -> bool:
    return (reason or "").startswith("the host was busy")


def _replace(label: LabelRecord, **changes: object) -> LabelRecord:
    from dataclasses import replace

    return replace(label, **changes)

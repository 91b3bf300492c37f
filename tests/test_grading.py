"""Grading under scheme v1: class boundaries, the achievable grade, and ungraded reasons.

Runs are built directly as `labels.records.RunRecord`, so these tests need no model.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime

import pytest

from labeler.grading import grade_catalog, grade_runs
from labels import HardwareRecord, ModelRecord, RunRecord, RunResult, load_scheme
from labels.scheme import Reference

TASK, HW = "text-classification", "cpu-x86-64"
E_REF = 2.0  # Wh per 1k inferences at the D/E boundary of the test scheme


@pytest.fixture(scope="module")
def scheme():
    """Scheme v1 with one reference energy, so grades can be computed."""
    v1 = load_scheme("v1")
    references = {(TASK, HW): Reference(TASK, HW, E_REF, "test")}
    return dataclasses.replace(v1, references=references)


def run(variant: str = "baseline", **fields) -> RunRecord:
    values = {
        "run_id": f"run-{variant}",
        "scan_id": "scan-1",
        "model_id": "org/model",
        "revision": "rev1",
        "task": TASK,
        "hardware_profile": HW,
        "hardware_fingerprint": "fp",
        "variant": variant,
        "tactic": variant,
        "status": "ok",
        "energy_method": "estimate",
        "harness_version": "h1",
        "scheme_version": "v1",
        "finished_at": datetime(2026, 11, 1, 12, 0),
        "energy_wh_per_1k": E_REF,
        "latency_ms_p50": 10.0,
        "quality_metric": "top1_agreement",
        "quality_value": 1.0,
        "qualifies": True,
        "size_mb": 100.0,
    }
    values.update(fields)
    return RunRecord(**values)


@pytest.mark.parametrize(
    ("eei", "grade"),
    [
        (0.0, "A"),
        (0.124999, "A"),
        (0.125, "B"),
        (0.249999, "B"),
        (0.25, "C"),
        (0.499999, "C"),
        (0.5, "D"),
        (0.999999, "D"),
        (1.0, "E"),
        (1.999999, "E"),
        (2.0, "F"),
        (3.999999, "F"),
        (4.0, "G"),
        (1000.0, "G"),
    ],
)
def test_scheme_v1_class_boundaries(scheme, eei, grade):
    assert scheme.grade_for_eei(eei) == grade


def test_negative_eei_is_refused(scheme):
    with pytest.raises(ValueError):
        scheme.grade_for_eei(-0.1)


def test_each_class_step_halves_the_energy(scheme):
    bounds = [scheme.upper_eei[g] for g in "ABCDEF"]
    assert all(b / a == 2 for a, b in zip(bounds, bounds[1:], strict=False))
    assert scheme.upper_eei["D"] == 1.0  # E_ref is the D/E boundary


@pytest.mark.parametrize(("energy", "grade"), [(0.2, "A"), (0.25, "B"), (1.0, "D"), (8.0, "G")])
def test_baseline_grade_from_energy(scheme, energy, grade):
    label = grade_runs([run(energy_wh_per_1k=energy)], scheme)
    assert label.grade == grade
    assert label.eei == pytest.approx(energy / E_REF)
    assert label.best_variant == "baseline"
    assert label.best_grade == grade
    assert label.quality_retained == 1.0
    assert label.reason is None
    assert (label.energy_wh_per_1k, label.energy_method) == (energy, "estimate")
    assert label.measured_at == datetime(2026, 11, 1, 12, 0)


def test_best_qualifying_variant_is_the_achievable_grade(scheme):
    runs = [
        run(energy_wh_per_1k=1.9),  # D
        run("dynamic-int8", energy_wh_per_1k=0.9, quality_value=0.99),  # C, qualifies
        run("half", energy_wh_per_1k=1.2, quality_value=0.995),  # qualifies, but costs more
        run("pruned", energy_wh_per_1k=0.1, quality_value=0.5, qualifies=False),  # cheaper, bad
        run("compile", status="failed", reason="boom", energy_wh_per_1k=None),
    ]
    label = grade_runs(runs, scheme)
    assert label.grade == "D"
    assert label.best_variant == "dynamic-int8"
    assert label.best_grade == "C"
    assert label.best_energy_wh_per_1k == 0.9
    assert label.quality_retained == 0.99
    assert label.quality_metric == "top1_agreement"
    # every variant is listed (the failed one last), never the baseline itself
    recs = json.loads(label.recommendations_json)
    assert [r["variant"] for r in recs] == ["dynamic-int8", "half", "pruned", "compile"]


def test_non_qualifying_cheaper_variant_never_counts(scheme):
    runs = [
        run(energy_wh_per_1k=1.0),
        run("pruned", energy_wh_per_1k=0.01, quality_value=0.2, qualifies=False),
        run("unknown-quality", energy_wh_per_1k=0.01, quality_value=None, qualifies=None),
    ]
    label = grade_runs(runs, scheme)
    assert label.best_variant == "baseline"
    assert label.best_grade == label.grade == "D"


def test_no_reference_for_task_and_hardware_is_ungraded_with_reason(scheme):
    label = grade_runs([run(hardware_profile="gpu-h100-80gb")], scheme)
    assert label.grade is None and label.best_grade is None and label.eei is None
    assert "no reference energy" in label.reason
    assert "gpu-h100-80gb" in label.reason


@pytest.mark.parametrize("status", ["failed", "skipped"])
def test_failed_or_skipped_baseline_is_ungraded_with_its_reason(scheme, status):
    baseline = run(status=status, reason="load error: bad weights", energy_wh_per_1k=None)
    label = grade_runs([baseline], scheme)
    assert label.grade is None and label.best_variant is None
    assert label.reason == f"{status}: load error: bad weights"


def test_an_ungraded_label_keeps_what_the_baseline_measured(scheme):
    failed = run(status="failed", reason=None, energy_wh_per_1k=1.5, energy_method="rapl")
    label = grade_runs([failed], scheme)
    assert label.reason == "failed: no measurement"
    assert (label.energy_wh_per_1k, label.energy_method) == (1.5, "rapl")
    assert (label.grade, label.recommendations_json) == (None, "[]")
    # an ok status without an energy is no measurement either
    unmeasured = grade_runs([run(energy_wh_per_1k=None)], scheme)
    assert (unmeasured.grade, unmeasured.reason) == (None, "ok: no measurement")


def test_without_a_finish_time_a_label_is_measured_now(scheme):
    from labels.catalog import utc_now

    before = utc_now()
    label = grade_runs([run(finished_at=None), run("half", finished_at=None)], scheme)
    assert before <= label.measured_at <= utc_now()


def test_tactics_that_do_not_apply_are_read_from_the_baselines_provenance(scheme):
    provenance = json.dumps({"not_applicable": {"fp16": "needs a GPU"}})
    label = grade_runs([run(provenance_json=provenance)], scheme)
    [skipped] = json.loads(label.recommendations_json)
    assert (skipped["tactic"], skipped["applies"]) == ("fp16", False)
    assert skipped["note"] == "needs a GPU"
    for empty in (None, "", "{}"):
        assert grade_runs([run(provenance_json=empty)], scheme).recommendations_json == "[]"


def test_joules_per_token_only_for_a_task_of_the_scheme_with_new_tokens(scheme):
    from labeler.grading import energy_j_per_token

    assert energy_j_per_token(run(task="speech-recognition"), scheme) is None
    assert energy_j_per_token(run(), scheme) is None  # text-classification: no new tokens
    assert energy_j_per_token(run(energy_wh_per_1k=None), scheme) is None


def test_no_baseline_is_an_error(scheme):
    with pytest.raises(ValueError, match="^no baseline run among the runs to grade$"):
        grade_runs([run("dynamic-int8")], scheme)


def test_noisy_baseline_or_best_flags_the_label(scheme):
    label = grade_runs([run(noisy=True)], scheme)
    assert label.noisy is True
    noisy_best = [run(), run("dynamic-int8", energy_wh_per_1k=0.5, noisy=True)]
    assert grade_runs(noisy_best, scheme).noisy is True
    quiet = [run(), run("dynamic-int8", energy_wh_per_1k=0.5)]
    assert grade_runs(quiet, scheme).noisy is False


def test_a_variant_measured_at_zero_energy_is_graded_a(scheme):
    label = grade_runs([run(), run("dynamic-int8", energy_wh_per_1k=0.0)], scheme)
    assert (label.best_variant, label.best_energy_wh_per_1k, label.best_grade) == (
        "dynamic-int8",
        0.0,
        "A",
    )


def test_grade_catalog_writes_labels(fresh_catalog, scheme):
    hw = HardwareRecord("fp", HW, "cpu", "cpu", "Test CPU", 2, 8.0)
    model = ModelRecord("org/model", "rev1", TASK, "local")
    broken = ModelRecord("org/broken", "rev1", TASK, "local")
    fresh_catalog.record_model_results(
        model,
        hw,
        [
            RunResult(run(energy_wh_per_1k=1.5)),
            RunResult(run("dynamic-int8", energy_wh_per_1k=0.4)),
        ],
    )
    fresh_catalog.record_model_results(
        broken,
        hw,
        [
            RunResult(
                run(
                    run_id="broken",
                    model_id="org/broken",
                    status="failed",
                    reason="timeout after 5 s",
                    energy_wh_per_1k=None,
                )
            )
        ],
    )
    summary = grade_catalog(fresh_catalog, scheme)
    assert (summary.graded, summary.ungraded, summary.scheme_version) == (1, 1, "v1")
    rows = {r.model_id: r for r in fresh_catalog.latest_labels()}
    assert rows["org/model"].grade == "D"
    assert rows["org/model"].best_grade == "B"
    assert rows["org/model"].best_variant == "dynamic-int8"
    assert rows["org/broken"].grade is None
    assert rows["org/broken"].reason == "failed: timeout after 5 s"
    recs = json.loads(rows["org/model"].recommendations_json)
    assert recs[0]["tactic"] == "dynamic-int8"
    grade_catalog(fresh_catalog, scheme)  # grading again replaces, never duplicates
    assert fresh_catalog.query("SELECT count(*) FROM labels").rows == [(2,)]


def test_variants_from_an_older_scan_are_not_mixed_with_a_newer_baseline():
    from labeler.grading import same_scan_as_baseline

    baseline = run("baseline", scan_id="new")
    old_variant = run("dynamic-int8", scan_id="old")
    new_variant = run("prune-global-25", scan_id="new")
    kept = same_scan_as_baseline([baseline, old_variant, new_variant])
    assert [r.variant for r in kept] == ["baseline", "prune-global-25"]

    # Without a baseline run (it failed to load) nothing is dropped: the grade says why.
    orphans = [old_variant, new_variant]
    assert same_scan_as_baseline(orphans) == orphans


def test_a_saving_inside_the_window_spread_does_not_count(scheme):
    """Masked pruning 'saving' 5 % while windows overlap is noise, not an achievable grade."""
    baseline = run(energy_wh_per_1k=1.0, energy_wh_per_1k_min=0.95, energy_wh_per_1k_max=1.08)
    overlapping = run(
        "prune-global-25",
        energy_wh_per_1k=0.97,
        energy_wh_per_1k_min=0.9,
        energy_wh_per_1k_max=1.02,
    )
    label = grade_runs([baseline, overlapping], scheme)
    assert label.best_variant == "baseline"
    recs = json.loads(label.recommendations_json)
    assert recs[0]["saving_measurable"] is False
    assert "within the spread" in recs[0]["note"]

    separate = run(
        "dynamic-int8",
        energy_wh_per_1k=0.6,
        energy_wh_per_1k_min=0.55,
        energy_wh_per_1k_max=0.65,
    )
    label = grade_runs([baseline, overlapping, separate], scheme)
    assert label.best_variant == "dynamic-int8"
    recs = json.loads(label.recommendations_json)
    assert [r["variant"] for r in recs[:2]] == ["dynamic-int8", "prune-global-25"]
    assert recs[0]["saving_measurable"] is True


def test_paired_windows_decide_the_saving_and_the_achievable_energy(scheme):
    baseline = run(energy_wh_per_1k=1.0, windows=5)
    # the variant's own median looks 30 % cheaper, but it won only 3 of 5 pairs: drift
    lucky = run(
        "prune-local-25",
        energy_wh_per_1k=0.7,
        windows=5,
        paired_energy_ratio=0.97,
        paired_cheaper_windows=3,
    )
    # measured while the machine was slow, but cheaper than the baseline in every pair
    real = run(
        "dynamic-int8",
        energy_wh_per_1k=1.1,
        windows=5,
        paired_energy_ratio=0.6,
        paired_cheaper_windows=5,
    )
    label = grade_runs([baseline, lucky, real], scheme)
    assert label.best_variant == "dynamic-int8"
    assert label.best_energy_wh_per_1k == pytest.approx(0.6)  # baseline x paired ratio
    recs = {r["variant"]: r for r in json.loads(label.recommendations_json)}
    assert recs["dynamic-int8"]["energy_change"] == pytest.approx(-0.4)
    assert recs["dynamic-int8"]["measured_energy_wh_per_1k"] == 1.1
    assert recs["prune-local-25"]["saving_measurable"] is False
    assert "only some of the windows" in recs["prune-local-25"]["note"]

"""Recommendations: ranked by energy saved, with payback and the tactics that do not apply."""

from __future__ import annotations

import pytest

from labeler.recommend import (
    PRIORITIES,
    BatchingSummary,
    batching_sentence,
    batching_summary,
    headline,
    order_by_priority,
    recommendations,
)
from labels.batching import BatchingAdvice, BatchPoint, batch_sweep_to_json
from labels.recommendation import (
    Recommendation,
    recommendation_from_dict,
    recommendations_from_json,
    recommendations_to_json,
)
from tests.label_records import latest_label
from tests.test_grading import run


def grade_of(energy_wh_per_1k: float) -> str:
    return "A" if energy_wh_per_1k < 0.5 else "D"


def test_ranked_by_energy_saved_qualifying_first():
    baseline = run(energy_wh_per_1k=2.0)
    variants = [
        run("half", energy_wh_per_1k=1.5),
        run("dynamic-int8", energy_wh_per_1k=0.4),
        run("pruned", energy_wh_per_1k=0.1, qualifies=False, quality_value=0.3),
        run("compile", energy_wh_per_1k=2.5),
    ]
    entries = recommendations(baseline, variants, {}, grade_of)
    assert [e.tactic for e in entries] == ["dynamic-int8", "half", "compile", "pruned"]
    assert entries[0].energy_change == pytest.approx(-0.8)
    assert entries[0].grade == "A"
    assert entries[-1].qualifies is False
    assert "outside the quality tolerance" in entries[-1].note
    assert "no less energy" in entries[2].note
    assert entries[2].payback_inferences is None


def test_payback_is_build_energy_over_energy_saved_per_inference():
    baseline = run(energy_wh_per_1k=2.0)
    variant = run("dynamic-int8", energy_wh_per_1k=1.5, build_energy_wh=0.05, build_s=1.0)
    [entry] = recommendations(baseline, [variant], {}, grade_of)
    saved_wh_per_inference = (2.0 - 1.5) / 1000
    assert entry.payback_inferences == round(0.05 / saved_wh_per_inference) == 100
    assert entry.build_energy_wh == 0.05


def test_free_build_pays_back_at_once():
    [entry] = recommendations(
        run(energy_wh_per_1k=2.0), [run("half", energy_wh_per_1k=1.0)], {}, grade_of
    )
    assert entry.payback_inferences == 0


def test_not_applicable_and_failed_tactics_are_listed_with_reasons():
    baseline = run(energy_wh_per_1k=2.0)
    failed = run("compile", status="failed", reason="inductor crashed", energy_wh_per_1k=None)
    entries = recommendations(
        baseline,
        [failed],
        {"half-precision": "fp16 needs a GPU", "int8-weight-only": "torchao needs CUDA"},
        grade_of,
    )
    assert entries[0] == Recommendation(
        tactic="compile", variant="compile", applies=True, note="failed: inductor crashed"
    )
    not_applicable = {e.tactic: e for e in entries if not e.applies}
    assert not_applicable["half-precision"].note == "fp16 needs a GPU"
    assert not_applicable["int8-weight-only"].qualifies is False


def test_variant_without_quality_value_does_not_crash():
    entries = recommendations(
        run(energy_wh_per_1k=2.0),
        [run("odd", energy_wh_per_1k=1.0, qualifies=False, quality_value=None)],
        {},
        grade_of,
    )
    assert entries[0].qualifies is False
    assert recommendations_from_json(recommendations_to_json(entries)) == entries


def test_headline():
    label = latest_label(
        grade="C",
        best_grade="A",
        best_variant="dynamic-int8",
        energy_wh_per_1k=1.0,
        best_energy_wh_per_1k=0.59,
        quality_retained=0.996,
        quality_metric="top1_agreement",
    )
    assert headline(label) == "C → A with dynamic-int8, −41 % energy, 99.6 % top1 agreement"
    unchanged = latest_label(grade="D", best_variant="baseline")
    assert "no tactic measurably saved" in headline(unchanged)


def test_headline_fills_what_a_label_lacks() -> None:
    """No grade, no metric name, no achievable grade: the line still reads, with stand-ins."""
    label = latest_label(
        best_variant="layer-drop-top-50",
        energy_wh_per_1k=1.0,
        best_energy_wh_per_1k=0.1,
        quality_retained=0.5,
    )
    assert headline(label) == "ungraded → ? with layer-drop-top-50, −90 % energy, 50.0 % quality"
    assert headline(latest_label(best_variant=None)) == (
        "ungraded: no tactic measurably saved energy within the quality tolerance"
    )


def test_a_stored_list_from_an_older_version_still_reads() -> None:
    """Missing fields take their defaults, unknown ones are dropped, junk reads as empty."""
    old = '[{"tactic": "fp16", "note": "GPU only", "applies": false, "retired_field": 1}, 3]'
    assert recommendations_from_json(old) == [
        Recommendation(tactic="fp16", variant="fp16", applies=False, note="GPU only")
    ]
    assert recommendations_from_json("not json") == []
    assert recommendations_from_json(None) == []
    assert recommendation_from_dict({"variant": "v", "quality_extra": None}).quality_extra == {}


def test_latest_label_reads_its_recommendations_once_and_typed() -> None:
    ranked = [Recommendation(tactic="dynamic-int8", variant="dynamic-int8", qualifies=True)]
    label = latest_label(recommendations_json=recommendations_to_json(ranked))
    assert label.recommendations == ranked
    assert label.recommendations is label.recommendations  # parsed once
    assert "recommendations" not in label.to_dict()  # the stored JSON is the one form


# -- one entry, every field: what the site and the card show of a tactic ---------------------


def test_an_entry_carries_every_figure_measured_beside_the_windows_range() -> None:
    baseline = run(
        energy_wh_per_1k=2.0,
        energy_wh_per_1k_min=1.9,
        latency_ms_p50=10.0,
        size_mb=100.0,
        quality_json='{"labelled_accuracy": 0.9}',
    )
    variant = run(
        "dynamic-int8",
        energy_wh_per_1k=1.0,
        energy_wh_per_1k_max=1.1,
        latency_ms_p50=8.0,
        size_mb=25.0,
        build_s=3.0,
        build_energy_wh=0.0101,
        quality_value=0.99,
        quality_json='{"top1_agreement": 0.99, "cosine": 0.95, "labelled_accuracy": 0.88,'
        ' "count": 3, "name": "x"}',
        notes="built with torch.ao",
        noisy=True,
    )
    (entry,) = recommendations(baseline, [variant], {}, grade_of)
    assert entry == Recommendation(
        tactic="dynamic-int8",
        variant="dynamic-int8",
        applies=True,
        qualifies=True,
        note="built with torch.ao; labelled accuracy 0.8800 (baseline 0.9000)",
        energy_wh_per_1k=1.0,
        measured_energy_wh_per_1k=1.0,
        energy_change=-0.5,
        latency_change=-0.2,
        paired_windows=False,
        cheaper_pairs=None,
        quality_metric="top1_agreement",
        quality_value=0.99,
        quality_extra={"cosine": 0.95, "labelled_accuracy": 0.88, "count": 3.0},
        labelled_accuracy=0.88,
        baseline_labelled_accuracy=0.9,
        saving_measurable=True,
        grade="D",
        size_mb=25.0,
        size_change=-0.75,
        build_s=3.0,
        build_energy_wh=0.0101,
        payback_inferences=11,  # 0.0101 Wh / 1.0 Wh per 1,000 = 10.1, rounded up
        noisy=True,
    )
    assert isinstance(entry.quality_extra["count"], float)


def test_a_paired_entry_takes_its_change_from_the_pairs_not_the_medians() -> None:
    baseline = run(energy_wh_per_1k=2.0, latency_ms_p50=10.0)
    variant = run(
        "half",
        energy_wh_per_1k=1.9,  # the variant's own median drifted; the pairs did not
        windows=5,
        paired_energy_ratio=0.75,
        paired_latency_ratio=1.5,
        paired_cheaper_windows=5,
        quality_json="not json",
    )
    (entry,) = recommendations(baseline, [variant], {}, lambda e: "B" if e == 1.5 else "X")
    assert (entry.energy_wh_per_1k, entry.measured_energy_wh_per_1k) == (1.5, 1.9)
    assert (entry.energy_change, entry.latency_change) == (-0.25, 0.5)
    assert (entry.paired_windows, entry.cheaper_pairs, entry.saving_measurable) == (True, 5, True)
    assert entry.grade == "B"
    assert entry.payback_inferences == 0 and entry.build_energy_wh == 0.0
    assert entry.quality_extra == {} and entry.labelled_accuracy is None
    assert entry.note == "" and entry.noisy is False


def test_a_saving_the_measurement_cannot_tell_from_drift_says_so() -> None:
    baseline = run(energy_wh_per_1k=2.0, energy_wh_per_1k_min=1.5)
    some_pairs = run("a", energy_wh_per_1k=1.8, windows=5, paired_cheaper_windows=4)
    overlapping = run("b", energy_wh_per_1k=1.8, energy_wh_per_1k_max=1.5)
    entries = {
        e.tactic: e for e in recommendations(baseline, [some_pairs, overlapping], {}, grade_of)
    }
    assert entries["a"].note == (
        "cheaper in only some of the windows measured beside the baseline: not counted"
    )
    assert entries["b"].note == "saving within the spread of the measured windows: not counted"
    assert not entries["a"].saving_measurable and not entries["b"].saving_measurable
    (dearer,) = recommendations(baseline, [run("c", energy_wh_per_1k=2.0)], {}, grade_of)
    assert dearer.note == "uses no less energy than the baseline here"
    assert dearer.payback_inferences is None


def test_a_variant_outside_the_tolerance_says_what_it_measured() -> None:
    baseline = run(energy_wh_per_1k=2.0)
    low = run("a", energy_wh_per_1k=1.0, qualifies=False, quality_value=0.91234)
    unmeasured = run("b", energy_wh_per_1k=1.0, qualifies=None, quality_value=None)
    entries = {e.tactic: e for e in recommendations(baseline, [low, unmeasured], {}, grade_of)}
    assert entries["a"].note == "outside the quality tolerance (top1_agreement 0.9123)"
    assert entries["b"].note == "outside the quality tolerance (quality not measured)"
    assert entries["a"].qualifies is False and entries["b"].qualifies is False


def test_labelled_accuracy_is_shown_without_a_baseline_figure_too() -> None:
    baseline = run(energy_wh_per_1k=2.0, quality_json="[1, 2]")
    variant = run("a", energy_wh_per_1k=2.5, quality_json='{"labelled_accuracy": 0.5}')
    (entry,) = recommendations(baseline, [variant], {}, grade_of)
    assert entry.note == "labelled accuracy 0.5000; uses no less energy than the baseline here"
    assert entry.baseline_labelled_accuracy is None


def test_the_ranking_puts_measurable_savings_before_unmeasurable_and_unknown_changes_last() -> None:
    baseline = run(energy_wh_per_1k=2.0, energy_wh_per_1k_min=1.5)
    variants = [
        run("unmeasurable", energy_wh_per_1k=0.5, energy_wh_per_1k_max=1.6),
        run("measurable", energy_wh_per_1k=1.2, energy_wh_per_1k_max=1.4),
        run("bigger-measurable", energy_wh_per_1k=1.0, energy_wh_per_1k_max=1.4),
        run("broken", status="failed", reason="oom", energy_wh_per_1k=None),
        run("unmeasured", energy_wh_per_1k=None),
    ]
    not_applicable = {"z-tactic": "needs a GPU", "a-tactic": "needs CUDA"}
    entries = recommendations(baseline, variants, not_applicable, grade_of)
    assert [(e.tactic, e.applies) for e in entries] == [
        ("bigger-measurable", True),
        ("measurable", True),
        ("unmeasurable", True),
        ("broken", True),
        ("a-tactic", False),
        ("z-tactic", False),
    ]
    assert entries[3] == Recommendation(tactic="broken", variant="broken", note="failed: oom")
    assert entries[4] == Recommendation(
        tactic="a-tactic", variant="a-tactic", applies=False, note="needs CUDA"
    )
    # A baseline of zero energy gives no change to rank by: such entries go last.
    zero = run(energy_wh_per_1k=0.0)
    ranked = recommendations(
        zero,
        [run("x", energy_wh_per_1k=1.0), run("y", energy_wh_per_1k=1.0, paired_energy_ratio=3.0)],
        {},
        grade_of,
    )
    assert [(e.tactic, e.energy_change) for e in ranked] == [("y", 2.0), ("x", None)]


def test_measurably_cheaper_in_every_pair_or_below_every_baseline_window() -> None:
    from labeler.recommend import measurably_cheaper

    baseline = run(energy_wh_per_1k=2.0, energy_wh_per_1k_min=1.5)
    assert not measurably_cheaper(run("v", energy_wh_per_1k=None), baseline)
    assert not measurably_cheaper(run("v", energy_wh_per_1k=1.0), run(energy_wh_per_1k=None))
    assert measurably_cheaper(run("v", windows=5, paired_cheaper_windows=5), baseline)
    assert measurably_cheaper(run("v", windows=5, paired_cheaper_windows=6), baseline)
    assert not measurably_cheaper(run("v", windows=5, paired_cheaper_windows=4), baseline)
    assert not measurably_cheaper(run("v", windows=0, paired_cheaper_windows=0), baseline)
    assert measurably_cheaper(run("v", windows=1, paired_cheaper_windows=1), baseline)
    assert measurably_cheaper(run("v", energy_wh_per_1k=1.0, energy_wh_per_1k_max=1.49), baseline)
    assert not measurably_cheaper(
        run("v", energy_wh_per_1k=1.0, energy_wh_per_1k_max=1.5), baseline
    )
    # Without the windows' range, only the medians are left to compare.
    assert measurably_cheaper(run("v", energy_wh_per_1k=1.99), run(energy_wh_per_1k=2.0))
    assert not measurably_cheaper(run("v", energy_wh_per_1k=2.0), run(energy_wh_per_1k=2.0))
    # A range on one side only is no range: the medians again.
    assert measurably_cheaper(
        run("v", energy_wh_per_1k=1.0, energy_wh_per_1k_max=2.5), run(energy_wh_per_1k=2.0)
    )
    assert not measurably_cheaper(
        run("v", energy_wh_per_1k=2.5), run(energy_wh_per_1k=2.0, energy_wh_per_1k_min=3.0)
    )


def test_changes_and_the_achievable_energy_without_figures_to_compare() -> None:
    from labeler.recommend import achievable_energy_wh_per_1k, energy_change, latency_change

    zero = run(energy_wh_per_1k=0.0, latency_ms_p50=0.0)
    assert energy_change(run("v", energy_wh_per_1k=1.0), zero) is None
    assert latency_change(run("v", latency_ms_p50=5.0), zero) is None
    assert energy_change(run("v", energy_wh_per_1k=None), run(energy_wh_per_1k=2.0)) is None
    assert latency_change(run("v", latency_ms_p50=None), run(latency_ms_p50=4.0)) is None
    assert latency_change(run("v", latency_ms_p50=5.0), run(latency_ms_p50=4.0)) == 0.25
    # No baseline figure to scale: the variant's own median is what it achieves.
    unknown = run(energy_wh_per_1k=None)
    assert achievable_energy_wh_per_1k(run("v", energy_wh_per_1k=1.25), unknown) == 1.25
    paired = run("v", energy_wh_per_1k=1.25, paired_energy_ratio=0.5)
    assert achievable_energy_wh_per_1k(paired, unknown) == 1.25
    assert achievable_energy_wh_per_1k(paired, run(energy_wh_per_1k=4.0)) == 2.0


def test_headline_names_the_metric_in_words_and_a_baseline_best_is_no_tactic() -> None:
    label = latest_label(
        grade="B",
        best_variant="half",
        best_grade="A",
        energy_wh_per_1k=2.0,
        best_energy_wh_per_1k=None,
        quality_retained=None,
        quality_metric="next_token_agreement",
    )
    assert headline(label) == "B \u2192 A with half"
    label = latest_label(
        grade="B",
        best_variant="half",
        best_grade="A",
        quality_retained=1.0,
        quality_metric="next_token_agreement",
    )
    assert headline(label) == "B \u2192 A with half, 100.0 % next token agreement"
    assert headline(latest_label(grade="B", best_variant="")) == (
        "B: no tactic measurably saved energy within the quality tolerance"
    )


def test_zero_energies_are_figures_not_missing_ones() -> None:
    """A baseline or a variant that measured 0 Wh (an estimate rounded down) is compared as 0."""
    (entry,) = recommendations(
        run(energy_wh_per_1k=0.0), [run("a", energy_wh_per_1k=0.5)], {}, grade_of
    )
    assert entry.payback_inferences is None
    assert entry.note == "uses no less energy than the baseline here"
    (free,) = recommendations(
        run(energy_wh_per_1k=2.0), [run("b", energy_wh_per_1k=0.0)], {}, grade_of
    )
    assert (free.energy_wh_per_1k, free.energy_change, free.payback_inferences) == (0.0, -1.0, 0)


def test_a_build_that_measured_below_zero_pays_back_at_once() -> None:
    """Idle power subtracted from a short build can leave it below zero: no payback wait."""
    variant = run("half", energy_wh_per_1k=1.0, build_energy_wh=-0.01)
    (entry,) = recommendations(run(energy_wh_per_1k=2.0), [variant], {}, grade_of)
    assert entry.payback_inferences == 0
    assert entry.build_energy_wh == -0.01


# -- priorities ----------------------------------------------------------------------------


def _rec(
    name: str, energy: float | None, latency: float | None, quality: float | None, **fields
) -> Recommendation:
    values = {
        "tactic": name,
        "variant": name,
        "energy_change": energy,
        "latency_change": latency,
        "quality_value": quality,
        "qualifies": True,
        "saving_measurable": True,
        **fields,
    }
    return Recommendation(**values)


RECS = [
    _rec("int8", -0.40, +0.10, 0.990),
    _rec("compile", -0.20, -0.50, 0.999),
    _rec("sdpa", -0.203, -0.30, 1.000),  # within a point of compile's energy: a tie
    _rec("prune", -0.60, -0.60, 0.50, qualifies=False),
    _rec("noisy", -0.50, -0.50, 1.0, saving_measurable=False),
    Recommendation(tactic="broken", variant="broken", note="failed: kaboom"),
    Recommendation(tactic="fp16", variant="fp16", applies=False, note="needs a GPU"),
]
COST = {"int8": -0.05, "compile": -0.45, "sdpa": -0.25, "prune": -0.5, "noisy": -0.4}


def _order(priority: str) -> list[str]:
    return [r.tactic for r in order_by_priority(RECS, priority, lambda r: COST.get(r.tactic))]


def test_energy_priority_ties_broken_by_latency():
    # compile (-20 %) and sdpa (-20.3 %) tie on energy: compile's -50 % latency decides
    assert _order("energy") == ["int8", "compile", "sdpa", "noisy", "prune", "broken", "fp16"]


def test_latency_priority():
    assert _order("latency") == ["compile", "sdpa", "int8", "noisy", "prune", "broken", "fp16"]


def test_quality_priority():
    assert _order("quality") == ["sdpa", "compile", "int8", "noisy", "prune", "broken", "fp16"]


def test_cost_priority_uses_the_money_change():
    assert _order("cost") == ["compile", "sdpa", "int8", "noisy", "prune", "broken", "fp16"]
    # without money figures every cost ties and energy decides
    plain = [r.tactic for r in order_by_priority(RECS, "cost")]
    assert plain == _order("energy")


def test_every_priority_is_known_and_others_refused():
    assert PRIORITIES == ("energy", "latency", "quality", "cost")
    with pytest.raises(ValueError, match="unknown priority"):
        order_by_priority(RECS, "speed")


# -- batching ------------------------------------------------------------------------------


def test_batching_sentence_gives_the_size_the_energy_change_and_the_wait_added() -> None:
    advice = BatchingAdvice(32, -0.8, 40.04, 0.2, 50.0)
    assert batching_sentence(advice) == (
        "serve at batch 32: \u221280 % energy per inference, +40.0 ms per request"
    )
    slower = BatchingAdvice(8, -0.123, -1.26, 0.3, 9.0)
    assert batching_sentence(slower) == (
        "serve at batch 8: \u221212 % energy per inference, -1.3 ms per request"
    )


def test_batching_summary_reads_the_sweep_of_the_baseline_run_only() -> None:
    sweep = [
        BatchPoint(1, energy_wh_per_1k=1.0, latency_ms_per_request=10.0, windows=3),
        BatchPoint(8, energy_wh_per_1k=0.3, latency_ms_per_request=20.0, windows=3),
    ]
    stored = batch_sweep_to_json(sweep)
    variant = run("dynamic-int8", batch_sweep_json=batch_sweep_to_json(sweep[:1]))
    summary = batching_summary([variant, run(batch_sweep_json=stored)])
    assert summary == BatchingSummary(sweep, BatchingAdvice(8, -0.7, 10.0, 0.3, 20.0))
    assert summary.sentence == (
        "serve at batch 8: \u221270 % energy per inference, +10.0 ms per request"
    )
    # a sweep where batch 1 is cheapest has points but no advice, and so no sentence
    flat = [sweep[0], BatchPoint(8, energy_wh_per_1k=1.5, latency_ms_per_request=20.0)]
    no_advice = batching_summary([run(batch_sweep_json=batch_sweep_to_json(flat))])
    assert no_advice == BatchingSummary(flat, None) and no_advice.sentence is None
    assert batching_summary([run()]) is None  # no sweep measured
    assert batching_summary([variant]) is None  # no baseline: a variant's sweep is not read
    assert batching_summary([]) is None


def test_ties_within_a_point_go_to_the_next_priority_whatever_the_input_order():
    slow = _rec("slow", -0.203, -0.10, 0.999)
    fast = _rec("fast", -0.20, -0.50, 0.990)
    assert [r.tactic for r in order_by_priority([slow, fast], "energy")] == ["fast", "slow"]
    assert [r.tactic for r in order_by_priority([fast, slow], "quality")] == ["slow", "fast"]


def test_missing_figures_rank_last_within_their_group():
    bare = Recommendation(tactic="bare", variant="bare", qualifies=True, saving_measurable=True)
    entries = [bare, _rec("int8", -0.40, +0.10, 0.990)]
    for priority in PRIORITIES:
        assert [r.tactic for r in order_by_priority(entries, priority)] == ["int8", "bare"]


def test_groups_are_counted_then_qualifying_then_the_rest_measured_then_failed_and_skipped():
    entries = [
        Recommendation(tactic="fp16", variant="fp16", applies=False, note="needs a GPU"),
        Recommendation(tactic="broken", variant="broken", note="failed: kaboom"),
        _rec("prune-a", -0.30, -0.30, 0.50, qualifies=False),
        _rec("prune-b", -0.60, -0.60, 0.40, qualifies=False),
        _rec("noisy", -0.50, -0.50, 1.0, saving_measurable=False),
        _rec("int8", -0.40, +0.10, 0.990),
        # measured (against a baseline of zero energy), without a figure to sort by
        _rec("no-figures", None, None, None, qualifies=False),
    ]
    # the measured ones sorted within their group; failed and skipped keep their order
    assert [r.tactic for r in order_by_priority(entries, "energy")] == [
        "int8",
        "noisy",
        "prune-b",
        "prune-a",
        "no-figures",
        "fp16",
        "broken",
    ]


def test_an_unknown_priority_names_the_known_ones():
    with pytest.raises(ValueError) as error:
        order_by_priority(RECS, "speed")
    assert str(error.value) == "unknown priority 'speed' (known: energy, latency, quality, cost)"

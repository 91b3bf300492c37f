"""Recommendations: ranked by energy saved, with payback and the tactics that do not apply."""

from __future__ import annotations

import pytest

from labeler.recommend import headline, recommendations
from labels.latest_label import LATEST_LABEL_COLUMNS, LatestLabel
from labels.recommendation import (
    Recommendation,
    recommendation_from_dict,
    recommendations_from_json,
    recommendations_to_json,
)
from tests.test_grading import run


def latest_label(**fields: object) -> LatestLabel:
    """A `latest_labels` row with only the given fields set (ids filled in)."""
    ids = {"model_id": "org/m", "revision": "r", "task": "t", "hardware": "h"}
    return LatestLabel(**(dict.fromkeys(LATEST_LABEL_COLUMNS) | ids | fields))


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

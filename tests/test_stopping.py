"""Sequential stopping (issue 17): on pair ratios recorded on this project's 2-core machine,
and through the real pair loop on a fake clock.

The recorded ratios are the scheme v2 stability run (benchmarks/results/cpu-2vcpu-2026-11-23/
stability.json): five fresh processes per model, five model/reference pairs each.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from labels.scheme import load_scheme
from labels.stopping import grade_decided, pairs_taken, saving_decided
from scanner.harness import Protocol, run_paired_windows
from scanner.meters.fake import FakeMeter
from tests.test_harness import DriftingMachine

RECORDED = Path(__file__).resolve().parents[1] / (
    "benchmarks/results/cpu-2vcpu-2026-11-23/stability.json"
)
V2 = load_scheme("v2")
FEWEST, MOST = 2, 5


def recorded(model_id: str) -> list[list[float]]:
    models = json.loads(RECORDED.read_text(encoding="utf-8"))["models"]
    return [repeat["pair_ratios"] for repeat in models[model_id]["repeats"]]


def grade(ratios: list[float]) -> str:
    return V2.grade_for_eei(sorted(ratios)[len(ratios) // 2])


@pytest.mark.parametrize(
    "model_id",
    ["synthetic/tiny-bert-text-classification", "synthetic/tiny-distilbert-token-classification"],
)
def test_far_from_a_boundary_the_grade_is_decided_after_the_minimum(model_id: str) -> None:
    decided = functools.partial(grade_decided, V2)
    for ratios in recorded(model_id):  # EEI about 0.0035: class A, 36x below A/B
        taken = pairs_taken(ratios, decided, FEWEST, MOST)
        assert taken == FEWEST
        assert grade(ratios[:taken]) == grade(ratios) == "A"


def test_near_a_boundary_the_pairs_run_to_the_maximum() -> None:
    decided = functools.partial(grade_decided, V2)
    # MiniLM beside BERT-base: EEI 0.125-0.146, on the A/B boundary at 0.125
    for ratios in recorded("sentence-transformers/all-MiniLM-L6-v2"):
        assert pairs_taken(ratios, decided, FEWEST, MOST) == MOST


def test_never_fewer_than_the_minimum_even_when_one_pair_would_decide() -> None:
    decided = functools.partial(grade_decided, V2)
    ratios = recorded("synthetic/tiny-bert-text-classification")[0]
    assert decided(ratios[:1])  # one pair alone already looks certain
    for fewest in (1, 2, 3, 4):
        assert pairs_taken(ratios, decided, fewest, MOST) == fewest


def test_the_margin_keeps_a_model_close_to_a_boundary_measuring() -> None:
    # 0.11 and 0.115 are both class A, but within 20 % of the A/B boundary at 0.125
    assert not grade_decided(V2, [0.11, 0.115])
    assert grade_decided(V2, [0.11, 0.115], margin=1.05)
    assert grade_decided(V2, [0.16, 0.19])  # mid class B: 0.133-0.228 stays in B
    assert not grade_decided(V2, [])


def test_a_saving_is_decided_only_once_it_can_no_longer_count() -> None:
    assert saving_decided([0.8, 1.02], qualifies=True)  # one pair not cheaper: cannot count
    assert saving_decided([0.5, 0.5], qualifies=False)  # outside the quality gate
    assert not saving_decided([0.8, 0.7, 0.75], qualifies=True)  # still possible: go on
    assert saving_decided([0.8, 1.0], qualifies=True)  # as much energy is not a saving
    assert not saving_decided([], qualifies=True)


def test_the_grade_is_decided_on_the_eei_the_energy_multiple_gives() -> None:
    # ratios 0.7 and 0.8 beside a reference at half the D/E boundary: EEI 0.35-0.4, with
    # the margin 0.29-0.48, all class C (multiplied instead, one end would reach E)
    assert grade_decided(V2, [0.7, 0.8], energy_multiple=2.0)
    assert not grade_decided(V2, [0.7, 0.8], energy_multiple=1.5)  # 0.39-0.64: C and D
    assert not grade_decided(V2, [0.7, 0.8], energy_multiple=0.0)  # no reference: never
    assert not grade_decided(V2, [0.7, 0.8], energy_multiple=-1.0)


def test_the_replay_takes_the_first_count_that_decides_and_never_more_than_the_most() -> None:
    ratios = [0.5] * 5
    assert pairs_taken(ratios, lambda taken: len(taken) == 4, 1, 3) == 3  # never past most
    assert pairs_taken(ratios, lambda taken: len(taken) == 4, 1, 9) == 4
    assert pairs_taken(ratios, lambda taken: False, 1, 9) == 5  # all there are
    assert pairs_taken(ratios, lambda taken: False, 1, 1) == 1
    assert pairs_taken(ratios, lambda taken: True, 7, 9) == 5  # fewest past the recorded
    for fewest, most in ((0, 5), (1, 0), (0, 0)):
        with pytest.raises(ValueError) as refused:
            pairs_taken(ratios, lambda taken: True, fewest, most)
        assert str(refused.value) == "fewest and most must be at least 1"


def _pair_loop(variant_j_per_call: float, decided, protocol: Protocol) -> int:
    machine = DriftingMachine(drift_per_s=0.0)
    meter = FakeMeter(power_w=40.0, idle_w=0.0, clock=machine)
    paired = run_paired_windows(
        machine.model(variant_j_per_call),
        machine.model(0.1),
        meter,
        variant_inferences_per_call=8,
        baseline_inferences_per_call=8,
        protocol=protocol,
        idle_power_w=0.0,
        clock=machine,
        decided=decided,
    )
    assert len(paired.order) == 2 * paired.pairs
    return paired.pairs


def test_the_pair_loop_stops_once_decided_and_not_before_the_minimum() -> None:
    protocol = Protocol(
        warmup_s=0, warmup_iterations=0, window_s=1.0, window_iterations=1, windows=5
    )
    dearer = functools.partial(saving_decided, qualifies=True)
    assert _pair_loop(0.12, dearer, protocol) == 2  # dearer in every pair: stops at min
    assert _pair_loop(0.08, dearer, protocol) == 5  # cheaper in every pair: full count
    assert _pair_loop(0.12, dearer, Protocol(**{**protocol.__dict__, "min_pairs": 4})) == 4
    fixed = Protocol(**{**protocol.__dict__, "sequential": False})
    assert _pair_loop(0.12, dearer, fixed) == 5  # the fixed protocol ignores the rule
    assert _pair_loop(0.12, None, protocol) == 5


def test_protocol_refuses_a_minimum_below_one() -> None:
    with pytest.raises(ValueError, match="min_pairs"):
        Protocol(min_pairs=0)


def test_replayed_on_recorded_noise_early_grades_rarely_differ_from_the_full_count(
    tmp_path: Path,
) -> None:
    """benchmarks/stopping_replay.py: the error rate docs/methodology.md quotes, on fewer
    sequences. Near a boundary is where it could go wrong, so that band is checked apart."""
    import subprocess
    import sys

    out = tmp_path / "stopping.json"
    root = RECORDED.parents[3]
    subprocess.run(
        [sys.executable, "benchmarks/stopping_replay.py", "--sequences", "3000", "--out", out],
        cwd=root,
        check=True,
        capture_output=True,
    )
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["disagreement"] < 0.005
    assert result["by_boundary_distance_log2"]["<0.1"]["disagreement"] < 0.02
    assert FEWEST < result["mean_pairs"] < MOST  # it does stop early, and not always
    # deciding on one pair with no margin would be far worse: the check can tell
    subprocess.run(
        [sys.executable, "benchmarks/stopping_replay.py", "--sequences", "3000", "--out", out,
         "--margin", "1.0", "--fewest", "1"],
        cwd=root,
        check=True,
        capture_output=True,
    )  # fmt: skip
    assert json.loads(out.read_text(encoding="utf-8"))["disagreement"] > 0.02

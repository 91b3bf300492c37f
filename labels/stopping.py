"""Sequential stopping: measure pairs of windows until the answer is known, not for a fixed count.

A label used to cost the same number of window pairs for every model, although a tiny model
sits far inside class A after its first pair. The pair loop (`scanner.harness.
run_paired_windows`) now asks after every pair, from the protocol's `min_pairs` on, whether
the question those pairs answer is decided; it stops when it is, and at `windows` pairs (the
maximum, the old fixed count) in any case. Two questions are asked:

- **The grade** (the model beside its task's reference): decided when the range of the pair
  ratios so far, widened by `GRADE_MARGIN` on each side, lies inside one class. With two
  pairs that range covers the median only half of the time, so the margin (×1.2, a quarter
  of a class on the log scale where each class spans a factor of two) stands in for the
  missing pairs: a model whose ratios sit near a boundary always runs to the
  maximum, and its interval and borderline flag come from every pair it took.
- **A variant's saving** (the variant beside the baseline): a saving counts only when the
  variant used less energy in every pair of the full count (a sign test). Once one pair is
  not cheaper, or the variant failed the quality gate (then its saving can never count), the
  answer is "no" and more pairs cannot change it. A variant cheaper in every pair so far runs
  to the maximum, so a counted saving still rests on the full count.

How often an early grade differs from the grade the full count would give is measured by
replaying recorded windows (`benchmarks/stopping_replay.py`, docs/methodology.md).
Standard library only: `labels` stays importable without torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from labels.scheme import Scheme

GRADE_MARGIN = 1.2  # the ratio range is widened by this factor on each side


def grade_decided(
    scheme: Scheme,
    ratios: Sequence[float],
    energy_multiple: float = 1.0,
    margin: float = GRADE_MARGIN,
) -> bool:
    """True when every EEI within `margin` of the pair ratios' range falls in one class."""
    if not ratios or energy_multiple <= 0:
        return False
    low = min(ratios) / energy_multiple / margin
    high = max(ratios) / energy_multiple * margin
    return scheme.grade_for_eei(low) == scheme.grade_for_eei(high)


def saving_decided(ratios: Sequence[float], qualifies: bool) -> bool:
    """True when the variant's saving can no longer count: it failed the quality gate, or
    one pair was not cheaper than the baseline (the every-pair rule is already broken)."""
    return not qualifies or any(r >= 1.0 for r in ratios)


def pairs_taken(
    ratios: Sequence[float],
    decided: Callable[[list[float]], bool],
    fewest: int,
    most: int,
) -> int:
    """How many of the recorded pair `ratios` the pair loop would take: the replay of
    `scanner.harness.run_paired_windows`'s stopping on windows measured before."""
    if fewest < 1 or most < 1:
        raise ValueError("fewest and most must be at least 1")
    most = min(most, len(ratios))
    for taken in range(min(fewest, most), most + 1):
        if decided(list(ratios[:taken])):
            return taken
    return most

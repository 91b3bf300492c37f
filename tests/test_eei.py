"""The efficiency index's interval, borderline, and the re-grading rule (labels/eei.py), at
their edges: the mutation run (docs/mutants.md) plants one-character changes here, and a
label that holds still rests on every comparison below.

Scheme v2's classes are [0, 0.125) A, [0.125, 0.25) B, [0.25, 0.5) C, [0.5, 1) D, [1, 2) E,
[2, 4) F, [4, inf) G: a class includes its lower bound and excludes its upper one.
"""

from __future__ import annotations

import pytest

from labels.eei import EeiInterval, eei_interval, is_borderline, median_interval, published_grade
from labels.scheme import SCHEMES_DIR, load_scheme

V2 = load_scheme("v2", SCHEMES_DIR / "v2.toml")
B_LOW, B_HIGH = 0.125, 0.25  # the published class of the re-grading tests: B
BELOW = 0.999  # a step off a bound, far less than the class's width
ABOVE = 1.001


def test_v2s_class_b_is_the_range_these_tests_assume() -> None:
    assert V2.grade_bounds("B") == (B_LOW, B_HIGH)


# -- the re-grading rule: a published grade moves only when the new interval leaves it -----


@pytest.mark.parametrize(
    ("low", "high", "measured", "published", "why"),
    [
        # the upper bound (0.25, C's lower edge): upward
        (0.2, B_HIGH, "C", "B", "touches the bound from inside: still in B"),
        (0.2, 0.3, "C", "B", "straddles the bound: still touches B"),
        (B_HIGH * BELOW, 0.3, "C", "B", "starts just inside B: still touches B"),
        (B_HIGH, 0.3, "C", "C", "starts on the bound, which is C's: wholly above B"),
        (B_HIGH * ABOVE, 0.3, "C", "C", "starts just above the bound: wholly above B"),
        (0.3, 0.45, "C", "C", "clears the bound: wholly above B"),
        (0.6, 0.9, "D", "D", "clears B by a class: the grade moves as far as measured"),
        # the lower bound (0.125, B's own lower edge): downward
        (0.1, B_LOW, "A", "B", "ends on the bound, which is B's: still touches B"),
        (0.1, 0.15, "A", "B", "straddles the bound: still touches B"),
        (0.1, B_LOW * ABOVE, "A", "B", "ends just inside B: still touches B"),
        (0.1, B_LOW * BELOW, "A", "A", "ends just below the bound: wholly below B"),
        (0.05, 0.1, "A", "A", "clears the bound: wholly below B"),
        # wider than B: touches it, so it stays, whatever the median said
        (0.1, 0.3, "A", "B", "spans all of B, measured A"),
        (0.1, 0.3, "C", "B", "spans all of B, measured C"),
    ],
)
def test_regrading_at_both_bounds_of_the_published_class(low, high, measured, published, why):
    assert published_grade(V2, "B", low, high, measured) == published, why


def test_a_grade_measured_again_is_published_as_it_is() -> None:
    # the same grade again, however wide the interval: nothing to decide
    assert published_grade(V2, "B", 0.01, 3.0, "B") == "B"
    # no published grade yet: the measured one, even where the interval touches another
    assert published_grade(V2, None, 0.2, 0.3, "C") == "C"
    assert published_grade(V2, None, 0.01, 3.0, "A") == "A"


@pytest.mark.parametrize(
    ("previous", "low", "high", "measured", "published"),
    [
        ("A", 0.1, 0.2, "B", "A"),  # A's lower bound is 0: only the upper one can be left
        ("A", 0.125, 0.2, "B", "B"),
        ("A", 0.0, 0.0, "A", "A"),
        ("G", 3.0, 4.0, "F", "G"),  # G's upper bound is infinity: it ends on G's lower edge
        ("G", 3.0, 4.0 * BELOW, "F", "F"),
        ("G", 4.0, 1e9, "G", "G"),
    ],
)
def test_regrading_at_the_ends_of_the_scale(previous, low, high, measured, published) -> None:
    assert published_grade(V2, previous, low, high, measured) == published


# -- borderline: the interval's ends in different classes ------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "borderline"),
    [
        (0.2, 0.24, False),
        (0.2, 0.25, True),  # 0.25 is C's
        (0.25, 0.3, False),
        (0.24, 0.26, True),
        (0.1, 0.6, True),  # across two boundaries
        (0.3, 0.3, False),
    ],
)
def test_borderline_at_a_class_bound(low, high, borderline) -> None:
    assert is_borderline(V2, low, high) is borderline


# -- the interval ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "confidence", "k", "coverage"),
    [
        (2, 0.90, 1, 0.5),  # two pairs: [min, max] covers the median half of the time
        (4, 0.90, 1, 0.875),
        (5, 0.9375, 1, 0.9375),  # exactly the coverage asked for is enough
        (6, 0.90, 1, 0.96875),  # k=2 would cover 0.78125: too little
        (7, 0.875, 2, 0.875),  # k=2 covers exactly 0.875: narrower is taken
        (7, 0.90, 1, 1 - 2 / 128),
        (10, 0.90, 2, 1 - 2 * 11 / 1024),
        (10, 0.50, 4, 1 - 2 * 176 / 1024),
        (10, 0.0, 5, 1 - 2 * 386 / 1024),  # any coverage will do: the middle pair
        (11, 0.0, 6, 0.0),  # the median itself, whose coverage is no more than zero
    ],
)
def test_the_narrowest_interval_that_reaches_the_confidence(n, confidence, k, coverage) -> None:
    assert median_interval([float(i) for i in range(n)], confidence) == (
        k,
        pytest.approx(coverage, abs=1e-12),
    )


def test_the_interval_asks_for_90_percent_unless_told() -> None:
    assert median_interval([1.0] * 9) == (2, pytest.approx(1 - 2 * 10 / 512))
    assert median_interval([1.0] * 9, 0.97) == (1, pytest.approx(1 - 2 / 512))


def test_one_pair_is_its_own_interval_with_no_coverage() -> None:
    assert median_interval([3.0], 0.9) == (1, 0.0)
    interval = eei_interval([0.3], energy_multiple=1.0, confidence=0.9)
    assert interval == EeiInterval(eei=0.3, eei_low=0.3, eei_high=0.3, coverage=0.0, pairs=1)


def test_no_values_have_no_interval() -> None:
    with pytest.raises(ValueError, match="^no values$"):
        median_interval([], 0.9)
    with pytest.raises(ValueError, match=r"^no pair ratios: the model was not measured beside"):
        eei_interval([], 1.0, 0.9)


def test_the_interval_uses_the_order_statistics_of_the_sorted_ratios() -> None:
    ratios = [0.9, 0.1, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6]  # unsorted; k = 2 at 90 %
    interval = eei_interval(ratios, energy_multiple=2.0, confidence=0.9)
    assert interval.eei == pytest.approx(0.25)
    assert interval.eei_low == pytest.approx(0.1)  # 0.2 / 2, the second smallest
    assert interval.eei_high == pytest.approx(0.4)  # 0.8 / 2, the second largest
    assert interval.coverage == pytest.approx(1 - 2 * 10 / 512)
    assert interval.pairs == 9
    # the confidence asked for, not the default 90 %: at 80 %, k = 3
    narrower = eei_interval(ratios, energy_multiple=2.0, confidence=0.8)
    assert (narrower.eei_low, narrower.eei_high) == (pytest.approx(0.15), pytest.approx(0.35))


def test_an_even_number_of_pairs_has_the_mean_of_the_middle_two_as_its_median() -> None:
    interval = eei_interval([0.2, 0.4, 0.3, 0.1], energy_multiple=1.0, confidence=0.9)
    assert interval.eei == pytest.approx(0.25)
    assert (interval.eei_low, interval.eei_high) == (0.1, 0.4)


@pytest.mark.parametrize("multiple", [0.0, -1.0])
def test_the_energy_multiple_must_be_positive(multiple: float) -> None:
    with pytest.raises(ValueError, match=f"^energy_multiple must be positive, got {multiple}$"):
        eei_interval([0.3, 0.4], multiple, 0.9)

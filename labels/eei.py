"""The efficiency index of a label under a paired scheme (v2 on): its value, its interval,
and the two rules built on the interval (borderline, and when a published grade may move).

The model and the task's reference model are measured in interleaved windows; each pair
gives one ratio E_model / E_reference. EEI is the median of those ratios (divided by the
scheme's energy multiple). The interval is a distribution-free confidence interval for that
median from order statistics: it assumes only that the pair ratios are independent draws
around a common median, nothing about their shape, which matters on a shared machine whose
noise is neither normal nor symmetric. With five pairs it is [min, max] at 93.75 %.

Standard library only: `labels` stays importable without torch.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from labels.scheme import Scheme


@dataclass(frozen=True)
class EeiInterval:
    """EEI and its interval; `coverage` is the interval's exact confidence (0 for one pair)."""

    eei: float
    eei_low: float
    eei_high: float
    coverage: float
    pairs: int


def median_interval(values: list[float], confidence: float = 0.90) -> tuple[int, float]:
    """The order-statistic rank k and coverage of the interval [x_(k), x_(n+1-k)].

    Coverage is P(x_(k) <= median <= x_(n+1-k)) = 1 - 2 P(Binomial(n, 1/2) <= k - 1). The
    largest k (the narrowest interval) that still reaches `confidence` is chosen; when even
    [min, max] falls short (fewer than five pairs at 90 %), [min, max] with its own coverage.
    """
    n = len(values)
    if n == 0:
        raise ValueError("no values")
    best_k, best_coverage = 1, _coverage(n, 1)
    for k in range(2, (n + 1) // 2 + 1):
        coverage = _coverage(n, k)
        if coverage < confidence:
            break
        best_k, best_coverage = k, coverage
    return best_k, best_coverage


def _coverage(n: int, k: int) -> float:
    if n < 2:
        return 0.0
    tail = sum(math.comb(n, i) for i in range(k)) / 2**n
    return max(1.0 - 2.0 * tail, 0.0)


def eei_interval(ratios: list[float], energy_multiple: float, confidence: float) -> EeiInterval:
    """EEI = median of the pair ratios / `energy_multiple`, with its order-statistic interval."""
    if not ratios:
        raise ValueError("no pair ratios: the model was not measured beside a reference")
    if energy_multiple <= 0:
        raise ValueError(f"energy_multiple must be positive, got {energy_multiple}")
    ordered = sorted(ratios)
    k, coverage = median_interval(ordered, confidence)
    n = len(ordered)
    return EeiInterval(
        eei=statistics.median(ordered) / energy_multiple,
        eei_low=ordered[k - 1] / energy_multiple,
        eei_high=ordered[n - k] / energy_multiple,
        coverage=coverage,
        pairs=n,
    )


def is_borderline(scheme: Scheme, eei_low: float, eei_high: float) -> bool:
    """True when the interval crosses a class boundary: its ends fall in different classes."""
    return scheme.grade_for_eei(eei_low) != scheme.grade_for_eei(eei_high)


def published_grade(
    scheme: Scheme,
    previous: str | None,
    eei_low: float,
    eei_high: float,
    measured: str,
    *,
    contended: bool = False,
) -> str:
    """The grade to publish after a re-measurement whose own grade is `measured`.

    A published grade moves only when the new interval lies wholly outside it; an interval
    that still touches the old class keeps the old grade, so noise cannot flip a label. A
    contended measurement (taken on a busy host) never moves a published grade at all: one
    busy night must not turn an A into a C.
    """
    if previous is not None and contended:
        return previous
    if previous is None or previous == measured:
        return measured
    low, high = scheme.grade_bounds(previous)
    wholly_outside = eei_high < low or eei_low >= high
    return measured if wholly_outside else previous

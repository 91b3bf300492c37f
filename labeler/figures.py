"""How the labeler writes its numbers, in one place for the site, the CLI and the card.

Energy with about three significant digits and never in e-notation, percentages with a
space before the sign ("99.6 %"), signed changes with a real minus sign ("−41 %"), and
the one "achievable" sentence: "C → A with dynamic-int8, −41 % energy, 99.6 % agreement".
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

MISSING = "\u2013"  # an en dash where a figure is unknown
MINUS = "\u2212"


def format_date(value: Any) -> str:
    """A date or datetime as YYYY-MM-DD; anything else as its text ("" for none)."""
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value or "")


def format_energy(value: float | None) -> str:
    """Wh per 1,000 inferences with about three significant digits, never in e-notation."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if value == 0:
        return "0"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    decimals = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:.{min(decimals, 6)}f}"


def format_percent(fraction: float | None, digits: int = 1) -> str:
    if fraction is None:
        return MISSING
    return f"{fraction * 100:.{digits}f} %"


def format_change(fraction: float | None, digits: int = 0) -> str:
    """A relative change with its sign: "−41 %", "+3 %" (the sign of a rounded zero kept)."""
    if fraction is None:
        return MISSING
    sign = MINUS if fraction < 0 else "+"
    return f"{sign}{abs(fraction) * 100:.{digits}f} %"


def achievable_sentence(
    grade: str,
    best_grade: str,
    tactic: str,
    energy_change: float | None,
    quality_retained: float | None,
    quality_name: str,
) -> str:
    """ "C → A with dynamic-int8, −41 % energy, 99.6 % agreement"; unknown parts left out."""
    parts = [f"{grade} \u2192 {best_grade} with {tactic}"]
    if energy_change is not None:
        parts.append(f"{format_change(energy_change)} energy")
    if quality_retained is not None:
        parts.append(f"{format_percent(quality_retained)} {quality_name}".strip())
    return ", ".join(parts)

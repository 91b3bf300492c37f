"""The charts of a task page, as geometry its template draws as inline SVG: an energy
(log x) versus quality scatter with its Pareto front, and the count of labels per class.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labeler.figures import format_energy, format_percent
from labeler.site.inputs import ChartRun
from labels import RunRecord
from labels.latest_label import LatestLabel
from labels.run_status import RunStatus
from labels.scheme import GRADES
from labels.tactic_kinds import is_baseline_variant

# A chart with more points than this shows an even sample; its Pareto front uses them all.
MAX_CHART_POINTS = 2000


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    title: str
    kind: str  # baseline | qualifies | fails


def _log_ticks(low: float, high: float) -> list[float]:
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    return [10.0**k for k in range(first, last + 1)]


def pareto_front(points: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points no other point beats on both less energy and more quality, by energy."""
    front: list[tuple[float, float]] = []
    best_quality = -math.inf
    for energy, quality in sorted(points, key=lambda p: (p[0], -p[1])):
        if quality > best_quality:
            front.append((energy, quality))
            best_quality = quality
    return front


def scatter_chart(runs: Sequence[RunRecord | ChartRun]) -> dict[str, Any] | None:
    """Geometry of an energy (log x) versus quality (y) scatter of one task on one profile."""
    data = [
        (r.energy_wh_per_1k, 1.0 if is_baseline_variant(r.variant) else r.quality_value, r)
        for r in runs
        if r.status == RunStatus.OK
        and r.energy_wh_per_1k
        and r.energy_wh_per_1k > 0
        and (is_baseline_variant(r.variant) or r.quality_value is not None)
    ]
    if not data:
        return None
    width, height, left, right, top, bottom = 640, 360, 64, 20, 16, 48
    energies = [d[0] for d in data]
    qualities = [float(d[1]) for d in data]
    ticks = _log_ticks(min(energies), max(energies))
    x_low, x_high = math.log10(ticks[0]), math.log10(ticks[-1])
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
        ticks = [10.0**x_low, *ticks, 10.0**x_high]
    y_low = min(0.9, math.floor(min(qualities) * 20) / 20)
    y_high = 1.0

    def px(energy: float) -> float:
        return left + (math.log10(energy) - x_low) / (x_high - x_low) * (width - left - right)

    def py(quality: float) -> float:
        q = min(max(quality, y_low), y_high)
        return top + (y_high - q) / (y_high - y_low) * (height - top - bottom)

    step = max(1, math.ceil(len(data) / MAX_CHART_POINTS))
    points = []
    for energy, quality, run in data[::step]:
        kind = (
            "baseline"
            if is_baseline_variant(run.variant)
            else ("qualifies" if run.qualifies else "fails")
        )
        title = (
            f"{run.model_id} \u00b7 {run.variant}: {format_energy(energy)} Wh/1k, "
            f"quality {format_percent(quality)}"
        )
        points.append(ChartPoint(round(px(energy), 1), round(py(float(quality)), 1), title, kind))
    front = pareto_front((e, float(q)) for e, q, _ in data)
    front_path = []
    for i, (energy, quality) in enumerate(front):
        if i:
            front_path.append((round(px(energy), 1), round(py(front[i - 1][1]), 1)))
        front_path.append((round(px(energy), 1), round(py(quality), 1)))
    y_ticks = []
    value = y_high
    while value >= y_low - 1e-9:
        y_ticks.append({"y": round(py(value), 1), "label": format_percent(value, 0)})
        value = round(value - (0.02 if y_high - y_low <= 0.1 else 0.05), 4)
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": height - bottom,
        "points": points,
        "shown": len(points),
        "total": len(data),
        "front": " ".join(f"{x},{y}" for x, y in front_path),
        "front_size": len(front),
        "x_ticks": [{"x": round(px(t), 1), "label": f"{t:g}"} for t in ticks],
        "y_ticks": y_ticks,
    }


def grade_bars(labels: Iterable[LatestLabel]) -> dict[str, Any]:
    """Geometry of a bar chart: how many labels in each class, plus the ungraded."""
    return grade_bars_from_counts(Counter(label.grade for label in labels))


def grade_bars_from_counts(counts: Mapping[str | None, int]) -> dict[str, Any]:
    """The bar chart of `grade_bars` from a count per class (a key outside A-G: ungraded)."""
    ungraded = sum(count for grade, count in counts.items() if grade not in GRADES)
    entries = [(g, g, counts.get(g, 0)) for g in GRADES] + [("na", "n/a", ungraded)]
    width, height, left, top, bottom, bar_w, gap = 440, 220, 16, 24, 32, 40, 12
    peak = max(1, *(count for _, _, count in entries))
    bars = []
    for i, (key, letter, count) in enumerate(entries):
        bar_h = (height - top - bottom) * count / peak
        x = left + i * (bar_w + gap)
        bars.append(
            {
                "key": key,
                "letter": letter,
                "count": count,
                "x": x,
                "y": round(height - bottom - bar_h, 1),
                "h": round(bar_h, 1),
                "w": bar_w,
                "grade": letter if key != "na" else None,
            }
        )
    return {"width": width, "height": height, "base": height - bottom, "bars": bars}

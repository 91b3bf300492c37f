"""Batching as a deployment tactic: a baseline's energy and latency at several batch sizes.

Serving requests in batches spreads the fixed cost of a forward call over more inferences,
so energy per inference falls while each request waits for its whole batch. The label's
workload stays fixed (the grade never reads this); `labeler scan --batch-sizes 1,8,32,64`
measures the sweep beside the baseline and stores it on the baseline's run as JSON
(`runs.batch_sweep_json`). Batch 1 is also the interactive figure the AI Energy Score
reports. `batch_sweep_to_json` / `batch_sweep_from_json` are the only places that JSON is
written or parsed; stdlib only, like the rest of `labels`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from labels.run_status import RunStatus

DEFAULT_BATCH_SIZES = (1, 8, 32, 64)
NEAR_LEAST = 0.02  # energies within 2 % of the sweep's least count as the least


@dataclass(frozen=True)
class BatchPoint:
    """The baseline measured at one batch size; `status` is ok, failed or skipped.

    `latency_ms_per_request` is the median time of one batched call: every request in the
    batch waits for all of it. A size after one that ran out of memory is skipped.
    """

    batch_size: int
    status: str = RunStatus.OK
    energy_wh_per_1k: float | None = None  # median over windows, per inference
    latency_ms_per_request: float | None = None
    windows: int = 0
    energy_cv: float | None = None
    reason: str | None = None

    @property
    def inferences_per_s(self) -> float | None:
        """Throughput of one device serving at this size, from the latency per call."""
        if self.status != RunStatus.OK or not self.latency_ms_per_request:
            return None
        return self.batch_size / self.latency_ms_per_request * 1000.0


@dataclass(frozen=True)
class BatchingAdvice:
    """The batch size to serve at (least energy per inference, smallest on a near-tie),
    against batch 1."""

    batch_size: int
    energy_change: float  # relative to batch 1, -0.4 = 40 % less energy per inference
    latency_added_ms: float  # per request, against batch 1
    energy_wh_per_1k: float
    latency_ms_per_request: float


_FIELDS = {f.name for f in fields(BatchPoint)}


def batch_sweep_to_json(points: list[BatchPoint]) -> str:
    return json.dumps([asdict(p) for p in points])


def batch_sweep_from_json(text: str | None) -> list[BatchPoint]:
    """The stored sweep; empty when absent or unreadable (a page still renders)."""
    try:
        items = json.loads(text or "[]")
    except (TypeError, ValueError):
        return []
    if not isinstance(items, list):
        return []
    points = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("batch_size"), int):
            points.append(BatchPoint(**{k: v for k, v in item.items() if k in _FIELDS}))
    return points


def batching_advice(points: list[BatchPoint]) -> BatchingAdvice | None:
    """The smallest measured size within 2 % of the least energy per inference, if it
    beats batch 1.

    None without a measured batch 1 (nothing to compare with) or when no larger size used
    less energy per inference.
    """
    measured = [
        p
        for p in points
        if p.status == RunStatus.OK and p.energy_wh_per_1k is not None and p.latency_ms_per_request
    ]
    single = next((p for p in measured if p.batch_size == 1), None)
    if single is None or not single.energy_wh_per_1k:
        return None
    least = min(p.energy_wh_per_1k for p in measured if p.energy_wh_per_1k is not None)
    # the smallest size within NEAR_LEAST of the least energy: sizes are measured one after
    # the other, not paired, so closer figures are not told apart, and a smaller batch
    # makes each request wait less
    best = min(
        (p for p in measured if (p.energy_wh_per_1k or 0.0) <= least * (1.0 + NEAR_LEAST)),
        key=lambda p: p.batch_size,
    )
    if best.batch_size == 1 or best.energy_wh_per_1k >= single.energy_wh_per_1k:
        return None
    return BatchingAdvice(
        batch_size=best.batch_size,
        energy_change=best.energy_wh_per_1k / single.energy_wh_per_1k - 1.0,
        latency_added_ms=_float(best.latency_ms_per_request)
        - _float(single.latency_ms_per_request),
        energy_wh_per_1k=best.energy_wh_per_1k,
        latency_ms_per_request=_float(best.latency_ms_per_request),
    )


def parse_batch_sizes(text: str) -> list[int]:
    """'1,8,32,64' as sorted distinct positive sizes; ValueError with a one-line reason."""
    sizes: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            size = int(part)
        except ValueError:
            raise ValueError(f"batch size {part!r} is not a whole number") from None
        if size < 1:
            raise ValueError(f"batch size must be at least 1, got {size}")
        sizes.add(size)
    if not sizes:
        raise ValueError(f"no batch size in {text!r}")
    return sorted(sizes)


def _float(value: Any) -> float:
    return float(value or 0.0)

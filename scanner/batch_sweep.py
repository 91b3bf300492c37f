"""Measure the baseline at several batch sizes, for the batching recommendation.

The label's workload is fixed per task; this sweep asks another question: how much energy
per inference a deployment saves by batching requests, and what each request pays in
latency. Each size gets its own reference batch from the task adapter (the same inputs,
more or fewer of them) and the same warm-up and windows as the baseline (not paired:
sizes are compared with each other, not graded). A size that runs out of memory ends the
sweep: it is recorded as failed and the larger ones as skipped, and the scan goes on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from labels.batching import BatchPoint
from labels.run_status import RunStatus
from scanner.device import Device
from scanner.harness import Protocol, run_windows
from scanner.meters.base import EnergyMeter
from scanner.out_of_memory import OUT_OF_MEMORY, is_out_of_memory
from scanner.tasks.base import TaskAdapter


def measure_batch_sweep(
    adapter: TaskAdapter,
    path: Path,
    model: torch.nn.Module,
    workload: dict[str, Any],
    batch_sizes: list[int],
    meter: EnergyMeter,
    *,
    device: str,
    protocol: Protocol,
    idle_power_w: float,
    sync: Callable[[], None] = lambda: None,
) -> list[BatchPoint]:
    """One `BatchPoint` per size, in increasing order; never raises for a size's failure."""
    on_cuda = Device.parse(device).is_cuda
    points: list[BatchPoint] = []
    stopped: str | None = None
    for size in sorted(set(batch_sizes)):
        if stopped:
            points.append(BatchPoint(size, status=RunStatus.SKIPPED, reason=stopped))
            continue
        try:
            batch = adapter.reference_batch(path, model, {**workload, "batch_size": size})
            batch = batch.to(device)
            with torch.inference_mode():
                measurement = run_windows(
                    functools.partial(adapter.run, model, batch),
                    meter,
                    inferences_per_call=batch.inferences,
                    protocol=protocol,
                    idle_power_w=idle_power_w,
                    sync=sync,
                )
        except Exception as exc:  # one size failing must not lose the model
            points.append(BatchPoint(size, status=RunStatus.FAILED, reason=_reason(exc)))
            if is_out_of_memory(exc):
                stopped = f"not measured: batch {size} ran out of memory"
            continue
        finally:
            if on_cuda:
                torch.cuda.empty_cache()
        points.append(
            BatchPoint(
                batch_size=size,
                energy_wh_per_1k=measurement.energy_wh_per_1k,
                latency_ms_per_request=measurement.latency_ms_p50,
                windows=len(measurement.windows),
                energy_cv=measurement.energy_cv,
            )
        )
    return points


def _reason(exc: BaseException) -> str:
    if is_out_of_memory(exc):
        return OUT_OF_MEMORY
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}"[:300]

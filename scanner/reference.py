"""The task's reference model, built from the scheme's committed config and measured beside
the model (scheme v2 on).

A grade against a stored reference energy inherits every drift of the host and every
constant of the meter. Measured beside the model instead, in interleaved windows on the
same device, the reference sees the same host: E_model / E_reference cancels both, and any
hardware is graded with no calibration step. The pair loop itself is the harness's
`run_paired_windows` (one place for later sequential stopping); this module builds the
reference and turns the pairs into run fields and window records.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from labels.records import WindowRecord
from labels.scheme import ReferenceModel
from scanner.harness import (
    PairedMeasurement,
    Protocol,
    Window,
    energy_ratios,
    run_paired_windows,
)
from scanner.meters.base import EnergyMeter
from scanner.meters.foreign_load import ForeignLoadProbe
from scanner.tasks.base import Batch, TaskAdapter


@dataclass
class BuiltReference:
    """A reference model on its device with its reference batch, ready to run."""

    spec: ReferenceModel
    model: torch.nn.Module
    batch: Batch
    adapter: TaskAdapter

    def call(self) -> Any:
        return self.adapter.run(self.model, self.batch)


def build_reference(
    spec: ReferenceModel, adapter: TaskAdapter, workload: dict[str, Any], device: str
) -> BuiltReference:
    """The reference model from its config with seeded random weights, on `device`.

    Its inputs are the task's workload with fixed token ids (there is no tokenizer) or the
    seeded images: the same shapes the model is measured on.
    """
    import transformers

    config_values = spec.config()
    model_type = config_values.pop("model_type")
    config = transformers.AutoConfig.for_model(model_type, **config_values)
    torch.manual_seed(spec.seed)
    auto_class = getattr(transformers, adapter.auto_class)
    model = auto_class.from_config(config).to(device).eval()
    # the config folder has no tokenizer files, so text tasks get fixed token ids
    batch = adapter.reference_batch(spec.config_path.parent, model, workload).to(device)
    return BuiltReference(spec, model, batch, adapter)


def measure_beside_reference(
    model_call: Callable[[], Any],
    inferences_per_call: int,
    reference: BuiltReference,
    meter: EnergyMeter,
    *,
    protocol: Protocol,
    idle_power_w: float,
    sync: Callable[[], None] = lambda: None,
    decided: Callable[[list[float]], bool] | None = None,
    probe: ForeignLoadProbe | None = None,
    sleep: Callable[[float], None] | None = None,
) -> PairedMeasurement:
    """The model's windows interleaved (ABBA) with the reference's: `variant` is the model,
    `baseline` the reference, so `energy_ratio` is the median of E_model / E_reference.
    `decided` (the grade is certain: labels/stopping.py) may end the pairs early.

    The reference's windows keep the model's minimum duration but need only one call each
    (and one warm-up call): a reference slower than the model then costs one call per
    window, not the model's minimum count, which keeps its price per scan small. With a
    `probe`, a pair measured under foreign load is measured again (see run_paired_windows).
    """
    reference_protocol = dataclasses.replace(protocol, window_iterations=1, warmup_iterations=1)
    with torch.inference_mode():
        return run_paired_windows(
            model_call,
            reference.call,
            meter,
            variant_inferences_per_call=inferences_per_call,
            baseline_inferences_per_call=reference.batch.inferences,
            protocol=protocol,
            idle_power_w=idle_power_w,
            sync=sync,
            baseline_protocol=reference_protocol,
            decided=decided,
            probe=probe,
            **({"sleep": sleep} if sleep else {}),
        )


def pair_ratios(paired: PairedMeasurement) -> list[float]:
    """E_model / E_reference per pair, in the order measured (pairs with no reference
    energy are left out)."""
    return energy_ratios(paired.variant.windows, paired.baseline.windows)


def reference_run_fields(spec: ReferenceModel, paired: PairedMeasurement) -> dict[str, Any]:
    """What a baseline run records about its reference (the `runs` columns of m003)."""
    return {
        "reference_model": spec.model_id,
        "reference_config_sha256": spec.config_sha256,
        "reference_energy_wh_per_1k": paired.baseline.energy_wh_per_1k,
        "reference_ratios_json": json.dumps(pair_ratios(paired)),
    }


def reference_window_records(
    run_id: str, paired: PairedMeasurement, method: str, make: Callable[..., WindowRecord]
) -> list[WindowRecord]:
    """Both roles' windows in the order measured; the reference's are flagged."""
    pending = {"variant": iter(paired.variant.windows), "baseline": iter(paired.baseline.windows)}
    records = []
    for index, role in enumerate(paired.order):
        window: Window = next(pending[role])
        records.append(make(run_id, index, window, method, reference=role == "baseline"))
    return records

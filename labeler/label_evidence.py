"""One record of everything a model's label rests on, for `labeler export`.

The label row alone says the grade; a reader who must justify it (a procurement form, the
EU AI Act's technical documentation, a CycloneDX BOM) also needs the workload, the machine,
the meter, the reference, the baseline run's software and the interval. This gathers them
from the catalog once, so the JSON record and the BOM say the same thing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from labeler.carbon import DEFAULT_GRID, Carbon, GridIntensity, carbon_for
from labeler.costs import measured_baseline
from labeler.label_lookup import find_label
from labels.catalog import Catalog
from labels.latest_label import LatestLabel
from labels.records import HardwareRecord, ModelRecord, RunRecord
from labels.scheme import SchemeError, load_scheme

RECORD_FORMAT = "hf-energy-labels/label-evidence/1"
METHOD_WORDS = {
    "nvml": "measured with the GPU's energy counter (NVML)",
    "nvml-power": "measured from the GPU's polled power draw (NVML), integrated over time",
    "rapl": "measured with the CPU's energy counters (RAPL)",
    "estimate": "estimated from a TDP × utilisation model (no energy counter on this machine)",
}


@dataclass(frozen=True)
class LabelEvidence:
    """A label with the model, the baseline run, the machine and the CO2e it implies."""

    label: LatestLabel
    model: ModelRecord | None
    baseline: RunRecord | None
    machine: HardwareRecord | None
    workload: dict[str, Any]
    carbon: Carbon | None

    @property
    def method(self) -> str:
        """`counter` for a meter reading, `estimate` for the estimate model."""
        return "estimate" if self.label.estimated else "counter"

    def eu_ai_act_energy(self) -> str:
        """The sentence EU AI Act documentation asks for (Annex XI: known or estimated
        energy consumption, and how it was obtained), for inference."""
        label = self.label
        energy = label.energy_wh_per_1k
        if energy is None:
            why = label.reason or "not measured"
            return f"Inference energy of {label.model_id} is not known: {why}."
        kind = "Estimated" if label.estimated else "Measured"
        how = METHOD_WORDS.get(label.energy_method or "", f"meter {label.energy_method}")
        workload = ", ".join(f"{k} {v}" for k, v in self.workload.items()) or "its workload"
        return (
            f"{kind} inference energy consumption: {energy:.4g} Wh per 1,000 inferences "
            f"({energy / 1000:.4g} kWh) on hardware profile {label.hardware}, "
            f"{how}, for the {label.task} reference workload of label scheme "
            f"{label.scheme_version} ({workload})."
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON: every field, datetimes as ISO 8601."""
        return _plain(
            {
                "format": RECORD_FORMAT,
                "label": self.label.to_dict(),
                "recommendations": [r.to_dict() for r in self.label.recommendations],
                "method": self.method,
                "workload": self.workload,
                "model": asdict(self.model) if self.model else None,
                "baseline_run": asdict(self.baseline) if self.baseline else None,
                "machine": asdict(self.machine) if self.machine else None,
                "carbon": self.carbon.to_dict() if self.carbon else None,
                "eu_ai_act_energy": self.eu_ai_act_energy(),
            }
        )


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _plain(item)
            for key, item in value.items()
            if key not in ("recommendations_json", "tags_json")
        }
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def label_evidence(
    catalog: Catalog,
    model_id: str,
    hardware: str | None = None,
    grid: GridIntensity = DEFAULT_GRID,
) -> LabelEvidence:
    """Everything the label of `model_id` rests on, read from `catalog`."""
    label = find_label(catalog, model_id, hardware)
    runs = catalog.latest_runs(model_id, label.revision, label.task, label.hardware)
    baseline = measured_baseline(runs)
    machine = catalog.hardware(baseline.hardware_fingerprint) if baseline else None
    try:
        workload = load_scheme(label.scheme_version).workload(label.task)
    except SchemeError:
        workload = {}
    return LabelEvidence(
        label=label,
        model=catalog.model(model_id, label.revision),
        baseline=baseline,
        machine=machine,
        workload=workload,
        carbon=carbon_for(label.energy_wh_per_1k, grid),
    )


def evidence_json(record: LabelEvidence) -> str:
    return json.dumps(record.to_dict(), indent=2, default=str) + "\n"

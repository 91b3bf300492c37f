"""A CycloneDX 1.6 ML-BOM for a labelled model: where procurement and compliance look.

CycloneDX 1.6 (ECMA-424) gives a model card the field
`considerations.environmentalConsiderations.energyConsumptions`, one entry per activity;
the label fills the `inference` entry. cyclonedx-python-lib builds the BOM and its
component, but its 11.x releases do not model `modelCard`, so that part is added to the
serialized JSON as data, and `validate_bom` checks the whole against the 1.6 schema the
library ships.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labeler.carbon import DEFAULT_GRID, GridIntensity
from labeler.label_evidence import METHOD_WORDS, LabelEvidence, label_evidence
from labels.catalog import Catalog
from labels.errors import LabelerError

PROPERTY_PREFIX = "hf-energy-labels"
TOOL_NAME = "hf-energy-labels"
# Names a BOM serial number from the label it describes, so the same label gives the same BOM.
_SERIAL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/hf-energy-labels")


class BomError(LabelerError):
    """A BOM that does not validate against the CycloneDX schema: a bug, said in one line."""


def _tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(TOOL_NAME)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _properties(record: LabelEvidence) -> list[tuple[str, str]]:
    label = record.label
    values: list[tuple[str, Any]] = [
        ("grade", label.grade),
        ("achievable_grade", label.best_grade),
        ("achievable_variant", label.best_variant),
        ("eei", label.eei),
        ("eei_low", label.eei_low),
        ("eei_high", label.eei_high),
        ("borderline", label.borderline),
        ("scheme_version", label.scheme_version),
        ("task", label.task),
        ("hardware_profile", label.hardware),
        ("energy_wh_per_1k", label.energy_wh_per_1k),
        ("energy_method", label.energy_method),
        ("reference_model", label.reference_model),
    ]
    return [(f"{PROPERTY_PREFIX}:{k}", _text(v)) for k, v in values if v is not None]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _energy_consumption(record: LabelEvidence) -> dict[str, Any] | None:
    label = record.label
    energy = label.energy_wh_per_1k
    if energy is None:
        return None
    kwh = energy / 1000.0
    machine = record.machine
    hardware = label.hardware
    if machine is not None:
        device = machine.device_name if machine.kind == "gpu" else machine.cpu_model
        hardware = f"{label.hardware} ({device})"
    props = [
        ("per", "1,000 inferences of the reference workload"),
        ("hardware", hardware),
        ("method", record.method),
        ("meter", label.energy_method or ""),
        ("meter_description", METHOD_WORDS.get(label.energy_method or "", "")),
    ]
    entry: dict[str, Any] = {
        "activity": "inference",
        "energyProviders": [
            {
                # The grid that powers the model's users is not known to the label.
                "organization": {"name": "unknown: the electricity supply of the machine"},
                "energySource": "unknown",
                "energyProvided": {"value": kwh, "unit": "kWh"},
            }
        ],
        "activityEnergyCost": {"value": kwh, "unit": "kWh"},
    }
    if record.carbon is not None:
        grid = record.carbon.grid
        entry["co2CostEquivalent"] = {"value": record.carbon.co2e_g_per_1k / 1e6, "unit": "tCO2eq"}
        props += [
            ("co2e_g_per_1k", f"{record.carbon.co2e_g_per_1k:.6g}"),
            ("grid_intensity_g_per_kwh", f"{grid.g_per_kwh:g}"),
            ("grid_intensity_source", grid.source),
            ("grid_intensity_is_default", "true" if grid.is_default else "false"),
        ]
    entry["properties"] = [
        {"name": f"{PROPERTY_PREFIX}:{name}", "value": value} for name, value in props if value
    ]
    return entry


def model_card_data(record: LabelEvidence) -> dict[str, Any]:
    """The component's `modelCard`, as CycloneDX 1.6 JSON data."""
    label = record.label
    card: dict[str, Any] = {"bom-ref": f"model-card:{label.model_id}"}
    card["modelParameters"] = {"task": label.task}
    metrics = []
    if label.energy_wh_per_1k is not None:
        metrics.append({"type": "energy_wh_per_1k", "value": f"{label.energy_wh_per_1k:.6g}"})
    if label.eei is not None:
        metric: dict[str, Any] = {"type": "energy_efficiency_index", "value": f"{label.eei:.6g}"}
        if label.eei_low is not None and label.eei_high is not None:
            metric["confidenceInterval"] = {
                "lowerBound": f"{label.eei_low:.6g}",
                "upperBound": f"{label.eei_high:.6g}",
            }
        metrics.append(metric)
    if metrics:
        card["quantitativeAnalysis"] = {"performanceMetrics": metrics}
    consumption = _energy_consumption(record)
    if consumption is not None:
        card["considerations"] = {
            "environmentalConsiderations": {"energyConsumptions": [consumption]}
        }
    card["properties"] = [{"name": name, "value": value} for name, value in _properties(record)] + [
        {"name": f"{PROPERTY_PREFIX}:eu_ai_act_energy", "value": record.eu_ai_act_energy()}
    ]
    return card


def cyclonedx_bom(record: LabelEvidence) -> dict[str, Any]:
    """The BOM as JSON data: one machine-learning-model component with its model card."""
    from cyclonedx.model import Property
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6
    from packageurl import PackageURL

    label = record.label
    namespace, _, name = label.model_id.rpartition("/")
    ref = f"model:{label.model_id}@{label.revision}"
    component = Component(
        type=ComponentType.MACHINE_LEARNING_MODEL,
        name=label.model_id,
        version=label.revision,
        bom_ref=ref,
        purl=PackageURL("huggingface", namespace or None, name, label.revision),
        properties=[Property(name=n, value=v) for n, v in _properties(record)],
    )
    serial = uuid.uuid5(
        _SERIAL_NAMESPACE,
        "|".join(
            str(v)
            for v in (label.model_id, label.revision, label.task, label.hardware)
            + (label.scheme_version, label.graded_at, record.carbon and record.carbon.grid)
        ),
    )
    bom = Bom(serial_number=serial)
    # The catalog's timestamps are naive UTC: said so here, not left to the local zone.
    graded_at = label.graded_at.replace(tzinfo=UTC) if label.graded_at else None
    bom.metadata.timestamp = graded_at or datetime.fromtimestamp(0, UTC)
    bom.metadata.tools.components.add(
        Component(type=ComponentType.APPLICATION, name=TOOL_NAME, version=_tool_version())
    )
    bom.components.add(component)
    data = json.loads(JsonV1Dot6(bom).output_as_string())
    (entry,) = data["components"]
    entry["modelCard"] = model_card_data(record)
    return data


def validate_bom(data: dict[str, Any]) -> None:
    """Raise `BomError` unless `data` is valid CycloneDX 1.6 JSON (strict schema)."""
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(data))
    if error is not None:
        raise BomError(f"the CycloneDX BOM is not valid 1.6: {' '.join(str(error).split())[:300]}")


def bom_json(record: LabelEvidence) -> str:
    """The validated BOM as indented JSON text."""
    data = cyclonedx_bom(record)
    validate_bom(data)
    return json.dumps(data, indent=2) + "\n"


def write_model_bom(
    catalog: Catalog, model_id: str, path: Path, grid: GridIntensity = DEFAULT_GRID
) -> Path:
    """Write the validated BOM of `model_id`'s label to `path` (folders made); return it."""
    text = bom_json(label_evidence(catalog, model_id, grid=grid))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path

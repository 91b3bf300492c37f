"""`labeler export`: every CycloneDX BOM validates against the 1.6 schema that
cyclonedx-python-lib ships; the JSON record holds the label's evidence and the EU AI Act
line; CO2e follows the grid intensity, and the world-average default says it is one."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from typer.testing import CliRunner

from labeler.bom import BomError, cyclonedx_bom, validate_bom
from labeler.carbon import (
    DEFAULT_GRID_INTENSITY_G_PER_KWH,
    GRID_INTENSITY_ENV,
    GridIntensityError,
    carbon_for,
    resolve_grid_intensity,
)
from labeler.cli import app
from labeler.label_evidence import label_evidence
from labels.catalog import Catalog
from tests.site_catalog import HOSTILE_ID, MINILM_ID, fill_catalog

VALIDATOR = JsonStrictValidator(SchemaVersion.V1_6)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return fill_catalog(tmp_path / "catalog.duckdb")


def _schema_errors(data: dict) -> str | None:
    error = VALIDATOR.validate_str(json.dumps(data))
    return None if error is None else str(error)


def _energy_entry(data: dict) -> dict:
    (component,) = data["components"]
    (entry,) = component["modelCard"]["considerations"]["environmentalConsiderations"][
        "energyConsumptions"
    ]
    return entry


def _props(items: list[dict]) -> dict[str, str]:
    return {p["name"].removeprefix("hf-energy-labels:"): p["value"] for p in items}


def test_every_label_gives_a_valid_bom(catalog: Catalog) -> None:
    labels = catalog.latest_labels()
    assert len({label.model_id for label in labels}) >= 4
    for label in labels:
        for grid in (resolve_grid_intensity(None), resolve_grid_intensity("56")):
            data = cyclonedx_bom(label_evidence(catalog, label.model_id, label.hardware, grid))
            assert _schema_errors(data) is None, label.model_id
            assert data["specVersion"] == "1.6"


def test_bom_holds_the_model_card_energy_and_properties(catalog: Catalog) -> None:
    data = cyclonedx_bom(label_evidence(catalog, MINILM_ID))
    (component,) = data["components"]
    assert component["type"] == "machine-learning-model"
    assert component["name"] == MINILM_ID
    assert component["purl"].startswith("pkg:huggingface/sentence-transformers/all-MiniLM-L6-v2@")
    assert data["metadata"]["timestamp"] == "2026-11-24T11:00:00+00:00"  # graded_at, UTC
    assert data["metadata"]["tools"]["components"][0]["name"] == "hf-energy-labels"
    props = _props(component["properties"])
    assert props["grade"] == "C" and props["achievable_grade"] == "A"
    assert props["eei"] == "0.45" and props["scheme_version"] == "v1"
    entry = _energy_entry(data)
    assert entry["activity"] == "inference"
    assert entry["activityEnergyCost"] == {"value": pytest.approx(0.9 / 1000), "unit": "kWh"}
    co2e_t = 0.9 / 1000 * DEFAULT_GRID_INTENSITY_G_PER_KWH / 1e6
    assert entry["co2CostEquivalent"] == {"value": pytest.approx(co2e_t), "unit": "tCO2eq"}
    energy_props = _props(entry["properties"])
    assert energy_props["method"] == "estimate"
    assert energy_props["hardware"].startswith("cpu-x86-64")
    assert energy_props["grid_intensity_is_default"] == "true"
    assert "Ember" in energy_props["grid_intensity_source"]
    card_props = _props(component["modelCard"]["properties"])
    assert card_props["eu_ai_act_energy"].startswith("Estimated inference energy consumption")


def test_eei_interval_and_a_measured_label(catalog: Catalog) -> None:
    evidence = label_evidence(catalog, MINILM_ID, grid=resolve_grid_intensity("100"))
    paired = dataclasses.replace(
        evidence.label,
        scheme_version="v2",
        eei_low=0.4,
        eei_high=0.52,
        borderline=True,
        estimated=False,
        energy_method="rapl",
    )
    data = cyclonedx_bom(dataclasses.replace(evidence, label=paired))
    assert _schema_errors(data) is None
    (component,) = data["components"]
    props = _props(component["properties"])
    assert (props["eei_low"], props["eei_high"], props["borderline"]) == ("0.4", "0.52", "true")
    metrics = component["modelCard"]["quantitativeAnalysis"]["performanceMetrics"]
    eei = next(m for m in metrics if m["type"] == "energy_efficiency_index")
    assert eei["confidenceInterval"] == {"lowerBound": "0.4", "upperBound": "0.52"}
    entry = _energy_entry(data)
    assert _props(entry["properties"])["method"] == "counter"
    assert _props(entry["properties"])["grid_intensity_is_default"] == "false"
    assert entry["co2CostEquivalent"]["value"] == pytest.approx(0.9 / 1000 * 100 / 1e6)


def test_an_invalid_bom_is_refused(catalog: Catalog) -> None:
    data = cyclonedx_bom(label_evidence(catalog, MINILM_ID))
    _energy_entry(data)["activity"] = "daydreaming"
    with pytest.raises(BomError):
        validate_bom(data)


def test_export_cyclonedx_and_json_from_the_cli(catalog: Catalog, tmp_path: Path) -> None:
    runner = CliRunner()
    for model_id in (MINILM_ID, HOSTILE_ID):
        result = runner.invoke(app, ["export", model_id, "--catalog", str(catalog.path)])
        assert result.exit_code == 0, result.output
        assert _schema_errors(json.loads(result.stdout)) is None
    out = tmp_path / "out" / "bom.json"
    written = runner.invoke(
        app, ["export", MINILM_ID, "--catalog", str(catalog.path), "--output", str(out)]
    )
    assert written.exit_code == 0 and _schema_errors(json.loads(out.read_text())) is None
    record = runner.invoke(
        app,
        ["export", MINILM_ID, "--format", "json", "--catalog", str(catalog.path)],
        env={GRID_INTENSITY_ENV: "250"},
    )
    assert record.exit_code == 0, record.output
    data = json.loads(record.stdout)
    assert data["label"]["grade"] == "C" and data["method"] == "estimate"
    assert data["workload"] == {"batch_size": 8, "sequence_length": 128}
    assert data["baseline_run"]["variant"] == "baseline"
    assert data["machine"]["profile"] == "cpu-x86-64"
    assert data["carbon"]["grid_intensity_g_per_kwh"] == 250.0
    assert data["carbon"]["grid_intensity_is_default"] is False
    assert data["carbon"]["co2e_g_per_1k"] == pytest.approx(0.9 * 250 / 1000)
    assert "Estimated inference energy consumption: 0.9 Wh per 1,000" in data["eu_ai_act_energy"]
    assert "TDP" in data["eu_ai_act_energy"]


def test_carbon_figure_and_its_default_marking() -> None:
    default = carbon_for(2.0)
    assert default is not None and default.grid.is_default
    assert default.co2e_g_per_1k == pytest.approx(2.0 * DEFAULT_GRID_INTENSITY_G_PER_KWH / 1000)
    assert "default: Ember" in default.text()
    given = carbon_for(2.0, resolve_grid_intensity("400"))
    assert given is not None and not given.grid.is_default and "given" in given.text()
    assert carbon_for(None) is None


@pytest.mark.parametrize("value", ["0", "-3", "abc", "nan", "inf", ""])
def test_grid_intensity_must_be_a_positive_number(value: str, monkeypatch) -> None:
    if value == "":  # empty: falls through to the environment, which is bad too
        monkeypatch.setenv(GRID_INTENSITY_ENV, "zero")
    with pytest.raises(GridIntensityError):
        resolve_grid_intensity(value)


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["export", "nobody/nothing"], {}, "no label for 'nobody/nothing'"),
        (["export", MINILM_ID, "--format", "spdx"], {}, "--format"),
        (["export", MINILM_ID, "--grid-intensity-g-per-kwh", "-1"], {}, "positive number"),
        (["export", MINILM_ID], {GRID_INTENSITY_ENV: "lots"}, GRID_INTENSITY_ENV),
        (["badge", MINILM_ID, "--grid-intensity-g-per-kwh", "0"], {}, "positive number"),
        (
            ["card", MINILM_ID, "--readme", "README.md", "--grid-intensity-g-per-kwh", "x"],
            {},
            "positive",
        ),
        (["site", "--grid-intensity-g-per-kwh", "nan"], {}, "positive number"),
    ],
)
def test_bad_input_is_one_error_line(args, env, needle, catalog: Catalog, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# card\n")
    args = [str(readme) if arg == "README.md" else arg for arg in args]
    result = CliRunner().invoke(
        app, [*args, "--catalog", str(catalog.path)], env=env, catch_exceptions=False
    )
    assert readme.read_text() == "# card\n"
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert needle in lines[0]


def test_badge_details_carry_co2e(catalog: Catalog) -> None:
    result = CliRunner().invoke(
        app, ["badge", MINILM_ID, "--format", "details", "--catalog", str(catalog.path)]
    )
    assert result.exit_code == 0, result.output
    carbon = json.loads(result.stdout)["carbon"]
    assert carbon["grid_intensity_is_default"] is True
    assert carbon["co2e_g_per_1k"] == pytest.approx(0.9 * DEFAULT_GRID_INTENSITY_G_PER_KWH / 1000)


def test_write_model_bom_makes_its_folder(catalog: Catalog, tmp_path: Path) -> None:
    """What `labeler demo` does for MiniLM after building the site (build/bom/ by default)."""
    from labeler.bom import write_model_bom

    path = write_model_bom(catalog, MINILM_ID, tmp_path / "build" / "bom" / "m.cdx.json")
    assert path.is_file() and _schema_errors(json.loads(path.read_text())) is None

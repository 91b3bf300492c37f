"""Cheaper alternative models, from a real DuckDB catalog written through the labels API.

One text-classification group on CPU: a D-class model, three better-graded cheaper models
(one comparable by the cards' model-index, one by top-1 agreement, one not comparable),
and models that must never be listed (same or worse class, another profile, another task).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labeler.alternatives import (
    NOT_COMPARED,
    alternatives_for,
    find_alternatives,
    read_labelled_models,
)
from labeler.card import card_block
from labeler.cli import app
from labeler.site import build_site
from labeler.slugs import badge_stem, model_slug
from labels import Catalog, ModelRecord, RunResult
from labels.model_index import model_index_json, parse_model_index
from tests.site_catalog import CPU, GPU, HOSTILE_ID, _label, _run

BIG = "org/big"
SST2 = [
    {
        "name": "x",
        "results": [
            {
                "task": {"type": "text-classification"},
                "dataset": {"type": "glue", "name": "GLUE SST2", "config": "sst2",
                            "split": "validation"},
                "metrics": [{"type": "accuracy", "value": 0.93}],
            }
        ],
    }
]  # fmt: skip
LABELS = ["NEGATIVE", "POSITIVE"]
BIG_TOP1 = ["POSITIVE", "NEGATIVE", "POSITIVE", "POSITIVE"]


def _sst2(value: float) -> str:
    raw = json.loads(json.dumps(SST2))
    raw[0]["results"][0]["metrics"][0]["value"] = value
    return model_index_json(raw)


def _top1(top1: list[str], labels: list[str] = LABELS, inputs: str = "tokenizer:32x128") -> str:
    return json.dumps({"labels": labels, "top1": top1, "inputs": inputs})


def add_model(
    catalog: Catalog,
    model_id: str,
    grade: str | None,
    energy: float | None,
    *,
    task: str = "text-classification",
    hw=CPU,
    model_index: str = "[]",
    top1: str | None = None,
) -> None:
    model = ModelRecord(
        model_id=model_id,
        revision="r1",
        task=task,
        source="hub",
        model_index_json=model_index,
    )
    run = _run(model, hw, "baseline", "baseline", energy_wh_per_1k=energy, top1_labels_json=top1)
    catalog.record_model_results(model, hw, [RunResult(run)])
    catalog.write_labels(
        [_label(model, hw, grade=grade, energy_wh_per_1k=energy, reason=None if grade else "x")]
    )


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    cat = Catalog(tmp_path / "catalog.duckdb")
    add_model(cat, BIG, "D", 4.0, model_index=_sst2(0.93), top1=_top1(BIG_TOP1))
    add_model(cat, "org/small-a", "B", 0.5, model_index=_sst2(0.91))
    add_model(
        cat, "org/small-b", "C", 1.0, top1=_top1(["POSITIVE", "NEGATIVE", "NEGATIVE", "POSITIVE"])
    )
    # cheapest of all, but another label set: its quality cannot be compared
    add_model(
        cat, "org/unrelated", "A", 0.2, top1=_top1(["cat", "dog", "cat", "cat"], ["cat", "dog"])
    )
    add_model(cat, "org/worse-but-cheap", "E", 0.1, model_index=_sst2(0.99))
    add_model(cat, "org/same-class", "D", 3.0, model_index=_sst2(0.95))
    add_model(cat, "org/ungraded", None, None)
    add_model(cat, "org/on-gpu", "A", 0.01, hw=GPU, model_index=_sst2(0.95))
    add_model(cat, "org/other-task", "A", 0.01, task="token-classification")
    return cat


def ids(entry) -> list[str]:
    return [a.model_id for a in entry.alternatives]


def test_lists_better_graded_models_of_the_same_task_and_hardware_by_energy(catalog):
    (entry,) = alternatives_for(catalog, BIG)

    assert (entry.task, entry.hardware, entry.grade) == ("text-classification", "cpu-x86-64", "D")
    assert ids(entry) == ["org/unrelated", "org/small-a", "org/small-b"]
    assert [a.grade for a in entry.alternatives] == ["A", "B", "C"]
    assert [a.energy_change for a in entry.alternatives] == pytest.approx([-0.95, -0.875, -0.75])
    assert entry.total == 3


def test_quality_is_compared_only_where_comparable(catalog):
    (entry,) = alternatives_for(catalog, BIG)
    unrelated, small_a, small_b = entry.alternatives

    assert not unrelated.comparable and unrelated.quality.sentence == NOT_COMPARED
    assert small_a.quality.method == "model-index"
    assert (small_a.quality.model_value, small_a.quality.alternative_value) == (0.93, 0.91)
    assert small_a.quality.sentence == (
        "accuracy on glue/sst2 (validation), as the model cards report: 0.91 against 0.93 "
        "for org/big"
    )
    assert small_b.quality.method == "top1-agreement"
    assert small_b.quality.top1_agreement == pytest.approx(0.75)
    assert "75.0 % of 4 reference inputs" in small_b.quality.sentence
    assert entry.cheapest_comparable is not None
    assert entry.cheapest_comparable.model_id == "org/small-a"


def test_the_cheapest_comparable_is_found_beyond_the_listed_few(catalog):
    found = find_alternatives(read_labelled_models(catalog), limit=1)

    entry = found[(BIG, "text-classification", "cpu-x86-64")]
    assert ids(entry) == ["org/unrelated"] and entry.total == 3
    assert entry.cheapest_comparable.model_id == "org/small-a"  # second by energy


def test_no_comparable_alternative_and_no_better_grade(catalog):
    found = find_alternatives(read_labelled_models(catalog))

    small_b = found[("org/small-b", "text-classification", "cpu-x86-64")]
    assert ids(small_b) == ["org/unrelated", "org/small-a"]
    assert all(not a.comparable for a in small_b.alternatives)  # no shared result or labels
    assert small_b.cheapest_comparable is None
    best = found[("org/unrelated", "text-classification", "cpu-x86-64")]
    assert best.alternatives == () and best.total == 0
    ungraded = found[("org/ungraded", "text-classification", "cpu-x86-64")]
    assert ungraded.alternatives == () and ungraded.notes


def test_a_different_input_set_is_not_compared_by_agreement(tmp_path):
    cat = Catalog(tmp_path / "catalog.duckdb")
    add_model(cat, BIG, "D", 4.0, top1=_top1(BIG_TOP1))
    add_model(cat, "org/other-inputs", "B", 1.0, top1=_top1(BIG_TOP1, inputs="tokenizer:32x64"))

    (entry,) = alternatives_for(cat, BIG)

    assert ids(entry) == ["org/other-inputs"]
    assert entry.alternatives[0].quality.method == "none" and entry.cheapest_comparable is None


def test_model_index_is_parsed_leniently():
    raw = [
        {"results": [{"dataset": {"type": "squad"}, "metrics": [
            {"type": "f1", "value": "88.5%"}, {"type": "em"}, "junk",
        ]}]},
        {"results": "not a list"},
        "junk",
    ]  # fmt: skip

    (result,) = parse_model_index(raw)

    assert (result.dataset_type, result.metric_type, result.value) == ("squad", "f1", 0.885)
    assert parse_model_index("not a list") == []


# -- CLI ----------------------------------------------------------------------------------


def _unfolded(text: str) -> list[str]:
    """The printed entries, each folded entry's continuation lines (indented past the
    entry's number) joined back onto it."""
    entries: list[str] = []
    for line in text.splitlines():
        if line.startswith("     ") and entries:
            entries[-1] += " " + line.strip()
        else:
            entries.append(line)
    return entries


def test_cli_prints_the_alternatives_and_json(catalog):
    runner = CliRunner()
    text = runner.invoke(app, ["alternatives", BIG, "--catalog", str(catalog.path)])
    as_json = runner.invoke(app, ["alternatives", BIG, "--json", "--catalog", str(catalog.path)])

    assert text.exit_code == 0, text.output
    # CliRunner's output is a pipe: 80 columns, a long entry folded onto indented lines
    assert max(len(line) for line in text.stdout.splitlines()) <= 80, text.stdout
    lines = _unfolded(text.stdout)
    assert (
        lines[0] == "org/big (text-classification on cpu-x86-64): D, 4.00 Wh per 1,000 inferences"
    )
    assert lines[1].startswith(
        "  1. org/unrelated (A, 0.200 Wh per 1,000 inferences, \u221295 % energy): "
    )
    assert lines[1].endswith(NOT_COMPARED)
    assert lines[2].startswith("  2. org/small-a (B,") and "as the model cards report" in lines[2]
    assert as_json.exit_code == 0, as_json.output
    (payload,) = json.loads(as_json.stdout)
    assert [a["model_id"] for a in payload["alternatives"]] == ids(
        alternatives_for(catalog, BIG)[0]
    )
    assert payload["cheapest_comparable"]["model_id"] == "org/small-a"


def test_cli_filters_by_task_and_hardware(catalog):
    runner = CliRunner()
    add_model(catalog, BIG, "F", 40.0, hw=GPU, model_index=_sst2(0.93), top1=_top1(BIG_TOP1))

    both = json.loads(
        runner.invoke(app, ["alternatives", BIG, "--json", "--catalog", str(catalog.path)]).stdout
    )
    gpu = json.loads(
        runner.invoke(
            app,
            [
                "alternatives",
                BIG,
                "--json",
                "--hardware",
                GPU.profile,
                "--catalog",
                str(catalog.path),
            ],
        ).stdout
    )

    assert sorted(e["hardware"] for e in both) == ["cpu-x86-64", "gpu-h100-80gb"]
    (entry,) = gpu
    assert [a["model_id"] for a in entry["alternatives"]] == ["org/on-gpu"]
    assert entry["alternatives"][0]["quality_method"] == "model-index"


@pytest.mark.parametrize(
    "extra",
    [["org/nope"], [BIG, "--task", "fill-mask"], [BIG, "--hardware", "tpu-v5"]],
)
def test_cli_unknown_model_is_one_line_and_exit_2(catalog, extra):
    result = CliRunner().invoke(app, ["alternatives", *extra, "--catalog", str(catalog.path)])

    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: no label for ") and "Traceback" not in result.output


def test_cli_missing_catalog_is_one_line(tmp_path):
    result = CliRunner().invoke(
        app, ["alternatives", BIG, "--catalog", str(tmp_path / "none.duckdb")]
    )

    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: ")


# -- site, badge, card --------------------------------------------------------------------


def test_model_page_shows_cheaper_models_escaped_and_badge_names_the_cheapest(catalog, tmp_path):
    add_model(catalog, HOSTILE_ID, "C", 2.0, model_index=_sst2(0.5))
    out = tmp_path / "site"

    build_site(Catalog(catalog.path, read_only=True), out, workers=1)

    page = (out / "models" / f"{model_slug(BIG)}.html").read_text(encoding="utf-8")
    assert "Cheaper models for the same task" in page
    section = page.split("Cheaper models for the same task", 1)[1].split("<h3>Provenance", 1)[0]
    assert f'href="{model_slug("org/small-a")}.html"' in section
    assert f'href="{model_slug(HOSTILE_ID)}.html"' in section
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section
    assert NOT_COMPARED in section and "as the model cards report" in section
    assert (
        section.index("org/unrelated") < section.index("org/small-a") < section.index("org/small-b")
    )
    assert "org/worse-but-cheap" not in section and "org/on-gpu" not in section
    details = json.loads(
        (out / "badges" / f"{badge_stem(BIG, 'cpu-x86-64')}.recommendations.json").read_text()
    )
    assert details["cheaper_alternative"]["model_id"] == "org/small-a"
    assert details["cheaper_alternative"]["page"] == f"models/{model_slug('org/small-a')}.html"
    top = json.loads(
        (
            out / "badges" / f"{badge_stem('org/unrelated', 'cpu-x86-64')}.recommendations.json"
        ).read_text()
    )
    assert top["cheaper_alternative"] is None
    shields = json.loads((out / "badges" / f"{badge_stem(BIG)}.json").read_text())
    assert "cheaper_alternative" not in shields  # shields.io rejects unknown keys


def test_another_models_new_label_renders_the_page_again(catalog, tmp_path):
    out = tmp_path / "site"
    build_site(Catalog(catalog.path, read_only=True), out, workers=1)
    page = out / "models" / f"{model_slug(BIG)}.html"
    assert "org/newcomer" not in page.read_text(encoding="utf-8")

    add_model(catalog, "org/newcomer", "A", 0.05, model_index=_sst2(0.92))
    summary = build_site(Catalog(catalog.path, read_only=True), out, workers=1)

    assert not summary.full
    assert "org/newcomer" in page.read_text(encoding="utf-8")
    details = json.loads(
        (out / "badges" / f"{badge_stem(BIG, 'cpu-x86-64')}.recommendations.json").read_text()
    )
    assert details["cheaper_alternative"]["model_id"] == "org/newcomer"


def test_card_block_names_the_cheapest_comparable_alternative(catalog, tmp_path):
    label = next(lb for lb in catalog.latest_labels() if lb.model_id == BIG)
    (entry,) = alternatives_for(catalog, BIG)

    block = card_block(label, "https://labels.example", entry.cheapest_comparable)
    without = card_block(label, "https://labels.example")

    line = next(x for x in block.splitlines() if x.startswith("Cheaper model for the same task"))
    assert line.startswith(
        "Cheaper model for the same task: [org/small-a]"
        f"(https://labels.example/models/{model_slug('org/small-a')}.html) (class B, 0.500 Wh"
    )
    assert "as the model cards report" in line
    assert "Cheaper model" not in without

    readme = tmp_path / "README.md"
    readme.write_text("# big\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["card", BIG, "--readme", str(readme), "--catalog", str(catalog.path)]
    )
    assert result.exit_code == 0, result.output
    assert "Cheaper model for the same task: [org/small" in readme.read_text(encoding="utf-8")


def test_card_block_escapes_a_hostile_alternative(tmp_path):
    cat = Catalog(tmp_path / "catalog.duckdb")
    add_model(cat, BIG, "D", 4.0, model_index=_sst2(0.93))
    add_model(cat, HOSTILE_ID, "B", 1.0, model_index=_sst2(0.9))
    label = next(lb for lb in cat.latest_labels() if lb.model_id == BIG)
    (entry,) = alternatives_for(cat, BIG)

    block = card_block(label, None, entry.cheapest_comparable)

    assert entry.cheapest_comparable.model_id == HOSTILE_ID
    assert "<script>" not in block and "&lt;script&gt;" in block

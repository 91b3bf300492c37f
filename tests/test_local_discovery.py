"""Local folder discovery: layouts, task inference, content revisions, bad folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scanner.discovery.base import DiscoveryError
from scanner.discovery.local import content_revision, discover_local_models, infer_task


def _model_folder(path: Path, architectures: list[str], card: str | None = None) -> Path:
    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"architectures": architectures}))
    (path / "model.safetensors").write_bytes(b"x" * 2048)
    if card is not None:
        (path / "README.md").write_text(card, encoding="utf-8")
    return path


def test_org_name_and_name_layouts(tmp_path):
    _model_folder(tmp_path / "org" / "classifier", ["BertForSequenceClassification"])
    _model_folder(tmp_path / "gpt", ["GPT2LMHeadModel"])
    refs = discover_local_models(tmp_path)
    assert [(r.model_id, r.task, r.source) for r in refs] == [
        ("gpt", "text-generation", "local"),
        ("org/classifier", "text-classification", "local"),
    ]
    assert all(r.revision.startswith("local-") and r.skip_reason is None for r in refs)
    assert refs[0].weights_mb == pytest.approx(2048 / 2**20)


def test_a_model_folder_itself(tmp_path):
    path = _model_folder(tmp_path / "only", ["ViTForImageClassification"])
    [ref] = discover_local_models(path)
    assert (ref.model_id, ref.task, ref.path) == ("only", "image-classification", path)


def test_card_front_matter_wins_over_architecture(tmp_path):
    card = "---\npipeline_tag: feature-extraction\nlicense: mit\ntags:\n- a\n- b\n---\n# hi\n"
    _model_folder(tmp_path / "m", ["BertForSequenceClassification"], card)
    [ref] = discover_local_models(tmp_path)
    assert (ref.task, ref.license, ref.tags) == ("feature-extraction", "mit", ("a", "b"))


@pytest.mark.parametrize(
    ("architectures", "task"),
    [
        (["DistilBertForTokenClassification"], "token-classification"),
        (["LlamaForCausalLM"], "text-generation"),
        (["BertModel"], "feature-extraction"),
        (["BertForMaskedLM"], "fill-mask"),
        (["RobertaForQuestionAnswering"], "question-answering"),
        ([], None),
    ],
)
def test_infer_task(tmp_path, architectures, task):
    assert infer_task(tmp_path, {"architectures": architectures}) == task


def test_unknown_architecture_is_skipped_with_reason(tmp_path):
    _model_folder(tmp_path / "odd", ["SomethingElse"])
    [ref] = discover_local_models(tmp_path)
    assert ref.task == "unknown"
    assert ref.skip_reason.startswith("unsupported task")


def test_invalid_config_is_skipped_with_reason(tmp_path):
    path = tmp_path / "bad"
    path.mkdir()
    (path / "config.json").write_text("{not json")
    [ref] = discover_local_models(tmp_path)
    assert "not valid JSON" in ref.skip_reason


def test_revision_changes_only_when_content_changes(tmp_path):
    path = _model_folder(tmp_path / "m", ["BertModel"])
    first = content_revision(path)
    assert content_revision(path) == first
    (path / "config.json").write_text(json.dumps({"architectures": ["BertModel"], "x": 1}))
    assert content_revision(path) != first


@pytest.mark.parametrize("make", ["missing", "file", "empty"])
def test_bad_folders_raise_discovery_error(tmp_path, make):
    target = tmp_path / "target"
    if make == "file":
        target.write_text("hi")
    elif make == "empty":
        target.mkdir()
        (target / "readme.txt").write_text("not a model")
    with pytest.raises(DiscoveryError):
        discover_local_models(target)


def test_card_flow_style_tags_and_quoted_values(tmp_path):
    """Front matter is read by huggingface_hub's YAML parser, so flow lists count too."""
    card = "---\npipeline_tag: 'text-classification'\nlicense: [mit]\ntags: [a, b]\n---\n# hi\n"
    _model_folder(tmp_path / "m", ["BertModel"], card)
    [ref] = discover_local_models(tmp_path)
    assert (ref.task, ref.license, ref.tags) == ("text-classification", "mit", ("a", "b"))


def test_a_card_that_is_not_yaml_counts_as_no_card(tmp_path):
    _model_folder(tmp_path / "m", ["BertForSequenceClassification"], "---\ntags: [a, b\n---\n")
    [ref] = discover_local_models(tmp_path)
    assert (ref.task, ref.tags, ref.skip_reason) == ("text-classification", (), None)


def test_a_sentence_transformers_folder_without_a_card_tag_is_sentence_similarity(tmp_path):
    path = _model_folder(tmp_path / "st", ["BertModel"])
    (path / "modules.json").write_text("[]", encoding="utf-8")
    (path / "1_Pooling").mkdir()
    (path / "1_Pooling" / "config.json").write_text('{"pooling_mode": "mean"}')
    [ref] = discover_local_models(tmp_path)
    assert (ref.model_id, ref.task, ref.library) == (
        "st",
        "sentence-similarity",
        "sentence-transformers",
    )

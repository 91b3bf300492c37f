"""sentence-similarity: the sentence-transformers layout (modules.json, pooling, Normalize)
followed as the library would, one model per folder, and the real MiniLM graded under its
own card's tag."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from labels.scheme import load_scheme
from scanner.discovery.demo import MINILM_ID, build_synthetic_model, minilm_path
from scanner.discovery.local import discover_local_models
from scanner.tasks.base import ModelLoadError
from scanner.tasks.registry import adapter_for
from scanner.tasks.sentence_similarity import (
    SentencePipeline,
    pooling_modes,
    read_sentence_pipeline,
)
from tests.task_runs import benchmark_runs, scan_folder, write_card

ENCODER_ID = "synthetic/tiny-bert-feature-extraction"
WORKLOAD = {"batch_size": 8, "sequence_length": 32, "pad_to_length": False}


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny config-built BERT (seed 0) with a word-piece tokenizer, transformers layout."""
    return build_synthetic_model(ENCODER_ID, tmp_path_factory.mktemp("models") / ENCODER_ID)


def st_folder(
    encoder: Path,
    dest: Path,
    pooling: dict[str, object],
    *,
    normalize: bool = True,
    extra_modules: tuple[dict[str, str], ...] = (),
    st_config: dict[str, object] | None = None,
) -> Path:
    """`encoder` saved in sentence-transformers layout with the given pooling config."""
    import shutil

    shutil.copytree(encoder, dest)
    write_card(dest, "sentence-similarity")
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    if normalize:
        modules.append(
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            }
        )
    modules.extend(extra_modules)
    (dest / "modules.json").write_text(json.dumps(modules), encoding="utf-8")
    (dest / "1_Pooling").mkdir()
    (dest / "1_Pooling" / "config.json").write_text(
        json.dumps({"word_embedding_dimension": 64, **pooling}), encoding="utf-8"
    )
    if st_config is not None:
        (dest / "config_sentence_transformers.json").write_text(
            json.dumps(st_config), encoding="utf-8"
        )
    return dest


def hand_embeddings(path: Path, pooling: str, prompt: str = "", skip: int = 0) -> torch.Tensor:
    """The reference sentences embedded by hand: transformers' own forward, then the pooling
    sentence-transformers documents (mean over the attention mask, or the first token)."""
    from transformers import AutoModel, AutoTokenizer

    from scanner.tasks.reference_text import REFERENCE_SENTENCES

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    model = AutoModel.from_pretrained(str(path)).eval()
    sentences = [prompt + s for s in REFERENCE_SENTENCES[:8]]
    encoded = tokenizer(
        sentences, padding="longest", truncation=True, max_length=32, return_tensors="pt"
    )
    with torch.no_grad():
        hidden = model(**encoded).last_hidden_state
    mask = encoded["attention_mask"].clone().float()
    mask[:, :skip] = 0
    if pooling == "cls":
        pooled = hidden[:, 0]
    else:
        pooled = (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
    return pooled


def adapter_embeddings(path: Path) -> torch.Tensor:
    adapter = adapter_for("sentence-similarity")
    model = adapter.load(path, "cpu")
    with torch.no_grad():
        return adapter.run(model, adapter.reference_batch(path, model, WORKLOAD))


@pytest.mark.parametrize(
    ("pooling", "config"),
    [
        ("mean", {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}),
        ("cls", {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False}),
        ("cls", {"pooling_mode": "cls"}),
    ],
)
@pytest.mark.parametrize("normalize", [True, False])
def test_embedding_equals_hand_computed_pooling(
    tmp_path: Path, encoder: Path, pooling: str, config: dict, normalize: bool
) -> None:
    folder = st_folder(encoder, tmp_path / "st", config, normalize=normalize)
    expected = hand_embeddings(folder, pooling)
    if normalize:
        expected = torch.nn.functional.normalize(expected, dim=-1)
    got = adapter_embeddings(folder)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    assert (got.norm(dim=-1) - 1).abs().max() < 1e-5 if normalize else True


def test_cls_and_mean_pooling_are_different_embeddings(tmp_path: Path, encoder: Path) -> None:
    """The point of following the layout: the same weights pooled two ways are different
    vectors, so the old always-mean adapter judged the wrong one for a CLS model."""
    cls = adapter_embeddings(st_folder(encoder, tmp_path / "cls", {"pooling_mode": "cls"}))
    mean = adapter_embeddings(st_folder(encoder, tmp_path / "mean", {"pooling_mode": "mean"}))
    assert torch.nn.functional.cosine_similarity(cls, mean).mean() < 0.99


def test_a_default_prompt_is_prepended_and_left_out_of_pooling(
    tmp_path: Path, encoder: Path
) -> None:
    prompt = "query: "
    folder = st_folder(
        encoder,
        tmp_path / "prompted",
        {"pooling_mode": "mean", "include_prompt": False},
        normalize=False,
        st_config={"prompts": {"query": prompt}, "default_prompt_name": "query"},
    )
    assert read_sentence_pipeline(folder) == SentencePipeline(("mean",), False, prompt, False)
    from transformers import AutoTokenizer

    # sentence-transformers' prompt length: its ids less the trailing [SEP]
    skip = len(AutoTokenizer.from_pretrained(str(folder))([prompt])["input_ids"][0]) - 1
    expected = hand_embeddings(folder, "mean", prompt=prompt, skip=skip)
    torch.testing.assert_close(adapter_embeddings(folder), expected, rtol=1e-5, atol=1e-5)


def test_pooling_modes_new_and_legacy_keys_in_library_order() -> None:
    assert pooling_modes({"pooling_mode": "lasttoken"}) == ("lasttoken",)
    assert pooling_modes({"pooling_mode": ["cls", "mean"]}) == ("cls", "mean")
    legacy = {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": True}
    assert pooling_modes(legacy) == ("cls", "mean")  # concatenated cls first, as the library
    assert pooling_modes({"pooling_mode_mean_tokens": False}) == ("mean",)
    with pytest.raises(ModelLoadError, match="unknown pooling mode"):
        pooling_modes({"pooling_mode": "median"})


def test_max_and_lasttoken_pooling_ignore_padding(tmp_path: Path, encoder: Path) -> None:
    from scanner.tasks.sentence_similarity import pool

    hidden = torch.arange(2 * 4 * 3, dtype=torch.float).reshape(2, 4, 3)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]])
    last = pool(hidden, mask, SentencePipeline(("lasttoken",), normalize=False))
    assert torch.equal(last, torch.stack([hidden[0, 2], hidden[1, 1]]))
    biggest = pool(hidden, mask, SentencePipeline(("max",), normalize=False))
    assert torch.equal(biggest, torch.stack([hidden[0, 2], hidden[1, 1]]))


def test_an_unsupported_module_fails_the_model_with_one_line_and_the_scan_goes_on(
    tmp_path: Path, encoder: Path
) -> None:
    models = tmp_path / "models"
    dense = {"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"}
    st_folder(
        encoder, models / "org" / "with-dense", {"pooling_mode": "mean"}, extra_modules=(dense,)
    )
    st_folder(encoder, models / "org" / "plain", {"pooling_mode": "cls"})

    exit_code, outcomes = scan_folder(models, tmp_path / "catalog.duckdb")

    assert exit_code == 1
    assert set(outcomes) == {"org/with-dense", "org/plain"}  # no 1_Pooling "model"
    status, reason = outcomes["org/with-dense"]
    assert status == "failed" and reason.startswith("sentence-transformers module Dense")
    assert outcomes["org/plain"][0] == "ok"


def test_a_sentence_transformers_folder_is_one_model(tmp_path: Path, encoder: Path) -> None:
    """`1_Pooling/config.json` is part of the model, not a second, ungraded model."""
    st_folder(encoder, tmp_path / "org" / "embedder", {"pooling_mode": "mean"})
    [ref] = discover_local_models(tmp_path)
    assert ref.model_id == "org/embedder"
    assert ref.library == "sentence-transformers"
    [alone] = discover_local_models(tmp_path / "org")  # name/1_Pooling layout, one level up
    assert alone.model_id == "embedder"


def test_the_gate_is_the_embedding_gate_through_the_real_benchmark(
    tmp_path: Path, encoder: Path
) -> None:
    """A random encoder at BERT's init scale keeps cosine near 1 whatever is cut (the
    embedding layer dominates); at ten times that scale its layers matter, as trained
    layers do: compiling keeps its embeddings, dropping half its layers does not. (int8
    reorders this random encoder's neighbours: top-10 overlap 0.86, under the v2 gate.)"""
    import transformers

    sensitive = tmp_path / "sensitive"
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=273,  # the demo word-piece vocabulary
        hidden_size=64,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=128,
        initializer_range=0.2,
    )
    transformers.BertModel(config).save_pretrained(sensitive)
    (sensitive / "tokenizer.json").write_bytes((encoder / "tokenizer.json").read_bytes())
    (sensitive / "tokenizer_config.json").write_bytes(
        (encoder / "tokenizer_config.json").read_bytes()
    )
    folder = st_folder(sensitive, tmp_path / "st", {"pooling_mode": "cls"})
    scheme = load_scheme("v2")
    gate = scheme.quality_gate("sentence-similarity")
    assert gate == scheme.quality_gate("feature-extraction")

    runs = benchmark_runs(folder, "sentence-similarity", ["compile", "layer-drop-top-50"])

    for record in runs.values():
        assert record.status == "ok", record.reason
        assert record.quality_metric == gate.metric == "top10_overlap"
    assert json.loads(runs["baseline"].provenance_json)["reference_inputs"] == "tokenizer"
    assert runs["baseline"].reference_model == "v2/bert-base-encoder"
    assert runs["compile"].quality_value >= gate.minimum and runs["compile"].qualifies
    dropped = runs["layer-drop-top-50"]
    assert dropped.quality_value < gate.minimum and not dropped.qualifies


@pytest.mark.slow
def test_the_real_minilm_with_its_own_card_is_scanned_and_graded_as_sentence_similarity(
    tmp_path: Path,
) -> None:
    """A folder holding the real all-MiniLM-L6-v2 (linked, unmodified card) is graded."""
    from typer.testing import CliRunner

    from labeler.cli import app
    from labels import Catalog

    source = minilm_path()
    folder = tmp_path / "models" / MINILM_ID
    (folder / "1_Pooling").mkdir(parents=True)
    for file in source.rglob("*"):
        if file.is_file():
            (folder / file.relative_to(source)).symlink_to(file)
    catalog = tmp_path / "catalog.duckdb"

    exit_code, outcomes = scan_folder(tmp_path / "models", catalog)
    graded = CliRunner().invoke(app, ["grade", "--catalog", str(catalog)])

    assert exit_code == 0 and outcomes[MINILM_ID][0] == "ok", outcomes
    assert list(outcomes) == [MINILM_ID]
    assert graded.exit_code == 0, graded.output
    rows = Catalog(catalog).query("SELECT task, grade FROM latest_labels").rows
    assert len(rows) == 1
    task, grade = rows[0]
    assert task == "sentence-similarity" and grade in "ABCDEFG" and grade


def test_the_demo_scans_minilm_under_its_cards_tag(tmp_path: Path) -> None:
    from scanner.discovery.demo import discover_demo_models

    refs = {ref.model_id: ref for ref in discover_demo_models(tmp_path / "demo")}
    assert refs[MINILM_ID].task == "sentence-similarity"
    assert refs[MINILM_ID].pipeline_tag == "sentence-similarity"
    assert refs["synthetic/tiny-bert-feature-extraction"].task == "feature-extraction"


def test_the_onnx_variant_runs_the_folders_own_pooling_through_the_real_benchmark(
    tmp_path: Path, encoder: Path
) -> None:
    """ONNX Runtime exports the transformer alone (the adapter's pooling mask is not a model
    input) and the adapter pools its hidden states: the embeddings are the baseline's."""
    pytest.importorskip("onnxruntime")
    folder = st_folder(encoder, tmp_path / "st", {"pooling_mode": "cls"})

    runs = benchmark_runs(folder, "sentence-similarity", ["onnx-fp32"])

    record = runs["onnx-fp32"]
    assert record.status == "ok", record.reason
    assert record.quality_metric == "top10_overlap" and record.qualifies
    assert json.loads(record.quality_json)["cosine_similarity"] > 0.9999
    assert record.build_disk_bytes and record.build_disk_bytes > 0

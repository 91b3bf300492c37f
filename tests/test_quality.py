"""Quality metrics against the baseline, and labelled evaluation data (`--eval-data`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from scanner.tasks import adapter_for
from scanner.tasks.base import top1_quality
from scanner.tasks.eval_data import (
    EvalDataError,
    LabelledExample,
    label_indices,
    labelled_accuracy,
    read_eval_data,
)
from scanner.tasks.feature_extraction import spearman_of_similarities


def logits(seed: int = 0, shape: tuple[int, ...] = (32, 5)) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_identical_classifier_outputs_agree_fully_with_zero_kl() -> None:
    base = logits()
    result = top1_quality(base, base.clone())
    assert result.metric == "top1_agreement"
    assert result.value == 1.0
    assert result.extra["kl_divergence"] == pytest.approx(0.0, abs=1e-6)


def test_perturbed_classifier_outputs_lower_agreement_and_raise_kl() -> None:
    base = logits()
    result = top1_quality(base, base + 2.0 * logits(seed=1))
    assert result.value < 1.0
    assert result.extra["kl_divergence"] > 0.01


def test_identical_embeddings_have_cosine_and_spearman_one() -> None:
    adapter = adapter_for("feature-extraction")
    base = torch.nn.functional.normalize(logits(shape=(16, 8)), dim=-1)
    result = adapter.quality(base, base.clone())
    assert result.metric == "cosine_similarity"
    assert result.value == pytest.approx(1.0, abs=1e-6)
    assert result.extra["similarity_spearman"] == pytest.approx(1.0, abs=1e-6)


def test_perturbed_embeddings_lower_cosine_and_spearman() -> None:
    adapter = adapter_for("feature-extraction")
    base = torch.nn.functional.normalize(logits(shape=(16, 8)), dim=-1)
    noisy = torch.nn.functional.normalize(base + 0.5 * logits(seed=2, shape=(16, 8)), dim=-1)
    result = adapter.quality(base, noisy)
    assert result.value < 0.99
    assert result.extra["similarity_spearman"] < 0.99
    assert spearman_of_similarities(base, base) == pytest.approx(1.0, abs=1e-6)


def test_identical_generation_logits_have_ratio_one() -> None:
    adapter = adapter_for("text-generation")
    base = logits(shape=(4, 10, 50))
    result = adapter.quality(base, base.clone())
    assert result.metric == "next_token_agreement"
    assert result.value == 1.0
    assert result.extra["perplexity_ratio"] == pytest.approx(1.0, abs=1e-6)


def test_perturbed_generation_logits_lower_agreement_and_raise_perplexity() -> None:
    adapter = adapter_for("text-generation")
    base = logits(shape=(4, 10, 50))
    result = adapter.quality(base, base + 3.0 * logits(seed=3, shape=(4, 10, 50)))
    assert result.value < 1.0
    assert result.extra["perplexity_ratio"] > 1.0


def test_token_classification_uses_top1_agreement() -> None:
    adapter = adapter_for("token-classification")
    base = logits(shape=(2, 6, 5))
    assert adapter.quality(base, base.clone()).value == 1.0


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_eval_data_csv(tmp_path: Path) -> None:
    path = write(tmp_path / "eval.csv", 'text,label\n"good, very good",positive\nbad,0\n')
    examples = read_eval_data(path)
    assert examples == [LabelledExample("good, very good", "positive"), LabelledExample("bad", "0")]


def test_eval_data_jsonl(tmp_path: Path) -> None:
    lines = [{"text": "fine", "label": 1}, {"text": "awful", "label": "NEGATIVE"}]
    path = write(tmp_path / "eval.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n\n")
    assert read_eval_data(path) == [
        LabelledExample("fine", "1"),
        LabelledExample("awful", "NEGATIVE"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("a.csv", "sentence,label\nx,1\n", "text and label"),
        ("b.jsonl", '{"text": "x"}\n', "needs a text and a label"),
        ("c.jsonl", "{not json\n", "not JSON"),
        ("d.csv", "text,label\n", "no examples"),
    ],
)
def test_bad_eval_data_says_why(tmp_path: Path, name: str, content: str, words: str) -> None:
    with pytest.raises(EvalDataError, match=words):
        read_eval_data(write(tmp_path / name, content))


def test_missing_eval_file(tmp_path: Path) -> None:
    with pytest.raises(EvalDataError, match="no such"):
        read_eval_data(tmp_path / "missing.csv")


def test_labels_are_indices_or_class_names() -> None:
    id2label = {0: "NEGATIVE", 1: "POSITIVE"}
    examples = [LabelledExample("a", "1"), LabelledExample("b", "negative")]
    assert label_indices(examples, id2label) == [1, 0]
    with pytest.raises(EvalDataError, match="not a class"):
        label_indices([LabelledExample("c", "neutral")], id2label)
    with pytest.raises(EvalDataError, match="outside"):
        label_indices([LabelledExample("c", "7")], id2label)


def test_labelled_accuracy() -> None:
    scores = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 1.0], [0.0, 5.0]])
    assert labelled_accuracy(scores, torch.tensor([0, 1, 1, 1])) == 0.75
    assert labelled_accuracy(scores[:0], torch.tensor([], dtype=torch.long)) == 0.0


def test_quality_batch_splits_into_workload_shaped_chunks() -> None:
    from scanner.tasks.base import Batch

    ids = torch.arange(32 * 4).reshape(32, 4)
    batch = Batch({"input_ids": ids, "_new_tokens": 16}, 32, "32x4 tokens")
    chunks = batch.split(8)
    assert [c.inferences for c in chunks] == [8, 8, 8, 8]
    assert all(c.kwargs["input_ids"].shape == (8, 4) for c in chunks)
    assert chunks[0].input_shape == "8x4 tokens"
    assert chunks[1].kwargs["_new_tokens"] == 16
    assert torch.equal(torch.cat([c.kwargs["input_ids"] for c in chunks]), ids)
    assert [c.inferences for c in batch.split(12)] == [12, 12, 8]
    with pytest.raises(ValueError):
        batch.split(0)


def test_top10_overlap_counts_the_neighbours_each_item_keeps() -> None:
    from scanner.tasks.feature_extraction import neighbour_overlap

    base = torch.nn.functional.normalize(logits(shape=(40, 8)), dim=-1)
    assert neighbour_overlap(base, base.clone()) == 1.0
    # a rotation keeps every similarity, so every neighbour
    rotation, _ = torch.linalg.qr(logits(seed=3, shape=(8, 8)))
    assert neighbour_overlap(base, base @ rotation) == pytest.approx(1.0)
    unrelated = torch.nn.functional.normalize(logits(seed=4, shape=(40, 8)), dim=-1)
    assert neighbour_overlap(base, unrelated) < 0.5  # chance is 10/39
    # fewer items than neighbours: every other item is a neighbour
    assert neighbour_overlap(base[:5], unrelated[:5]) == 1.0
    assert neighbour_overlap(base[:1], unrelated[:1]) == 1.0


def test_embeddings_are_judged_on_128_distinct_sentences(tmp_path: Path) -> None:
    from scanner.discovery.demo import build_synthetic_model
    from scanner.tasks.reference_text import QUALITY_SENTENCES, REFERENCE_SENTENCES

    assert len(set(QUALITY_SENTENCES)) == 128
    assert QUALITY_SENTENCES[:32] == REFERENCE_SENTENCES
    path = build_synthetic_model("synthetic/tiny-bert-text-classification", tmp_path / "m")
    adapter = adapter_for("feature-extraction")
    model = adapter.load(path, "cpu")
    batch = adapter.quality_batch(path, model, {"batch_size": 8, "sequence_length": 128})
    assert batch.inferences == 128 and batch.kwargs["input_ids"].shape[0] == 128
    result = adapter.quality(*(2 * [adapter.outputs(model, batch).detach()]))
    assert result.extra["top10_overlap"] == 1.0

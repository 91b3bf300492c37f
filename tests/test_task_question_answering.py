"""question-answering (extractive): (question, context) pairs, span agreement (exact start
AND end), the gate through the real benchmark, and a QA tag on a model without a QA head."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from labels.scheme import load_scheme
from scanner.discovery.demo import build_synthetic_model
from scanner.tasks.question_answering import NOT_CONTEXT, QUESTIONS, reference_pairs
from scanner.tasks.registry import adapter_for
from tests.task_runs import benchmark_runs, scan_folder, write_card

MODEL_ID = "synthetic/tiny-bert-question-answering"


@pytest.fixture(scope="module")
def qa_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_synthetic_model(MODEL_ID, tmp_path_factory.mktemp("models") / MODEL_ID)


def test_reference_pairs_are_fixed_questions_about_two_sentences() -> None:
    pairs = reference_pairs(10)
    assert pairs == reference_pairs(10)
    assert [q for q, _c in pairs[:8]] == list(QUESTIONS)
    assert pairs[0][1].startswith("The quick brown fox") and "Energy labels" in pairs[0][1]


def test_reference_batch_encodes_pairs_and_answers_only_from_the_context(qa_model: Path) -> None:
    adapter = adapter_for("question-answering")
    model = adapter.load(qa_model, "cpu")
    workload = load_scheme("v2").workload("question-answering")
    batch = adapter.reference_batch(qa_model, model, workload)

    assert batch.source == "tokenizer" and batch.input_shape == "8x128 tokens"
    assert batch.kwargs["input_ids"].shape == (8, 128)
    context = batch.kwargs["_context"]
    types = batch.kwargs["token_type_ids"]
    # BERT marks the second sequence with token type 1: the context, less its final [SEP]
    assert context.sum() > 0 and not (context & (types == 0)).any()
    assert (context.sum(1) < types.sum(1)).all()

    logits = adapter.run(model, batch)
    assert logits.shape == (8, 2, 128)
    assert (logits[~context.unsqueeze(1).expand_as(logits)] == NOT_CONTEXT).all()
    spans = logits.argmax(-1)
    assert all(context[i, spans[i]].all() for i in range(8))  # start and end in the context
    quality = adapter.quality(logits, logits)
    assert (quality.metric, quality.value) == ("span_agreement", 1.0)


def test_span_agreement_needs_both_start_and_end() -> None:
    adapter = adapter_for("question-answering")
    base = torch.zeros(4, 2, 6)
    for item, (start, end) in enumerate([(1, 2), (2, 4), (3, 3), (0, 5)]):
        base[item, 0, start] = base[item, 1, end] = 5.0
    variant = base.clone()
    variant[1, 1] = torch.tensor([0.0, 0, 0, 9, 0, 0])  # item 1: end moves, start stays
    variant[2, 0] = torch.tensor([9.0, 0, 0, 0, 0, 0])  # item 2: start moves
    quality = adapter.quality(base, variant)
    assert quality.value == 0.5  # two of four spans are exact
    assert quality.extra == {"start_agreement": 0.75, "end_agreement": 0.75}


def test_the_gate_through_the_real_benchmark(qa_model: Path) -> None:
    gate = load_scheme("v2").quality_gate("question-answering")
    runs = benchmark_runs(qa_model, "question-answering", ["dynamic-int8", "prune-global-50"])
    for record in runs.values():
        assert record.status == "ok", record.reason
        assert record.quality_metric == gate.metric == "span_agreement"
    assert runs["baseline"].quality_value == 1.0
    assert runs["baseline"].reference_model == "v2/bert-base-encoder"
    assert runs["dynamic-int8"].quality_value >= gate.minimum and runs["dynamic-int8"].qualifies
    pruned = runs["prune-global-50"]
    assert pruned.quality_value < gate.minimum and not pruned.qualifies


def test_a_qa_tag_on_a_model_without_a_qa_head_fails_and_the_scan_goes_on(
    tmp_path: Path, qa_model: Path
) -> None:
    models = tmp_path / "models"
    masked_lm = build_synthetic_model("synthetic/tiny-bert-fill-mask", models / "org" / "mlm")
    write_card(masked_lm, "question-answering")  # the card says QA; the weights say MLM
    shutil.copytree(qa_model, models / "org" / "real-qa")

    exit_code, outcomes = scan_folder(models, tmp_path / "catalog.duckdb")

    assert exit_code == 1
    status, reason = outcomes["org/mlm"]
    assert status == "failed" and reason.startswith("the checkpoint has no question-answering")
    assert outcomes["org/real-qa"][0] == "ok"

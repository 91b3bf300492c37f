"""summarization, translation, text2text-generation: one encoder-decoder adapter, fixed-length
greedy generation, teacher-forced next-token agreement, and the gate through the benchmark."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from labels.scheme import load_scheme
from scanner.discovery.demo import SYNTHETIC_MODELS, build_synthetic_model
from scanner.tasks.registry import GENERATION_TASKS, adapter_for
from scanner.tasks.seq2seq import Seq2SeqGeneration
from tests.task_runs import benchmark_runs, scan_folder, write_card

T5_ID = "synthetic/tiny-t5-summarization"
BART_ID = "synthetic/tiny-bart-translation"
SEQ2SEQ_TASKS = ("summarization", "translation", "text2text-generation")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {
        model_id: build_synthetic_model(model_id, root / model_id) for model_id in (T5_ID, BART_ID)
    }


def test_one_adapter_serves_the_three_tags_and_each_has_a_v2_gate_and_reference() -> None:
    scheme = load_scheme("v2")
    for task in SEQ2SEQ_TASKS:
        adapter = adapter_for(task)
        assert isinstance(adapter, Seq2SeqGeneration) and adapter.task == task
        assert task in GENERATION_TASKS
        assert scheme.workload(task) == {"batch_size": 4, "source_length": 32, "new_tokens": 16}
        assert scheme.quality_gate(task).metric == "next_token_agreement"
        assert scheme.reference_model(task).model_id == "v2/t5-small-encoder-decoder"
    assert {SYNTHETIC_MODELS[m] for m in SYNTHETIC_MODELS} >= set(SEQ2SEQ_TASKS)


@pytest.mark.parametrize("model_id", [T5_ID, BART_ID])
def test_generation_makes_exactly_the_workloads_new_tokens(
    models: dict[str, Path], model_id: str
) -> None:
    adapter = adapter_for(SYNTHETIC_MODELS[model_id])
    model = adapter.load(models[model_id], "cpu")
    batch = adapter.reference_batch(
        models[model_id], model, load_scheme("v2").workload("translation")
    )
    assert batch.source == "tokenizer"
    assert batch.input_shape == "4x32 source tokens + 16 new"
    assert batch.kwargs["input_ids"].shape == (4, 32)
    generated = adapter.run(model, batch)
    assert generated.shape == (4, 1 + 16)  # the decoder start token, then 16 new tokens
    targets = batch.kwargs["_decoder_input_ids"]
    assert targets.shape == (4, 16)
    assert (targets[:, 0] == model.config.decoder_start_token_id).all()


def test_teacher_forced_outputs_are_the_real_target_positions(models: dict[str, Path]) -> None:
    adapter = adapter_for("summarization")
    model = adapter.load(models[T5_ID], "cpu")
    batch = adapter.quality_batch(models[T5_ID], model, load_scheme("v2").workload("summarization"))
    chunks = batch.split(4)
    outputs = torch.cat([adapter.outputs(model, chunk) for chunk in chunks])
    real = int(batch.kwargs["_decoder_attention_mask"].sum())
    assert outputs.shape == (real, model.config.vocab_size)
    quality = adapter.quality(outputs, outputs)
    assert quality.value == 1.0 and quality.extra["perplexity_ratio"] == pytest.approx(1.0)


def test_agreement_counts_positions_whose_argmax_changes() -> None:
    adapter = adapter_for("text2text-generation")
    base = torch.eye(4) * 5
    variant = base.clone()
    variant[0] = torch.tensor([0.0, 9.0, 0.0, 0.0])
    quality = adapter.quality(base, variant)
    assert quality.value == 0.75 and quality.extra["perplexity_ratio"] > 1


def test_the_gate_through_the_real_benchmark(models: dict[str, Path]) -> None:
    gate = load_scheme("v2").quality_gate("summarization")
    runs = benchmark_runs(
        models[T5_ID], "summarization", ["dynamic-int8", "prune-local-50", "compile"]
    )
    assert "compile" not in runs  # generate() would recompile per length: not applicable
    for record in runs.values():
        assert record.status == "ok", record.reason
        assert record.quality_metric == "next_token_agreement"
    baseline = runs["baseline"]
    assert baseline.quality_value == 1.0
    assert baseline.reference_model == "v2/t5-small-encoder-decoder"
    assert baseline.input_shape == "4x32 source tokens + 16 new"
    assert runs["dynamic-int8"].quality_value >= gate.minimum and runs["dynamic-int8"].qualifies
    pruned = runs["prune-local-50"]
    assert pruned.quality_value < gate.minimum and not pruned.qualifies


def test_a_seq2seq_tag_on_an_encoder_only_model_fails_and_the_scan_goes_on(
    tmp_path: Path, models: dict[str, Path]
) -> None:
    import shutil

    folder = tmp_path / "models"
    encoder = build_synthetic_model(
        "synthetic/tiny-bert-feature-extraction", folder / "org" / "bert"
    )
    write_card(encoder, "translation")
    shutil.copytree(models[BART_ID], folder / "org" / "bart")

    exit_code, outcomes = scan_folder(folder, tmp_path / "catalog.duckdb")

    assert exit_code == 1
    status, reason = outcomes["org/bert"]
    assert status == "failed" and "\n" not in reason
    assert outcomes["org/bart"][0] == "ok"

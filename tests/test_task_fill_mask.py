"""fill-mask: masked reference inputs, top-1 agreement at the masked positions, the gate
through the real benchmark, and a "fill-mask" folder without a masked-LM head."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from labels.scheme import load_scheme
from scanner.discovery.demo import build_synthetic_model
from scanner.tasks.base import QUALITY_ITEMS
from scanner.tasks.fill_mask import choose_masked_positions
from scanner.tasks.registry import adapter_for
from tests.task_runs import benchmark_runs, scan_folder, write_card

MODEL_ID = "synthetic/tiny-bert-fill-mask"


@pytest.fixture(scope="module")
def fill_mask_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_synthetic_model(MODEL_ID, tmp_path_factory.mktemp("models") / MODEL_ID)


def test_reference_batch_masks_a_seeded_share_of_real_tokens(fill_mask_model: Path) -> None:
    adapter = adapter_for("fill-mask")
    model = adapter.load(fill_mask_model, "cpu")
    workload = load_scheme("v2").workload("fill-mask")
    batch = adapter.reference_batch(fill_mask_model, model, workload)
    again = adapter.reference_batch(fill_mask_model, model, workload)

    ids, masked = batch.kwargs["input_ids"], batch.kwargs["_masked"]
    assert batch.source == "tokenizer"
    assert ids.shape == (workload["batch_size"], workload["sequence_length"])
    assert batch.input_shape == "8x128 tokens"
    assert torch.equal(masked, again.kwargs["_masked"])  # fixed, not random per run
    mask_id = 4  # [MASK] in the demo vocabulary
    assert torch.equal(ids == mask_id, masked)
    assert (masked.sum(1) >= 1).all()  # at least one per sentence
    real = batch.kwargs["attention_mask"].bool()
    assert not (masked & ~real).any()  # never a padding position
    assert not masked[:, 0].any()  # never [CLS]
    share = masked.sum().item() / (real.sum().item() - 2 * len(ids))
    assert 0.08 < share < 0.25

    logits = adapter.run(model, batch)
    assert logits.shape == (masked.sum().item(), model.config.vocab_size)
    quality = adapter.quality(logits, logits)
    assert quality.metric == "top1_agreement" and quality.value == 1.0
    assert quality.extra["kl_divergence"] == pytest.approx(0.0, abs=1e-6)


def test_fixed_token_ids_without_a_tokenizer_mask_with_a_fixed_id(fill_mask_model: Path) -> None:
    adapter = adapter_for("fill-mask")
    model = adapter.load(fill_mask_model, "cpu")
    bare = Path(str(fill_mask_model) + "-bare")
    bare.mkdir(exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        (bare / name).write_bytes((fill_mask_model / name).read_bytes())
    batch = adapter.reference_batch(bare, model, {"batch_size": 4, "sequence_length": 16})
    assert batch.source == "fixed-token-ids"
    assert torch.equal(batch.kwargs["input_ids"] == 4, batch.kwargs["_masked"])
    assert batch.kwargs["_masked"].sum(1).tolist() == [2, 2, 2, 2]  # 15 % of 16, rounded


def test_masked_positions_are_seeded_and_at_least_one_per_row() -> None:
    candidates = torch.zeros(3, 10, dtype=torch.bool)
    candidates[0, 1:9] = True
    candidates[1, 1:3] = True  # two candidates: one is still masked
    first = choose_masked_positions(candidates)
    assert torch.equal(first, choose_masked_positions(candidates))
    assert first.sum(1).tolist() == [1, 1, 0]
    assert not (first & ~candidates).any()


def test_top1_agreement_counts_only_masked_predictions() -> None:
    adapter = adapter_for("fill-mask")
    base = torch.tensor([[5.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 5.0], [5.0, 0.0, 0.0]])
    variant = base.clone()
    variant[3] = torch.tensor([0.0, 6.0, 0.0])  # one of four predictions changes
    quality = adapter.quality(base, variant)
    assert quality.value == 0.75
    assert quality.extra["kl_divergence"] > 0


@pytest.mark.slow
def test_the_gate_through_the_real_benchmark(fill_mask_model: Path) -> None:
    gate = load_scheme("v2").quality_gate("fill-mask")
    runs = benchmark_runs(fill_mask_model, "fill-mask", ["compile", "prune-global-50"])
    assert gate.metric == "top1_agreement"
    for record in runs.values():
        assert record.status == "ok", record.reason
        assert record.quality_metric == "top1_agreement"
    assert runs["baseline"].quality_value == 1.0 and runs["baseline"].qualifies
    assert runs["baseline"].reference_model == "v2/bert-base-encoder"
    # compiled kernels compute the same function: the predictions stay
    assert runs["compile"].quality_value >= gate.minimum and runs["compile"].qualifies
    pruned = runs["prune-global-50"]
    assert pruned.quality_value < gate.minimum and not pruned.qualifies


def test_a_fill_mask_folder_without_a_masked_lm_head_fails_and_the_scan_goes_on(
    tmp_path: Path, fill_mask_model: Path
) -> None:
    import shutil

    import transformers

    models = tmp_path / "models"
    headless = models / "org" / "encoder-called-fill-mask"
    torch.manual_seed(0)
    transformers.BertModel(transformers.BertConfig(**_tiny_bert())).save_pretrained(headless)
    write_card(headless, "fill-mask")
    shutil.copytree(fill_mask_model, models / "org" / "real-fill-mask")

    exit_code, outcomes = scan_folder(models, tmp_path / "catalog.duckdb")

    assert exit_code == 1  # some model failed
    status, reason = outcomes["org/encoder-called-fill-mask"]
    assert status == "failed"
    assert reason.startswith("the checkpoint has no masked-LM head")
    assert "\n" not in reason
    assert outcomes["org/real-fill-mask"][0] == "ok"


def _tiny_bert() -> dict[str, int]:
    return {
        "vocab_size": 100,
        "hidden_size": 32,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 37,
    }


def test_quality_items_are_all_reference_sentences(fill_mask_model: Path) -> None:
    adapter = adapter_for("fill-mask")
    model = adapter.load(fill_mask_model, "cpu")
    batch = adapter.quality_batch(fill_mask_model, model, load_scheme("v2").workload("fill-mask"))
    assert batch.inferences == QUALITY_ITEMS
    assert all(chunk.kwargs["_masked"].any() for chunk in batch.split(8))

"""Layer dropping healed by distillation, on tiny encoders built from configs in tmp_path.

The tokenizer's vocabulary covers the distillation text and the quality sentences (the
demo tokenizer knows only the reference sentences, so the training text would be unknown
words). Initial weights are wide (std 0.3) so that the dropped layers matter.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import socket
from pathlib import Path

import pytest
import torch
import transformers

from labels.scheme import load_scheme
from scanner.benchmark import BenchmarkJob, benchmark_model
from scanner.hardware import detect_hardware
from scanner.meters.fake import FakeMeter
from scanner.tactics import TacticContext, default_tactic_names, get_tactic
from scanner.tactics.distillation_text import distillation_sentences
from scanner.tactics.layer_healing import DistilledLayerPruning, HealingBudget, heal
from scanner.tactics.layer_pruning import LAYER_DROP_TOP_50
from scanner.tactics.registry import TACTICS
from scanner.tasks import adapter_for
from scanner.tasks.reference_text import judged_sentences

EMBEDDING = TacticContext(device="cpu", task="feature-extraction", model_type="bert")
CLASSIFIER = TacticContext(device="cpu", task="text-classification", model_type="bert")
SHORT = HealingBudget(max_steps=120, max_cpu_s=600.0, learning_rate=3e-3)


def save_tiny_encoder(path: Path, model_class: type) -> Path:
    words = sorted(
        {
            w
            for s in distillation_sentences() + judged_sentences()
            for w in re.findall(r"\w+", s.lower())
        }
    )
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words, *".,;:!?'-()\""]
    path.mkdir(parents=True)
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    transformers.BertTokenizerFast(vocab_file=str(path / "vocab.txt")).save_pretrained(path)
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=64,
        initializer_range=0.3,
        num_labels=3,
    )
    model_class(config).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def encoder_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_encoder(tmp_path_factory.mktemp("healing") / "encoder", transformers.BertModel)


@pytest.fixture(scope="module")
def classifier_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_tiny_encoder(
        tmp_path_factory.mktemp("healing") / "classifier",
        transformers.BertForSequenceClassification,
    )


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("healing tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def build_as_the_benchmark_does(tactic: DistilledLayerPruning, path: Path, ctx: TacticContext):
    model = adapter_for(ctx.task).load(path, "cpu")
    candidate = copy.deepcopy(model)
    with torch.inference_mode():
        return tactic.build(candidate, ctx), model


def test_the_distillation_text_ships_offline_and_is_not_what_quality_is_judged_on() -> None:
    corpus = distillation_sentences()
    assert len(corpus) >= 500
    assert len(set(corpus)) == len(corpus)
    assert not set(corpus) & set(judged_sentences())
    assert all(s[0].isupper() and s.endswith(".") for s in corpus)


def test_healing_recovers_embedding_quality_the_dropped_layers_carried(
    encoder_path: Path, no_network: None
) -> None:
    built, _model = build_as_the_benchmark_does(
        DistilledLayerPruning(LAYER_DROP_TOP_50, SHORT), encoder_path, EMBEDDING
    )
    q = built.build_quality
    assert len(built.model.encoder.layer) == 2
    assert q["before_healing_cosine_similarity"] < 0.5  # pruning alone loses the embedding
    assert q["after_healing_cosine_similarity"] > q["before_healing_cosine_similarity"] + 0.3
    assert q["after_healing_similarity_spearman"] > q["before_healing_similarity_spearman"]
    assert q["after_healing_top10_overlap"] > q["before_healing_top10_overlap"]
    assert "healed by distillation: 120 of 120 steps" in built.notes
    assert "Python Software Foundation License" in built.notes


def test_before_healing_is_what_layer_dropping_alone_measures(encoder_path: Path) -> None:
    """The `before` figures are the unhealed tactic's quality on the same sentences."""
    adapter = adapter_for("feature-extraction")
    healed, model = build_as_the_benchmark_does(
        DistilledLayerPruning(LAYER_DROP_TOP_50, dataclasses.replace(SHORT, max_steps=2)),
        encoder_path,
        EMBEDDING,
    )
    pruned = LAYER_DROP_TOP_50.build(copy.deepcopy(model), EMBEDDING).model
    batch = adapter.quality_batch(encoder_path, model, {"batch_size": 8, "sequence_length": 128})
    with torch.inference_mode():
        base = torch.cat([adapter.outputs(model, b) for b in batch.split(8)])
        alone = torch.cat([adapter.outputs(pruned, b) for b in batch.split(8)])
    result = adapter.quality(base, alone)
    assert healed.build_quality["before_healing_cosine_similarity"] == pytest.approx(
        result.value, abs=1e-5
    )


def test_a_classifier_heals_by_kl_on_its_logits(classifier_path: Path) -> None:
    built, _model = build_as_the_benchmark_does(
        DistilledLayerPruning(LAYER_DROP_TOP_50, dataclasses.replace(SHORT, max_steps=60)),
        classifier_path,
        CLASSIFIER,
    )
    q = built.build_quality
    assert q["after_healing_kl_divergence"] < q["before_healing_kl_divergence"] / 2


def test_the_budget_counts_optimiser_steps(encoder_path: Path) -> None:
    adapter = adapter_for("feature-extraction")
    teacher = adapter.load(encoder_path, "cpu")
    student = LAYER_DROP_TOP_50.build(copy.deepcopy(teacher), EMBEDDING).model
    calls = []
    original_step = torch.optim.AdamW.step

    def counting_step(self, *args, **kwargs):
        calls.append(1)
        return original_step(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.optim.AdamW, "step", counting_step)
        report = heal(
            student,
            teacher,
            adapter,
            encoder_path,
            EMBEDDING,
            dataclasses.replace(SHORT, max_steps=7),
        )
    assert (report.steps, len(calls), report.stopped_by) == (7, 7, "steps")
    assert report.first_loss is not None and report.last_loss is not None


def test_a_spent_cpu_budget_stops_before_any_step(encoder_path: Path) -> None:
    adapter = adapter_for("feature-extraction")
    teacher = adapter.load(encoder_path, "cpu")
    student = LAYER_DROP_TOP_50.build(copy.deepcopy(teacher), EMBEDDING).model
    before = {k: v.clone() for k, v in student.state_dict().items()}
    report = heal(
        student,
        teacher,
        adapter,
        encoder_path,
        EMBEDDING,
        dataclasses.replace(SHORT, max_cpu_s=0.0),
    )
    assert (report.steps, report.stopped_by, report.first_loss) == (0, "cpu time", None)
    assert all(torch.equal(before[k], v) for k, v in student.state_dict().items())


def test_bad_budgets_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        HealingBudget(max_steps=-1, max_cpu_s=1.0)
    with pytest.raises(ValueError, match="lr > 0"):
        HealingBudget(max_steps=1, max_cpu_s=1.0, learning_rate=0.0)


def test_where_healing_applies() -> None:
    tactic = get_tactic("layer-drop-top-50-distilled")
    image = TacticContext(device="cpu", task="image-classification", model_type="vit")
    assert (
        "no distillation loss for image-classification"
        in tactic.applies_to(torch.nn.Linear(2, 2), image).reason
    )
    generation = TacticContext(device="cpu", task="text-generation", model_type="gpt2")
    assert not tactic.applies_to(torch.nn.Linear(2, 2), generation).applies
    two = transformers.BertModel(
        transformers.BertConfig(
            vocab_size=50,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=16,
        )
    )
    assert "none would be dropped" in tactic.applies_to(two, EMBEDDING).reason
    # minutes of training on a CPU: measured only when asked
    assert "layer-drop-top-50-distilled" not in default_tactic_names("cpu")
    assert "layer-drop-alternate-distilled" not in default_tactic_names("cuda")


def test_the_benchmark_meters_healing_as_build_cost_and_keeps_both_qualities(
    encoder_path: Path,
) -> None:
    healed = DistilledLayerPruning(
        LAYER_DROP_TOP_50, dataclasses.replace(SHORT, max_steps=40), name="test-healed"
    )
    job = BenchmarkJob(
        model_id="tiny/encoder",
        revision="local",
        task="feature-extraction",
        path=str(encoder_path),
        device="cpu",
        tactics=["test-healed", "layer-drop-top-50"],
        scan_id="scan-test",
        scheme_version="v1",
        hardware=dataclasses.asdict(detect_hardware("cpu")),
        protocol={"windows": 1, "window_s": 0.01, "window_iterations": 1, "warmup_s": 0.0,
                  "warmup_iterations": 1, "idle_s": 0.0},
    )  # fmt: skip
    with TACTICS.registered("test-healed", healed):
        result = benchmark_model(job, load_scheme("v1"), meter=FakeMeter(power_w=10.0))
    runs = {r.run.tactic: r.run for r in result.results}
    run, alone = runs[healed.name], runs["layer-drop-top-50"]
    values = json.loads(run.quality_json)
    assert run.build_energy_wh > alone.build_energy_wh > 0  # training energy is build cost
    assert run.build_s > alone.build_s
    assert values["before_healing_cosine_similarity"] == pytest.approx(
        alone.quality_value, abs=1e-4
    )
    assert run.quality_value > alone.quality_value
    assert values["after_healing_cosine_similarity"] == pytest.approx(run.quality_value, abs=1e-4)
    assert "healed by distillation: 40 of 40 steps" in run.notes

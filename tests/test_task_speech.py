"""Speech recognition (Whisper-style): synthetic audio, features, generation, teacher-forced
quality, tactics through the real benchmark path, and models that are not Whisper-style."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from labels.scheme import SCHEMES_DIR, load_scheme
from scanner.benchmark import ModelBenchmark
from scanner.discovery.demo import build_synthetic_model
from scanner.tasks.audio_inputs import synthetic_clip
from scanner.tasks.base import LoadRefused, ModelLoadError
from scanner.tasks.registry import adapter_for
from scanner.tasks.speech_recognition import QUALITY_CLIPS
from tests.task_runs import benchmark_v2

WHISPER = "synthetic/tiny-whisper-speech-recognition"
TASK = "automatic-speech-recognition"


@pytest.fixture(scope="module")
def whisper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_synthetic_model(WHISPER, tmp_path_factory.mktemp("models") / WHISPER)


def _benchmark(path: Path, tactics: list[str]) -> ModelBenchmark:
    return benchmark_v2(path, TASK, tactics, WHISPER)


def test_synthetic_clips_are_seeded_distinct_and_bounded() -> None:
    first, again, other = (
        synthetic_clip(0, 2.0, 16000),
        synthetic_clip(0, 2.0, 16000),
        synthetic_clip(1, 2.0, 16000),
    )
    assert first.shape == (32000,) and torch.equal(first, again)
    assert not torch.equal(first, other)
    assert first.abs().max() == pytest.approx(0.5)


def test_reference_batch_uses_the_models_feature_extractor_or_the_default(
    whisper: Path, tmp_path: Path
) -> None:
    adapter = adapter_for(TASK)
    model = adapter.load(whisper, "cpu")
    workload = load_scheme("v2").workload(TASK)
    batch = adapter.reference_batch(whisper, model, workload)
    assert batch.kwargs["input_features"].shape == (1, 80, 3000)  # Whisper's 30-s window
    assert batch.source == "synthetic-audio+model-feature-extractor"
    bare = shutil.copytree(whisper, tmp_path / "bare")
    (bare / "preprocessor_config.json").unlink()
    computed = adapter.reference_batch(bare, model, workload)
    assert computed.source == "default-whisper-features"
    assert torch.allclose(computed.kwargs["input_features"], batch.kwargs["input_features"])
    with torch.inference_mode():
        tokens = adapter.run(model, batch)
    assert tokens.shape[0] == 1 and tokens.shape[1] >= workload["new_tokens"]


def test_quality_is_teacher_forced_on_the_baselines_tokens(whisper: Path) -> None:
    adapter = adapter_for(TASK)
    model = adapter.load(whisper, "cpu")
    workload = load_scheme("v2").workload(TASK)
    batch = adapter.quality_batch(whisper, model, workload)
    assert batch.inferences == QUALITY_CLIPS
    with torch.inference_mode():
        logits = adapter.outputs(model, batch)
    assert logits.shape[:2] == (QUALITY_CLIPS, workload["new_tokens"])
    same = adapter.quality(logits, logits.clone())
    assert same.metric == "token_agreement" and same.value == 1.0
    assert same.extra["perplexity_ratio"] == pytest.approx(1.0)
    noisy = logits + 5.0 * torch.randn(logits.shape, generator=torch.Generator().manual_seed(1))
    worse = adapter.quality(logits, noisy)
    assert worse.value < 0.9 and worse.extra["perplexity_ratio"] > 1.0


def test_tactics_keep_or_lose_quality_through_the_benchmark(whisper: Path) -> None:
    result = _benchmark(whisper, ["bf16", "prune-global-50", "compile", "layer-drop-top-50"])
    runs = {r.run.tactic: r.run for r in result.results}
    gate = load_scheme("v2").quality_gate(TASK)
    for run in runs.values():
        assert run.status == "ok", run.reason
        assert run.quality_metric == "token_agreement" and run.energy_wh_per_1k > 0
        assert run.qualifies == (run.quality_value >= gate.minimum)
        assert "perplexity_ratio" in json.loads(run.quality_json)
    assert runs["baseline"].quality_value == 1.0
    assert runs["baseline"].reference_model == "v2/whisper-base"
    assert runs["bf16"].qualifies is True
    assert runs["prune-global-50"].qualifies is False
    assert "uncompiled" in result.not_applicable["compile"]
    assert "no encoder layer list" in result.not_applicable["layer-drop-top-50"]
    provenance = json.loads(runs["baseline"].provenance_json)
    assert provenance["reference_inputs"] == "synthetic-audio+model-feature-extractor"


def test_a_ctc_model_is_skipped_and_a_text_model_under_the_tag_fails(
    whisper: Path, tmp_path: Path
) -> None:
    adapter = adapter_for(TASK)
    ctc = shutil.copytree(whisper, tmp_path / "ctc")
    config = json.loads((ctc / "config.json").read_text())
    config.update(model_type="wav2vec2", architectures=["Wav2Vec2ForCTC"])
    (ctc / "config.json").write_text(json.dumps(config))
    with pytest.raises(LoadRefused, match="CTC speech models"):
        adapter.load(ctc, "cpu")
    text = shutil.copytree(whisper, tmp_path / "text")
    config.update(model_type="bert", architectures=["BertForSequenceClassification"])
    (text / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="contradict the automatic-speech-recognition tag"):
        adapter.load(text, "cpu")


def test_shipped_whisper_base_reference_and_its_multiple() -> None:
    scheme = load_scheme("v2", SCHEMES_DIR / "v2.toml")
    spec = scheme.reference_model(TASK)
    assert spec.config()["d_model"] == 512 and spec.config()["encoder_layers"] == 6
    assert spec.energy_multiple == 4.4
    assert scheme.workload(TASK) == {"batch_size": 1, "audio_seconds": 5.0, "new_tokens": 16}


def test_a_local_whisper_folder_without_a_card_is_found_under_its_task(
    whisper: Path, tmp_path: Path
) -> None:
    from scanner.discovery.local import discover_local_models

    folder = shutil.copytree(whisper, tmp_path / "models" / "org" / "whisper")
    (folder / "README.md").unlink()  # the task comes from the architecture
    [ref] = discover_local_models(tmp_path / "models")
    assert (ref.model_id, ref.task, ref.skip_reason) == ("org/whisper", TASK, None)

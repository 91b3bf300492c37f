"""Object detection and zero-shot image classification: reference batches, runs, quality,
and tactics through the real benchmark path on tiny config-built models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from labels.scheme import SCHEMES_DIR, load_scheme
from scanner.benchmark import ModelBenchmark
from scanner.discovery.demo import build_synthetic_model
from scanner.reference import build_reference
from scanner.tactics.base import BuiltVariant, Tactic, TacticContext
from scanner.tactics.registry import TACTICS
from scanner.tasks.object_detection import box_iou, detection_quality
from scanner.tasks.registry import adapter_for
from scanner.tasks.zero_shot_image_classification import LABEL_PROMPTS
from tests.task_runs import benchmark_v2

YOLOS = "synthetic/tiny-yolos-object-detection"
CLIP = "synthetic/tiny-clip-zero-shot-image-classification"
DETECTION, ZERO_SHOT = "object-detection", "zero-shot-image-classification"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    return {m: build_synthetic_model(m, root / m) for m in (YOLOS, CLIP)}


def _benchmark(path: Path, model_id: str, task: str, tactics: list[str]) -> ModelBenchmark:
    return benchmark_v2(path, task, tactics, model_id)


def _runs(result: ModelBenchmark) -> dict:
    return {r.run.tactic: r.run for r in result.results}


def test_detection_reference_batch_is_seeded_pixels_at_the_workload_size(models) -> None:
    adapter = adapter_for(DETECTION)
    model = adapter.load(models[YOLOS], "cpu")
    workload = load_scheme("v2").workload(DETECTION)
    batch = adapter.reference_batch(models[YOLOS], model, workload)
    again = adapter.reference_batch(models[YOLOS], model, workload)
    assert batch.kwargs["pixel_values"].shape == (2, 3, 224, 224)  # not the config's 64
    assert torch.equal(batch.kwargs["pixel_values"], again.kwargs["pixel_values"])
    with torch.inference_mode():
        slots = adapter.outputs(model, batch)
    assert slots.shape == (2, 20, 6)  # 20 detection tokens: class, confidence, box
    assert ((slots[..., 1] >= 0) & (slots[..., 1] <= 1)).all()


def test_detection_quality_gates_on_the_top_slots_iou_and_class() -> None:
    base = torch.tensor([[[1, 0.9, 0.5, 0.5, 0.2, 0.2], [2, 0.1, 0.3, 0.3, 0.1, 0.1]]])
    same = detection_quality(base, base.clone(), top=1)
    assert same.value == pytest.approx(1.0) and same.extra["class_agreement"] == 1.0
    shifted = base.clone()
    shifted[0, 0, 2] += 0.1  # the kept box moves by half its width: IoU 1/3
    assert detection_quality(base, shifted, top=1).value == pytest.approx(1 / 3, rel=1e-4)
    relabelled = base.clone()
    relabelled[0, 0, 0] = 7  # same box, another class: the detection counts 0
    result = detection_quality(base, relabelled, top=1)
    assert result.value == 0.0 and result.extra["box_iou"] == pytest.approx(1.0)
    low_slot_changed = base.clone()
    low_slot_changed[0, 1, 0] = 9  # only a slot the user would not keep changed
    result = detection_quality(base, low_slot_changed, top=1)
    assert result.value == pytest.approx(1.0)
    assert result.extra["class_agreement_all_queries"] == 0.5
    assert box_iou(torch.tensor([0.5, 0.5, 0.2, 0.2]), torch.tensor([0.9, 0.9, 0.1, 0.1])) == 0


def test_detection_tactics_keep_or_lose_quality_through_the_benchmark(models) -> None:
    result = _benchmark(
        models[YOLOS], YOLOS, DETECTION, ["dynamic-int8", "prune-global-50", "head-prune-25"]
    )
    runs = _runs(result)
    gate = load_scheme("v2").quality_gate(DETECTION)
    assert gate.metric == "detection_iou"
    for run in runs.values():
        assert run.status == "ok", run.reason
        assert run.quality_metric == "detection_iou" and run.energy_wh_per_1k > 0
        assert run.qualifies == (run.quality_value >= gate.minimum)
        assert {"class_agreement", "box_iou"} <= set(json.loads(run.quality_json))
    assert runs["baseline"].quality_value == pytest.approx(1.0)
    assert runs["baseline"].reference_model == "v2/detr-resnet-50"
    assert runs["dynamic-int8"].qualifies is True
    assert runs["prune-global-50"].qualifies is False
    assert "no self-attention layout" in result.not_applicable["head-prune-25"]


def test_zero_shot_reference_batch_has_the_images_and_the_tokenized_prompts(models) -> None:
    adapter = adapter_for(ZERO_SHOT)
    model = adapter.load(models[CLIP], "cpu")
    batch = adapter.reference_batch(models[CLIP], model, load_scheme("v2").workload(ZERO_SHOT))
    assert batch.kwargs["pixel_values"].shape == (2, 3, 64, 64)  # the vision tower's size
    ids = batch.kwargs["_prompts"]["input_ids"]
    assert ids.shape[0] == len(LABEL_PROMPTS)
    assert batch.source == "seeded-random-pixels+tokenizer"
    assert len({tuple(row.tolist()) for row in ids}) == len(LABEL_PROMPTS)  # no [UNK] soup
    chunks = adapter.quality_batch(models[CLIP], model, {"batch_size": 2, "image_size": 224})
    for chunk in chunks.split(2):  # the prompts are shared, never cut with the images
        assert chunk.kwargs["_prompts"]["input_ids"].shape[0] == len(LABEL_PROMPTS)
    with torch.inference_mode():
        assert adapter.run(model, batch).shape == (2, len(LABEL_PROMPTS))


class DeepCopyTactic(Tactic):
    """A variant computing exactly what the baseline computes, from a copy of its weights:
    no real CPU tactic keeps 0.98 top-1 agreement on a random 2-layer CLIP (int8 0.94)."""

    name = "test-same-arithmetic"
    description = "The baseline's own weights in a copied module."

    def build(self, model: torch.nn.Module, ctx: TacticContext) -> BuiltVariant:
        return BuiltVariant(model, notes="unchanged copy")


def test_zero_shot_tactics_through_the_benchmark(models) -> None:
    tactics = [DeepCopyTactic.name, "dynamic-int8", "prune-global-50"]
    with TACTICS.registered(DeepCopyTactic.name, DeepCopyTactic()):
        runs = _runs(_benchmark(models[CLIP], CLIP, ZERO_SHOT, tactics))
    gate = load_scheme("v2").quality_gate(ZERO_SHOT)
    for run in runs.values():
        assert run.status == "ok", run.reason
        assert run.quality_metric == "top1_agreement"
        assert run.qualifies == (run.quality_value >= gate.minimum)
    assert runs["baseline"].reference_model == "v2/clip-vit-base-patch32"
    assert runs[DeepCopyTactic.name].quality_value == 1.0
    assert runs[DeepCopyTactic.name].qualifies is True
    assert runs["prune-global-50"].quality_value < 0.5
    assert runs["prune-global-50"].qualifies is False


def test_shipped_vision_references_build_and_run_on_their_workloads() -> None:
    scheme = load_scheme("v2", SCHEMES_DIR / "v2.toml")
    for task, params_m in ((DETECTION, 41.5), (ZERO_SHOT, 151.3)):
        spec = scheme.reference_model(task)
        reference = build_reference(spec, adapter_for(task), scheme.workload(task), "cpu")
        params = sum(p.numel() for p in reference.model.parameters()) / 1e6
        assert params == pytest.approx(params_m, abs=0.5)
        assert reference.batch.inferences == 2
        with torch.inference_mode():
            assert reference.call() is not None


def test_a_scan_records_a_tag_that_contradicts_the_files_as_failed_and_goes_on(
    models, tmp_path: Path
) -> None:
    """A ViT classifier under an object-detection tag, and one under a zero-shot tag, fail
    with one line each; the YOLOS beside them is measured."""
    from labels import Catalog
    from scanner.discovery.local import discover_local_models
    from scanner.scan import ScanOptions, scan
    from tests.tiny_models import FAST_PROTOCOL, copy_model

    vit = build_synthetic_model("synthetic/tiny-vit-image-classification", tmp_path / "vit")
    folder = tmp_path / "models"
    copy_model(models[YOLOS], folder / "org" / "yolos")
    for name, tag in (("vit-as-detector", DETECTION), ("vit-as-clip", ZERO_SHOT)):
        copy_model(vit, folder / "org" / name)
        readme = folder / "org" / name / "README.md"
        readme.write_text(f"---\npipeline_tag: {tag}\n---\n\n# {name}\n", encoding="utf-8")
    catalog = Catalog(tmp_path / "catalog.duckdb")
    options = ScanOptions(
        device="cpu",
        tactics=["baseline"],
        protocol=dict(FAST_PROTOCOL),
        executor="inprocess",
        timeout_s=300.0,
    )

    summary = scan(discover_local_models(folder), catalog, options)

    assert summary.failed == 2
    rows = catalog.query("SELECT model_id, task, status, reason FROM latest_runs").rows
    by_model = {model_id: (task, status, reason) for model_id, task, status, reason in rows}
    assert by_model["org/yolos"][:2] == (DETECTION, "ok")
    for name, tag in (("org/vit-as-detector", DETECTION), ("org/vit-as-clip", ZERO_SHOT)):
        task, status, reason = by_model[name]
        assert (task, status) == (tag, "failed")
        assert reason == (
            f"the files contradict the {tag} tag: config model_type 'vit' "
            f"(ViTForImageClassification) has no {tag} head in transformers"
        )


def test_local_detection_and_clip_folders_without_cards_get_their_tasks(
    models, tmp_path: Path
) -> None:
    from scanner.discovery.local import discover_local_models
    from tests.tiny_models import copy_model

    for model_id in (YOLOS, CLIP):
        copy_model(models[model_id], tmp_path / "models" / model_id)
        (tmp_path / "models" / model_id / "README.md").unlink()
    tasks = {ref.model_id: ref.task for ref in discover_local_models(tmp_path / "models")}
    assert tasks == {YOLOS: DETECTION, CLIP: ZERO_SHOT}


def test_sigmoid_detectors_are_read_without_a_no_object_class() -> None:
    """RT-DETR scores each class with a sigmoid (no trailing "no object" logit)."""
    import transformers

    config = transformers.AutoConfig.for_model(
        "rt_detr",
        num_queries=20,
        num_labels=5,
        d_model=64,
        encoder_hidden_dim=64,
        encoder_layers=1,
        decoder_layers=1,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        use_pretrained_backbone=False,
        backbone_config={
            "model_type": "rt_detr_resnet",
            "depths": [1, 1, 1, 1],
            "hidden_sizes": [16, 32, 64, 128],
            "embedding_size": 16,
            "layer_type": "basic",
            "out_features": ["stage2", "stage3", "stage4"],
        },
        encoder_in_channels=[32, 64, 128],
        decoder_in_channels=[64, 64, 64],
        num_feature_levels=3,
    )
    torch.manual_seed(0)
    model = transformers.AutoModelForObjectDetection.from_config(config).eval()
    adapter = adapter_for(DETECTION)
    batch = adapter.reference_batch(Path("."), model, {"batch_size": 2, "image_size": 224})
    with torch.inference_mode():
        slots = adapter.outputs(model, batch)
        logits = model(**batch.kwargs).logits
    assert logits.shape[-1] == 5 and slots.shape == (2, 20, 6)
    assert torch.allclose(slots[..., 1], logits.sigmoid().max(-1).values)
    assert adapter.quality(slots, slots.clone()).value == pytest.approx(1.0, abs=1e-5)

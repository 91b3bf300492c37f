"""ONNX Runtime variants on tiny config-built models: export, run, quality, bad input.

Every test here exports a real model with torch.onnx and runs it in a real ORT session;
the benchmark tests go through `benchmark_model` and a scan into a real DuckDB file.
"""

from __future__ import annotations

import copy
import dataclasses
import gc
import json
import shutil
import sys
from pathlib import Path

import pytest
import torch
import transformers

from labels import Catalog
from labels.scheme import load_scheme
from scanner.benchmark import BenchmarkJob, ModelBenchmark, benchmark_model
from scanner.discovery.demo import build_synthetic_model
from scanner.discovery.local import discover_local_models
from scanner.hardware import detect_hardware
from scanner.meters.fake import FakeMeter
from scanner.scan import ScanOptions, scan
from scanner.tactics import TacticContext, get_tactic
from scanner.tactics.onnx_runtime import OnnxExportError, OnnxSessionModel, convert_fp16
from scanner.tasks.text_classification import TextClassification
from scanner.tasks.text_inputs import TOKENIZER_FILES
from tests.test_benchmark_model import TINY_PROTOCOL
from tests.tiny_models import (
    FAST_PROTOCOL,
    TINY_BERT,
    TINY_DISTILBERT,
    copy_model,
    tiny_bert_classifier,
)

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.slow  # each test exports a model: seconds each

TINY_VIT = "synthetic/tiny-vit-image-classification"
ONNX_CPU = ["onnx-fp32", "onnx-int8-dynamic"]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo's tiny classifiers, and a BERT feature extractor with the same tokenizer."""
    root = tmp_path_factory.mktemp("onnx-models")
    built = {name: build_synthetic_model(name, root / name) for name in (TINY_BERT, TINY_VIT)}
    encoder = root / "synthetic/tiny-bert-feature-extraction"
    config = transformers.AutoConfig.from_pretrained(built[TINY_BERT])
    torch.manual_seed(0)
    transformers.BertModel(config).eval().save_pretrained(encoder)
    for name in TOKENIZER_FILES + ("tokenizer_config.json", "special_tokens_map.json"):
        if (built[TINY_BERT] / name).is_file():
            shutil.copy(built[TINY_BERT] / name, encoder / name)
    built["feature-extraction"] = encoder
    return built


def job_for(path: Path, task: str, tactics: list[str], model_id: str = "org/tiny") -> BenchmarkJob:
    return BenchmarkJob(
        model_id=model_id,
        revision="local",
        task=task,
        path=str(path),
        device="cpu",
        tactics=tactics,
        scan_id="scan-onnx",
        scheme_version="v1",
        hardware=dataclasses.asdict(detect_hardware("cpu")),
        protocol=dict(TINY_PROTOCOL),
    )


def run(job: BenchmarkJob) -> ModelBenchmark:
    return benchmark_model(job, load_scheme("v1"), meter=FakeMeter(power_w=10.0))


def by_tactic(result: ModelBenchmark) -> dict[str, object]:
    return {r.run.tactic: r.run for r in result.results}


def padded_inputs(batch: int, length: int, real: int) -> dict[str, torch.Tensor]:
    ids = torch.randint(5, 100, (batch, length), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[:, real:] = 0
    return {"input_ids": ids, "attention_mask": mask}


# -- the tactic on its own ------------------------------------------------------------------


@pytest.fixture(scope="module")
def bert_variants() -> dict[str, object]:
    """The tiny classifier and its two CPU variants, built once (an export takes seconds)."""
    model = tiny_bert_classifier(layers=2)
    ctx = TacticContext("cpu", "text-classification", "bert")  # no example inputs: config's
    built = {name: get_tactic(name).build(copy.deepcopy(model), ctx) for name in ONNX_CPU}
    return {"model": model, **built}


def test_fp32_variant_matches_the_model_on_other_shapes(bert_variants) -> None:
    model, built = bert_variants["model"], bert_variants["onnx-fp32"]
    assert isinstance(built.model, OnnxSessionModel)
    folder = built.model.folder
    files = sorted(f.name for f in folder.iterdir())
    assert files and all(f.startswith("model.onnx") for f in files)
    assert built.disk_bytes == sum(f.stat().st_size for f in folder.iterdir())
    assert built.dtype == "float32" and "ORT_ENABLE_ALL" in built.notes
    # the session's threads sleep between operators and runs: spinning burns CPU time
    options = built.model.session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.get_session_config_entry("session.inter_op.allow_spinning") == "0"
    assert "no thread spinning" in built.notes
    # dynamic axes: a batch of 5 and 13 tokens with padding, not the export's 2 x 8
    inputs = padded_inputs(5, 13, real=9)
    with torch.inference_mode():
        expected = model(**inputs).logits
        got = built.model(**inputs).logits
    assert got.shape == (5, 3) and got.dtype == torch.float32
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="attention_mask"):
        built.model(input_ids=inputs["input_ids"])  # an input left out
    with pytest.raises(ValueError, match="token_type_ids"):
        built.model(**inputs, token_type_ids=torch.ones_like(inputs["input_ids"]))


def test_the_exported_files_go_with_the_variant(bert_variants, tmp_path: Path) -> None:
    import onnxruntime

    folder = tmp_path / "variant"
    shutil.copytree(bert_variants["onnx-fp32"].model.folder, folder)
    session = onnxruntime.InferenceSession(str(folder / "model.onnx"))
    variant = OnnxSessionModel(session, "logits", "cpu", folder)
    assert variant.input_names == ["input_ids", "attention_mask"]
    del variant, session
    gc.collect()
    assert not folder.exists()


def test_int8_variant_is_smaller_and_close(bert_variants) -> None:
    model, fp32, int8 = (bert_variants[k] for k in ("model", *ONNX_CPU))
    assert int8.dtype == "int8-dynamic" and "quantize_dynamic" in int8.notes
    assert [f.name for f in int8.model.folder.iterdir()] == ["model.int8.onnx"]
    assert int8.disk_bytes < fp32.disk_bytes
    inputs = padded_inputs(4, 10, real=10)
    with torch.inference_mode():
        expected = model(**inputs).logits
        got = int8.model(**inputs).logits
    assert not torch.equal(got, expected)  # quantized: not the same numbers
    assert torch.nn.functional.cosine_similarity(got, expected, dim=-1).min() > 0.9


def test_where_the_onnx_variants_apply() -> None:
    model = tiny_bert_classifier(layers=2)
    cpu = TacticContext("cpu", "text-classification", "bert")
    cuda = TacticContext("cuda", "text-classification", "bert", compute_capability=(9, 0))
    generation = TacticContext("cpu", "text-generation", "gpt2")
    fp16 = get_tactic("onnx-fp16")
    assert fp16.applies_to(model, cpu).reason == "ONNX fp16 runs on the CUDA provider; GPU only"
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        reason = fp16.applies_to(model, cuda).reason
        assert reason == "this onnxruntime build has no CUDA provider"
    for name in ONNX_CPU:
        tactic = get_tactic(name)
        assert tactic.applies_to(model, cpu).applies
        assert "CPU provider" in tactic.applies_to(model, cuda).reason
        assert "not exported" in tactic.applies_to(model, generation).reason
        assert tactic.default_on == ()  # opt-in on CPU: an export is slow
    assert fp16.default_on == ("cuda",)


def test_fp16_conversion_halves_the_weights(bert_variants, tmp_path: Path) -> None:
    import onnx

    for f in bert_variants["onnx-fp32"].model.folder.iterdir():
        shutil.copy(f, tmp_path / f.name)
    source = tmp_path / "model.onnx"
    halved = convert_fp16(source, tmp_path / "model.fp16.onnx")
    assert not source.exists()
    graph = onnx.load(str(halved)).graph
    weights = {i.data_type for i in graph.initializer if len(i.dims) == 2}
    assert onnx.TensorProto.FLOAT16 in weights and onnx.TensorProto.FLOAT not in weights
    # inputs and outputs keep their exported types, so the adapters feed it as before
    assert [i.type.tensor_type.elem_type for i in graph.input] == [onnx.TensorProto.INT64] * 2
    assert graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT


# -- through the benchmark ------------------------------------------------------------------


def test_a_scan_measures_pairs_gates_and_stores_the_onnx_variants(
    tmp_path: Path, models: dict[str, Path]
) -> None:
    copy_model(models[TINY_BERT], tmp_path / "models" / "org" / "tiny-bert")
    catalog = Catalog(tmp_path / "catalog.duckdb")
    options = ScanOptions(
        device="cpu",
        tactics=["baseline", *ONNX_CPU, "onnx-fp16"],
        protocol=dict(FAST_PROTOCOL),
        executor="inprocess",
    )
    assert scan(discover_local_models(tmp_path / "models"), catalog, options).ok
    rows = catalog.query(
        "SELECT variant, status, reason, quality_metric, quality_value, qualifies, "
        "paired_energy_ratio, windows, build_s, build_energy_wh, build_disk_bytes, size_mb, "
        "notes FROM latest_runs ORDER BY variant"
    ).rows
    runs = {row[0]: row for row in rows}
    assert set(runs) == {"baseline", *ONNX_CPU}
    assert runs["baseline"][10] is None  # nothing written to disk
    for name in ONNX_CPU:
        _, status, reason, metric, _, _, ratio, windows, build_s, build_wh, disk, size, notes = (
            runs[name]
        )
        assert status == "ok", reason
        assert metric == "top1_agreement"
        assert ratio is not None and windows >= 2  # paired with the baseline
        assert build_s > 0 and build_wh > 0
        assert disk > 0 and size == pytest.approx(disk / 2**20)
        assert "exported with torch.onnx" in notes
    assert runs["onnx-fp32"][4] == 1.0 and runs["onnx-fp32"][5]
    assert runs["onnx-int8-dynamic"][10] < runs["onnx-fp32"][10]
    provenance = json.loads(
        catalog.query("SELECT provenance_json FROM runs WHERE variant = 'baseline'").rows[0][0]
    )
    assert provenance["not_applicable"] == {
        "onnx-fp16": "ONNX fp16 runs on the CUDA provider; GPU only"
    }


def test_benchmark_feature_extraction_keeps_the_embeddings(models: dict[str, Path]) -> None:
    result = run(job_for(models["feature-extraction"], "feature-extraction", ["onnx-fp32"]))
    record = by_tactic(result)["onnx-fp32"]
    assert record.status == "ok", record.reason
    assert record.quality_metric == "cosine_similarity"
    assert record.quality_value > 0.9999 and record.qualifies
    # random weights: near-tied similarities, so rank order moves with float rounding
    assert json.loads(record.quality_json)["similarity_spearman"] > 0.95


def test_benchmark_image_classification(models: dict[str, Path]) -> None:
    result = run(job_for(models[TINY_VIT], "image-classification", ["onnx-fp32"], TINY_VIT))
    record = by_tactic(result)["onnx-fp32"]
    assert record.status == "ok", record.reason
    assert record.quality_metric == "top1_agreement" and record.quality_value == 1.0


def test_benchmark_token_classification(tmp_path: Path) -> None:
    path = build_synthetic_model(TINY_DISTILBERT, tmp_path / TINY_DISTILBERT)
    result = run(job_for(path, "token-classification", ["onnx-fp32"], TINY_DISTILBERT))
    record = by_tactic(result)["onnx-fp32"]
    assert record.status == "ok", record.reason
    assert record.quality_metric == "top1_agreement" and record.quality_value == 1.0


# -- bad input ------------------------------------------------------------------------------


class BranchOnValues(transformers.BertForSequenceClassification):
    """A real model whose forward branches on its input values: torch.export cannot
    trace that, so its ONNX export raises."""

    def forward(self, input_ids=None, **kwargs):
        if input_ids.sum() > 0:
            return super().forward(input_ids=input_ids, **kwargs)
        return super().forward(input_ids=input_ids.flip(-1), **kwargs)


def test_an_export_that_raises_is_one_line() -> None:
    model = BranchOnValues(tiny_bert_classifier(layers=2).config).eval()
    ctx = TacticContext("cpu", "text-classification", "bert")
    with pytest.raises(OnnxExportError) as raised:
        get_tactic("onnx-fp32").build(model, ctx)
    reason = str(raised.value)
    assert reason.startswith("ONNX export failed: ") and "\n" not in reason
    assert "\x1b[" not in reason  # torch.onnx's colour codes are stripped


def test_a_failed_export_is_a_failed_run_and_the_benchmark_goes_on(
    models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def load_branching(self, path, device, allow_pickle=False):
        return BranchOnValues.from_pretrained(str(path)).to(device).eval()

    monkeypatch.setattr(TextClassification, "load", load_branching)
    result = run(job_for(models[TINY_BERT], "text-classification", ["onnx-fp32", "dynamic-int8"]))
    runs = by_tactic(result)
    assert runs["baseline"].status == "ok"
    assert runs["dynamic-int8"].status == "ok"
    failed = runs["onnx-fp32"]
    assert failed.status == "failed"
    assert failed.reason.startswith("OnnxExportError: ONNX export failed: ")
    assert "\n" not in failed.reason


def test_without_onnxruntime_the_variants_do_not_apply_and_the_scan_goes_on(
    tmp_path: Path, models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now fails
    copy_model(models[TINY_BERT], tmp_path / "models" / "org" / "tiny-bert")
    catalog = Catalog(tmp_path / "catalog.duckdb")
    options = ScanOptions(
        device="cpu",
        tactics=["baseline", *ONNX_CPU, "dynamic-int8"],
        protocol=dict(FAST_PROTOCOL),
        executor="inprocess",
    )
    summary = scan(discover_local_models(tmp_path / "models"), catalog, options)
    assert summary.ok and summary.benchmarked == 1
    rows = catalog.query("SELECT variant, status FROM runs ORDER BY variant").rows
    assert rows == [("baseline", "ok"), ("dynamic-int8", "ok")]
    provenance = json.loads(
        catalog.query("SELECT provenance_json FROM runs WHERE variant = 'baseline'").rows[0][0]
    )
    for name in ONNX_CPU:
        reason = provenance["not_applicable"][name]
        assert reason == "onnxruntime is not installed (pip install onnxruntime)"

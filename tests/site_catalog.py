"""A small real DuckDB catalog with labelled models, for the site, badge and card tests.

Written through the public labels API (records, `record_model_results`, `write_labels`), so
the tests exercise the same views the site reads in production. One model has a hostile id.
"""

from __future__ import annotations

import json
from pathlib import Path

from labels import (
    Catalog,
    HardwareRecord,
    LabelRecord,
    ModelRecord,
    RunRecord,
    RunResult,
    WindowRecord,
)
from tests.catalog_copies import copy_of
from tests.label_records import MEASURED_AT, label_record

HOSTILE_ID = "evil/<script>alert(1)</script>\"'"
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
DISTILBERT_ID = "distilbert/distilbert-base-uncased-finetuned-sst-2-english"
VIT_ID = "google/vit-base-patch16-224"
BROKEN_ID = "acme/broken-model"

CPU = HardwareRecord(
    fingerprint="cpu-fp-1",
    profile="cpu-x86-64",
    kind="cpu",
    device_name="cpu",
    cpu_model="Intel(R) Xeon(R) Platinum 8375C",
    cpu_cores=2,
    memory_gb=24.0,
)
GPU = HardwareRecord(
    fingerprint="gpu-fp-1",
    profile="gpu-h100-80gb",
    kind="gpu",
    device_name="NVIDIA H100 80GB HBM3",
    cpu_model="AMD EPYC 9454",
    cpu_cores=16,
    memory_gb=128.0,
    gpu_driver="560.35.03",
    gpu_power_limit_w=700.0,
    gpu_memory_gb=80.0,
)


def _run(model: ModelRecord, hw: HardwareRecord, variant: str, tactic: str, **fields) -> RunRecord:
    values = {
        "run_id": f"{model.model_id}|{hw.profile}|{variant}",
        "scan_id": "scan-1",
        "model_id": model.model_id,
        "revision": model.revision,
        "task": model.task,
        "hardware_profile": hw.profile,
        "hardware_fingerprint": hw.fingerprint,
        "variant": variant,
        "tactic": tactic,
        "status": "ok",
        "energy_method": "rapl" if hw.kind == "cpu" else "nvml",
        "device": hw.kind,
        "dtype": "float32",
        "batch_size": 8,
        "input_shape": "8x128",
        "harness_version": "0.1.0",
        "scheme_version": "v1",
        "torch_version": "2.13.0",
        "transformers_version": "5.23.0",
        "cuda_version": None if hw.kind == "cpu" else "12.8",
        "started_at": MEASURED_AT,
        "finished_at": MEASURED_AT,
        "windows": 3,
        "energy_cv": 0.02,
        "latency_ms_p50": 12.0,
        "latency_ms_p95": 14.0,
        "peak_mem_mb": 512.0,
        "quality_metric": "top1_agreement",
        "quality_value": 1.0,
        "qualifies": True,
        "size_mb": 90.0,
        "provenance_json": json.dumps({"python": "3.11.9", "os": "Linux 6.1"}),
    }
    values.update(fields)
    return RunRecord(**values)


def _windows(run: RunRecord) -> list[WindowRecord]:
    if run.status != "ok" or run.energy_wh_per_1k is None:
        return []
    return [
        WindowRecord(
            run_id=run.run_id,
            window_index=i,
            duration_s=5.0,
            iterations=100,
            inferences=800,
            energy_j=run.energy_wh_per_1k * 0.8 * 3600,
            idle_energy_j=10.0,
            energy_wh_per_1k=run.energy_wh_per_1k,
            energy_wh_per_1k_net=run.energy_wh_per_1k * 0.9,
            latency_ms_p50=12.0,
            power_w=40.0,
            energy_method=run.energy_method or "rapl",
        )
        for i in range(3)
    ]


def _label(model: ModelRecord, hw: HardwareRecord, **fields) -> LabelRecord:
    ids = {
        "model_id": model.model_id,
        "revision": model.revision,
        "task": model.task,
        "hardware": hw.profile,
        "energy_method": "rapl" if hw.kind == "cpu" else "nvml",
    }
    return label_record(**(ids | fields))


def _rec(tactic: str, variant: str, energy: float, change: float, **extra) -> dict:
    item = {
        "tactic": tactic,
        "variant": variant,
        "energy_wh_per_1k": energy,
        "energy_change": change,
        "latency_change": change / 2,
        "quality_metric": "top1_agreement",
        "quality_value": 0.996,
        "qualifies": True,
        "grade": "A",
        "size_mb": 25.0,
        "build_s": 3.2,
        "build_energy_wh": 0.05,
        "payback_inferences": 1200,
        "note": "",
        "applies": True,
    }
    item.update(extra)
    return item


def fill_catalog(path: Path) -> Catalog:
    """Create a catalog at `path` with five models, one on two hardware profiles.

    The first call in a process writes them through the public API (18 write transactions,
    each published for readers: about 0.6 s); later calls copy that catalog's published file
    to `path` and open it there, as a reader's copy would be (a few ms). 21 test modules ask
    for one."""
    return copy_of(_fill, path)


def _fill(path: Path) -> Catalog:
    catalog = Catalog(path)
    minilm = ModelRecord(
        model_id=MINILM_ID,
        revision="c9745ed1d9f207416be6d2e6f8de32d1f16199bf",
        task="feature-extraction",
        source="demo",
        library="sentence-transformers",
        license="apache-2.0",
        downloads=90_000_000,
        params=22_700_000,
        tags_json=json.dumps(["sentence-transformers", "feature-extraction"]),
    )
    distilbert = ModelRecord(
        model_id=DISTILBERT_ID,
        revision="714eb0fa89d2f80546fda750413ed43d93601a13",
        task="text-classification",
        source="hub",
        downloads=5_000_000,
    )
    vit = ModelRecord(
        model_id=VIT_ID, revision="3f49326", task="image-classification", source="hub"
    )
    hostile = ModelRecord(
        model_id=HOSTILE_ID,
        revision="deadbeef",
        task="text-classification",
        source="local",
        synthetic=True,
        tags_json=json.dumps(["<script>alert(1)</script>", "\"'"]),
        card_summary="<script>alert(1)</script> \"quoted\" 'single'",
    )
    broken = ModelRecord(
        model_id=BROKEN_ID, revision="0000001", task="text-generation", source="hub"
    )

    def variants(model: ModelRecord, hw: HardwareRecord, base_e: float, **base) -> list[RunRecord]:
        metric = "cosine_similarity" if model.task == "feature-extraction" else "top1_agreement"
        return [
            _run(
                model,
                hw,
                "baseline",
                "baseline",
                energy_wh_per_1k=base_e,
                quality_metric=metric,
                **base,
            ),
            _run(
                model,
                hw,
                "int8-dynamic",
                "int8 dynamic quantization",
                energy_wh_per_1k=base_e * 0.59,
                quality_metric=metric,
                quality_value=0.996,
                size_mb=25.0,
                build_s=3.2,
                **base,
            ),
            _run(
                model,
                hw,
                "prune-global-25",
                "global magnitude pruning",
                energy_wh_per_1k=base_e * 1.01,
                quality_metric=metric,
                quality_value=0.97,
                qualifies=False,
                notes="masked weights; dense kernels",
                **base,
            ),
        ]

    minilm_cpu = variants(minilm, CPU, 0.9, energy_method="estimate")
    minilm_gpu = variants(minilm, GPU, 0.012, energy_cv=0.18, noisy=True)
    distil_cpu = variants(distilbert, CPU, 2.0)
    vit_cpu = variants(vit, CPU, 5.0)
    hostile_cpu = variants(hostile, CPU, 9.0)
    broken_cpu = [
        _run(
            broken,
            CPU,
            "baseline",
            "baseline",
            status="failed",
            reason="load error: <b>unsupported</b> architecture",
            energy_wh_per_1k=None,
            windows=0,
        )
    ]
    for model, hw, runs in [
        (minilm, CPU, minilm_cpu),
        (minilm, GPU, minilm_gpu),
        (distilbert, CPU, distil_cpu),
        (vit, CPU, vit_cpu),
        (hostile, CPU, hostile_cpu),
        (broken, CPU, broken_cpu),
    ]:
        catalog.record_model_results(model, hw, [RunResult(r, _windows(r)) for r in runs])

    pruning = _rec(
        "global magnitude pruning",
        "prune-global-25",
        0.0,
        0.01,
        qualifies=False,
        grade="C",
        note="quality below the gate (97.0 % < 99 %)",
    )
    not_applicable = {
        "tactic": "fp16",
        "variant": "fp16",
        "applies": False,
        "note": "half precision needs a GPU",
    }
    catalog.write_labels(
        [
            _label(
                minilm,
                CPU,
                grade="C",
                eei=0.45,
                energy_wh_per_1k=0.9,
                energy_method="estimate",
                best_variant="int8-dynamic",
                best_grade="A",
                best_energy_wh_per_1k=0.531,
                quality_retained=0.996,
                quality_metric="cosine_similarity",
                recommendations_json=json.dumps(
                    [
                        _rec("int8 dynamic quantization", "int8-dynamic", 0.531, -0.41),
                        pruning,
                        not_applicable,
                    ]
                ),
            ),
            _label(
                minilm,
                GPU,
                grade="B",
                eei=0.2,
                energy_wh_per_1k=0.012,
                noisy=True,
                best_variant="baseline",
                best_grade="B",
                best_energy_wh_per_1k=0.012,
                quality_retained=1.0,
                quality_metric="cosine_similarity",
            ),
            _label(
                distilbert,
                CPU,
                grade="D",
                eei=0.8,
                energy_wh_per_1k=2.0,
                best_variant="int8-dynamic",
                best_grade="C",
                best_energy_wh_per_1k=1.18,
                quality_retained=0.996,
                quality_metric="top1_agreement",
                recommendations_json=json.dumps(
                    [_rec("int8 dynamic quantization", "int8-dynamic", 1.18, -0.41, grade="C")]
                ),
            ),
            _label(
                vit,
                CPU,
                energy_wh_per_1k=5.0,
                reason="no reference energy for image-classification on cpu-x86-64 in scheme v1",
            ),
            _label(
                hostile,
                CPU,
                grade="F",
                eei=3.1,
                energy_wh_per_1k=9.0,
                best_variant="baseline",
                best_grade="F",
                best_energy_wh_per_1k=9.0,
                quality_retained=1.0,
                quality_metric="top1_agreement",
                recommendations_json=json.dumps(
                    [
                        _rec(
                            "<script>alert(2)</script>",
                            'x"y',
                            5.0,
                            -0.44,
                            note="<img src=x onerror=alert(3)>",
                        )
                    ]
                ),
            ),
            _label(
                broken,
                CPU,
                energy_method=None,
                reason="failed: load error: <b>unsupported</b> architecture",
            ),
        ]
    )
    return catalog

"""Measure the reference energies of a label scheme: E_ref per (task, hardware profile).

E_ref is the energy per 1,000 inferences of a reference architecture that stands for the
median popular model of the task (BERT-base for text tasks, ViT-base for images, GPT-2
for generation), measured with the normal harness at the scheme's reference workload.
Weights are random (built from configs, nothing is downloaded): energy depends on the
architecture and the workload, not on the trained values.

    python benchmarks/calibrate.py [--device cpu|cuda] [--out build/bench/calibration.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REFERENCE_ARCHITECTURES = {
    "feature-extraction": ("bert-base (110M, like all-mpnet-base-v2, bge-base)", "BertModel"),
    "text-classification": ("bert-base (110M)", "BertForSequenceClassification"),
    "token-classification": ("bert-base (110M, like bert-base-NER)", "BertForTokenClassification"),
    "image-classification": ("vit-base-patch16-224 (86M)", "ViTForImageClassification"),
    "text-generation": ("gpt2 (124M)", "GPT2LMHeadModel"),
}


def build_reference(task: str, folder: Path) -> Path:
    import torch
    import transformers

    torch.manual_seed(0)
    cls_name = REFERENCE_ARCHITECTURES[task][1]
    if cls_name.startswith("Bert"):
        config = transformers.BertConfig()
    elif cls_name.startswith("ViT"):
        config = transformers.ViTConfig(image_size=224, patch_size=16, num_labels=1000)
    else:
        config = transformers.GPT2Config()
    model = getattr(transformers, cls_name)(config).eval()
    path = folder / task
    model.save_pretrained(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("build/bench/calibration.json"))
    parser.add_argument("--task", action="append", help="only these tasks")
    args = parser.parse_args()

    from labels.scheme import load_scheme
    from scanner.benchmark import BenchmarkJob, benchmark_model
    from scanner.hardware import detect_hardware

    scheme = load_scheme("v1")
    hardware = detect_hardware(args.device)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for task in args.task or list(REFERENCE_ARCHITECTURES):
            path = build_reference(task, Path(tmp))
            job = BenchmarkJob(
                model_id=f"reference/{task}",
                revision="calibration",
                task=task,
                path=str(path),
                device=args.device,
                tactics=["baseline"],
                scan_id="calibration",
                scheme_version="v1",
                hardware=asdict(hardware),
            )
            run = benchmark_model(job, scheme).results[0].run
            if run.status != "ok":
                raise SystemExit(f"{task}: {run.status}: {run.reason}")
            results[task] = {
                "hardware": hardware.profile,
                "architecture": REFERENCE_ARCHITECTURES[task][0],
                "energy_wh_per_1k": run.energy_wh_per_1k,
                "energy_cv": run.energy_cv,
                "energy_method": run.energy_method,
                "latency_ms_p50": run.latency_ms_p50,
                "device_name": hardware.device_name,
            }
            print(
                f"{task:22} {hardware.profile:16} {run.energy_wh_per_1k:10.5f} Wh/1k  "
                f"cv {run.energy_cv:.3f}  {run.energy_method}  p50 {run.latency_ms_p50:.1f} ms"
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

"""The AI Energy Score protocol on the five models its leaderboard and ours can share.

Each model is built from its published architecture config with random weights (seed 0;
nothing is downloaded, and energy does not depend on trained weight values) and measured
with `--protocol energy-score`: batch 1, 1,000 queries, fp32 for the non-generative tasks,
10 new tokens for generation, GPU energy only, Wh per 1,000 queries. On a CPU the figures
come from the CPU meter (RAPL, or an estimate) and are marked so: the AI Energy Score
publishes GPU figures only.

    python benchmarks/energy_score.py --device cuda --out build/bench/energy_score.json
    python benchmarks/energy_score.py --queries 200     # a quicker check, still per 1,000

Writes one row per model: energy_wh_per_1k_queries, energy_method, estimated, latency,
params, and the run's status and reason.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_OUT = Path("build/bench/energy_score.json")


def _models() -> dict[str, tuple[str, Callable[[], Any]]]:
    """Model id → (task, builder): each the published config of that Hub model."""
    import transformers as t

    return {
        "distilbert-base-uncased": (
            "text-classification",
            lambda: t.DistilBertForSequenceClassification(t.DistilBertConfig(num_labels=2)),
        ),
        "google/vit-base-patch16-224": (
            "image-classification",
            lambda: t.ViTForImageClassification(
                t.ViTConfig(image_size=224, patch_size=16, num_labels=1000)
            ),
        ),
        "microsoft/resnet-50": (
            "image-classification",
            lambda: t.ResNetForImageClassification(
                t.ResNetConfig(
                    embedding_size=64,
                    hidden_sizes=[256, 512, 1024, 2048],
                    depths=[3, 4, 6, 3],
                    layer_type="bottleneck",
                    num_labels=1000,
                )
            ),
        ),
        "openai-community/gpt2": (
            "text-generation",
            lambda: t.GPT2LMHeadModel(t.GPT2Config()),
        ),
        "BAAI/bge-small-en-v1.5": (
            "feature-extraction",
            lambda: t.BertModel(
                t.BertConfig(
                    hidden_size=384,
                    num_hidden_layers=12,
                    num_attention_heads=12,
                    intermediate_size=1536,
                )
            ),
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    parser.add_argument("--queries", type=int, default=None, help="queries per window (1000)")
    parser.add_argument("--windows", type=int, default=1, help="times the queries run")
    parser.add_argument("--model", action="append", help="only these model ids (repeatable)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes")
    args = parser.parse_args(argv)

    import torch

    from labels.scheme import load_scheme
    from scanner.energy_score import QUERIES, describe_energy_score
    from scanner.hardware import detect_hardware, software_versions

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"error: --device {args.device}: torch sees no CUDA device", file=sys.stderr)
        return 2
    models = _models()
    unknown = [m for m in args.model or [] if m not in models]
    if unknown:
        print(f"error: unknown model {unknown[0]!r} ({', '.join(models)})", file=sys.stderr)
        return 2
    scheme = load_scheme()
    hardware = detect_hardware(args.device)
    report: dict[str, Any] = {
        "command": " ".join(["python", "benchmarks/energy_score.py", *(argv or sys.argv[1:])]),
        "device": args.device,
        "hardware": dataclasses.asdict(hardware),
        "software": software_versions(),
        "queries_per_window": args.queries or QUERIES,
        "windows": args.windows,
        "note": "config-built models with random weights (seed 0): energy is real, outputs "
        "are not; inputs are our reference inputs, not the AI Energy Score's data sets",
        "models": [],
    }
    with tempfile.TemporaryDirectory(prefix="energy-score-") as tmp:
        for model_id, (task, build) in models.items():
            if args.model and model_id not in args.model:
                continue
            print(f"{model_id} ({task}) …", flush=True)
            row: dict[str, Any] = {"model_id": model_id, "task": task}
            try:
                row.update(measure(model_id, task, build, Path(tmp), args, scheme, hardware))
                method = row.get("energy_method") or "-"
                row["protocol"] = describe_energy_score(task, args.device, method)
            except Exception as exc:  # one model failing must not lose the others
                row.update(status="failed", reason=f"{type(exc).__name__}: {exc}")
                traceback.print_exc()
            report["models"].append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    print_table(report)
    print(f"wrote {args.out}")
    return 0 if all(m.get("status") == "ok" for m in report["models"]) else 1


def measure(
    model_id: str,
    task: str,
    build: Callable[[], Any],
    tmp: Path,
    args: argparse.Namespace,
    scheme: Any,
    hardware: Any,
) -> dict[str, Any]:
    import torch

    from scanner.benchmark import BenchmarkJob, benchmark_model
    from scanner.energy_score import ENERGY_SCORE

    torch.manual_seed(0)
    path = tmp / model_id.replace("/", "--")
    model = build().eval()
    params = sum(p.numel() for p in model.parameters())
    model.save_pretrained(path, safe_serialization=True)
    del model
    protocol: dict[str, Any] = {"windows": args.windows}
    if args.queries:
        protocol["window_iterations"] = args.queries
    job = BenchmarkJob(
        model_id=model_id,
        revision="config-built",
        task=task,
        path=str(path),
        device=args.device,
        tactics=[],
        scan_id=f"bench-energy-score-{int(time.time())}",
        scheme_version=scheme.version,
        hardware=dataclasses.asdict(hardware),
        protocol=protocol,
        protocol_name=ENERGY_SCORE,
    )
    started = time.perf_counter()
    run = benchmark_model(job, scheme).results[0].run
    return {
        "status": run.status,
        "reason": run.reason,
        "params": params,
        "energy_wh_per_1k_queries": run.energy_wh_per_1k,
        "energy_method": run.energy_method,
        "estimated": run.energy_method == "estimate",
        "energy_cv": run.energy_cv,
        "latency_ms_p50": run.latency_ms_p50,
        "dtype": run.dtype,
        "seconds": time.perf_counter() - started,
    }


def print_table(report: dict[str, Any]) -> None:
    print(f"\n{'model':32} {'task':22} {'Wh/1k queries':>14} {'meter':10} {'p50 ms':>8}")
    for m in report["models"]:
        if m.get("status") != "ok":
            print(f"{m['model_id']:32} {m['task']:22} {m.get('status')}: {m.get('reason')}")
            continue
        method = m["energy_method"] + (" (est.)" if m["estimated"] else "")
        print(
            f"{m['model_id']:32} {m['task']:22} {m['energy_wh_per_1k_queries']:14.4f} "
            f"{method:10} {m['latency_ms_p50']:8.2f}"
        )


if __name__ == "__main__":
    sys.exit(main())

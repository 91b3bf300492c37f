"""Measure every tactic that applies on this device on the real MiniLM model.

Writes build/bench/tactics.json (or `--out`) with, for each tactic: energy_change,
latency_change, quality (metric name, value and extras), build_s, build_energy_wh,
payback_inferences, qualifies, saving_measurable, size_mb, build_disk_bytes (ONNX variants),
energy_method, the money figures `cost_per_million` and `payback_money` (labeler.costs, at
the default prices or `--electricity-price-per-kwh` / `--hardware-price-per-hour` and their
environment variables), and for tactics that do not apply or fail, the reason.
`--batch-sizes 1,8,32,64` adds the baseline's batching sweep and the batching advice. Prints
the same as a table, and whether the measurements agree with the research (dynamic int8
strongest on CPU; local masked pruning without gain).

  .venv/bin/python benchmarks/tactics.py                      # CPU, MiniLM, all CPU tactics
  .venv/bin/python benchmarks/tactics.py --device cuda --out benchmarks/results/tactics_gpu.json

On CUDA it also measures tiny models built from configs (a BERT text classifier and a ViT),
which exercise the classifier tactics and the image path; `--models tiny` measures those
alone (the GPU suite does: MiniLM is not carried to the GPU machine).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labeler.costs import (  # noqa: E402
    PriceError,
    Prices,
    VariantMoney,
    baseline_cost_per_million,
    resolve_prices,
    variant_money,
)
from labeler.recommend import batching_summary, recommendations  # noqa: E402
from labels.batching import parse_batch_sizes  # noqa: E402
from labels.recommendation import Recommendation  # noqa: E402
from labels.scheme import load_scheme  # noqa: E402

DEFAULT_OUT = Path("build/bench/tactics.json")
TINY_MODELS = {
    "synthetic/tiny-bert-text-classification": "text-classification",
    "synthetic/tiny-vit-image-classification": "image-classification",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:N]")
    parser.add_argument("--out", type=Path, default=None, help=f"JSON path (default {DEFAULT_OUT})")
    parser.add_argument("--windows", type=int, default=None, help="measured windows per variant")
    parser.add_argument("--window-s", type=float, default=None, help="minimum seconds a window")
    parser.add_argument(
        "--warmup-s", type=float, default=None, help="seconds of warm-up calls (a dry run: 0)"
    )
    parser.add_argument("--tactic", action="append", help="only these tactics (repeatable)")
    parser.add_argument(
        "--scheme",
        default="v2",
        help="label scheme whose quality gates judge the variants (default v2: the model is"
        " also measured beside its reference; v1: the old cosine gate for embeddings)",
    )
    parser.add_argument(
        "--models",
        choices=("default", "minilm", "tiny", "all"),
        default="default",
        help="MiniLM, the config-built tiny models, or both (default: MiniLM, plus the tiny "
        "models on CUDA); `tiny` needs no MiniLM, as on a GPU machine it is not carried to",
    )
    parser.add_argument("--no-tiny", action="store_true", help="same as --models minilm")
    parser.add_argument(
        "--batch-sizes", default=None, help="also sweep the baseline's batch size, e.g. 1,8,32,64"
    )
    parser.add_argument("--electricity-price-per-kwh", default=None, help="price per kWh")
    parser.add_argument("--hardware-price-per-hour", default=None, help="machine price per hour")
    parser.add_argument("--currency", default=None, help="currency label of the prices")
    args = parser.parse_args(argv)
    try:
        prices = resolve_prices(
            args.electricity_price_per_kwh, args.hardware_price_per_hour, args.currency
        )
        batch_sizes = parse_batch_sizes(args.batch_sizes) if args.batch_sizes else []
    except (PriceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    import torch

    from scanner.discovery.demo import MINILM_ID, build_synthetic_model, minilm_path
    from scanner.hardware import detect_hardware, software_versions
    from scanner.tactics import all_tactics

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"--device {args.device}: torch sees no CUDA device", file=sys.stderr)
        return 2
    out = args.out or (
        DEFAULT_OUT if args.device == "cpu" else DEFAULT_OUT.with_name("tactics_gpu.json")
    )
    protocol = {"windows": args.windows, "window_s": args.window_s, "warmup_s": args.warmup_s}
    tactics = args.tactic or [t for t in all_tactics() if t != "baseline"]
    scheme = load_scheme(args.scheme)
    hardware = detect_hardware(args.device)
    choice = "minilm" if args.no_tiny else args.models
    if choice == "default":
        choice = "all" if args.device.startswith("cuda") else "minilm"
    models: list[tuple[str, str, Path]] = []
    if choice in ("minilm", "all"):
        models.append((MINILM_ID, "feature-extraction", minilm_path()))
    with tempfile.TemporaryDirectory(prefix="tactics-bench-") as tmp:
        if choice in ("tiny", "all"):
            for model_id, task in TINY_MODELS.items():
                models.append(
                    (model_id, task, build_synthetic_model(model_id, Path(tmp) / model_id))
                )
        reports = [
            measure_model(
                model_id,
                task,
                path,
                args.device,
                tactics,
                protocol,
                scheme,
                hardware,
                prices=prices,
                batch_sizes=batch_sizes,
            )
            for model_id, task, path in models
        ]
    document = {
        "command": " ".join(["python", "benchmarks/tactics.py", *(argv or sys.argv[1:])]),
        "device": args.device,
        "hardware": dataclasses.asdict(hardware),
        "software": software_versions(),
        "protocol": {k: v for k, v in protocol.items() if v is not None},
        "prices": dataclasses.asdict(prices),
        "note": "figures from a shared machine: other processes may add noise; see energy_cv",
        "models": reports,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    for report in reports:
        print_table(report)
    print(f"\nwrote {out}")
    return 0


def measure_model(
    model_id: str,
    task: str,
    path: Path,
    device: str,
    tactics: list[str],
    protocol: dict[str, Any],
    scheme: Any,
    hardware: Any,
    *,
    prices: Prices | None = None,
    batch_sizes: list[int] | None = None,
) -> dict[str, Any]:
    """Benchmark one model; anything that goes wrong becomes a row with its reason."""
    prices = prices or Prices()
    from scanner.benchmark import BenchmarkJob, benchmark_model

    job = BenchmarkJob(
        model_id=model_id,
        revision="local",
        task=task,
        path=str(path),
        device=device,
        tactics=tactics,
        scan_id=f"bench-tactics-{int(time.time())}",
        scheme_version=scheme.version,
        hardware=dataclasses.asdict(hardware),
        protocol={k: v for k, v in protocol.items() if v is not None},
        batch_sizes=list(batch_sizes or []),
    )
    started = time.perf_counter()
    try:
        result = benchmark_model(
            job, scheme, on_progress=lambda step: print(f"  {model_id}: {step}", flush=True)
        )
    except Exception as exc:  # the benchmark should not raise; if it does, say so and go on
        reason = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return {"model_id": model_id, "task": task, "error": reason, "tactics": []}
    runs = {r.run.tactic: r.run for r in result.results}
    baseline = runs.get("baseline")
    report: dict[str, Any] = {
        "model_id": model_id,
        "task": task,
        "device": device,
        "seconds": round(time.perf_counter() - started, 1),
        "quality_gate": dataclasses.asdict(scheme.quality_gate(task)),
    }
    if baseline is None or baseline.status != "ok":
        report["error"] = baseline.reason if baseline else "no baseline run"
        report["tactics"] = []
        return report
    report["baseline"] = {
        "energy_wh_per_1k": baseline.energy_wh_per_1k,
        "latency_ms_p50": baseline.latency_ms_p50,
        "energy_cv": baseline.energy_cv,
        "size_mb": baseline.size_mb,
        "energy_method": baseline.energy_method,
        "cost_per_million": baseline_cost_per_million(baseline, prices),
    }
    sweep = batching_summary([baseline])
    if sweep is not None:
        report["batching"] = {
            "points": [dataclasses.asdict(p) for p in sweep.points],
            "advice": dataclasses.asdict(sweep.advice) if sweep.advice else None,
            "sentence": sweep.sentence,
        }
    variants = [r for name, r in runs.items() if name != "baseline"]
    entries = recommendations(baseline, variants, result.not_applicable, lambda _energy: None)
    report["tactics"] = [
        _row(entry, runs.get(entry.tactic), variant_money(entry, baseline, prices))
        for entry in entries
    ]
    report["findings"] = findings(report["tactics"], device)
    return report


def _row(entry: Recommendation, run: Any, money: VariantMoney) -> dict[str, Any]:
    if not entry.applies or run is None or run.status != "ok":
        return {
            "tactic": entry.tactic,
            "applies": entry.applies,
            "status": "not applicable" if not entry.applies else "failed",
            "reason": entry.note,
            "qualifies": False,
        }
    quality = json.loads(run.quality_json or "{}")
    return {
        "tactic": entry.tactic,
        "applies": True,
        "status": "ok",
        "energy_wh_per_1k": entry.energy_wh_per_1k,
        "energy_change": entry.energy_change,
        "latency_ms_p50": run.latency_ms_p50,
        "latency_change": entry.latency_change,
        "quality": {"metric": run.quality_metric, "value": run.quality_value, **quality},
        "qualifies": entry.qualifies,
        "saving_measurable": entry.saving_measurable,
        "build_s": entry.build_s,
        "build_energy_wh": entry.build_energy_wh,
        "payback_inferences": entry.payback_inferences,
        "cost_per_million": money.cost_per_million,
        "cost_change": money.cost_change,
        "payback_money": (
            {
                "currency": money.currency,
                "build_cost": money.payback.build_cost,
                "saving_per_million": money.payback.saving_per_million,
                "inferences": money.payback.inferences,
            }
            if money.payback
            else None
        ),
        "size_mb": entry.size_mb,
        "build_disk_bytes": run.build_disk_bytes,  # issue 11: an ONNX variant's model file
        "energy_cv": run.energy_cv,
        "noisy": bool(run.noisy),
        "energy_method": run.energy_method,
        "note": entry.note,
    }


def findings(rows: list[dict[str, Any]], device: str) -> dict[str, Any]:
    """Compare with the research: dynamic int8 strongest on CPU, local pruning without gain."""
    measured = [r for r in rows if r["status"] == "ok" and r["energy_change"] is not None]
    # only a variant that keeps quality and measurably uses less energy than the baseline
    # (every window below every baseline window) counts
    qualifying = sorted(
        (r for r in measured if r["qualifies"] and r["saving_measurable"]),
        key=lambda r: r["energy_change"],
    )
    strongest = qualifying[0]["tactic"] if qualifying else None
    local = [r for r in measured if r["tactic"].startswith("prune-local-")]
    noise = max((r.get("energy_cv") or 0.0 for r in measured), default=0.0)
    local_gain = any(r["saving_measurable"] for r in local)
    result: dict[str, Any] = {
        "strongest_qualifying_tactic": strongest,
        "strongest_energy_change": qualifying[0]["energy_change"] if qualifying else None,
        "local_pruning_energy_changes": {r["tactic"]: r["energy_change"] for r in local},
        "local_pruning_saves_energy": local_gain,
        "largest_energy_cv": noise,
    }
    if device == "cpu":
        result["agrees_dynamic_int8_strongest"] = strongest == "dynamic-int8"
        result["agrees_local_pruning_no_gain"] = not local_gain
    return result


def print_table(report: dict[str, Any]) -> None:
    print(f"\n{report['model_id']} ({report['task']}) on {report.get('device', '?')}")
    if report.get("error"):
        print(f"  error: {report['error']}")
        return
    base = report["baseline"]
    print(
        f"  baseline: {base['energy_wh_per_1k']:.4f} Wh/1k, {base['latency_ms_p50']:.1f} ms p50, "
        f"cv {base['energy_cv'] or 0:.3f}, {base['size_mb']:.1f} MB, {base['energy_method']}"
    )
    header = (
        f"  {'tactic':<26}{'energy':>9}{'latency':>9}  {'quality':<30}{'build s':>8}"
        f"{'payback':>10}{'per 1M':>10}{'size MB':>8}  {'ok':<3} {'real':<4} method"
    )
    print(header)
    print("  " + "-" * (len(header) - 2))
    for row in report["tactics"]:
        if row["status"] != "ok":
            print(f"  {row['tactic']:<26}{row['status']}: {row['reason']}")
            continue
        quality = row["quality"]
        shown = f"{quality['metric']} {quality['value']:.4f}"
        if "similarity_spearman" in quality:
            shown += f" ρ{quality['similarity_spearman']:.3f}"
        payback = row["payback_inferences"]
        print(
            f"  {row['tactic']:<26}{_pct(row['energy_change']):>9}{_pct(row['latency_change']):>9}"
            f"  {shown:<30}{row['build_s'] or 0:>8.2f}"
            f"{'never' if payback is None else payback:>10}"
            f"{_money(row['cost_per_million']):>10}{row['size_mb'] or 0:>8.1f}"
            f"  {'yes' if row['qualifies'] else 'no':<3}"
            f" {'yes' if row['saving_measurable'] else 'no':<4} {row['energy_method']}"
        )
    if report.get("batching"):
        print(f"  batching: {report['batching']['sentence'] or 'no size beat batch 1'}")
    found = report.get("findings", {})
    print(f"  strongest qualifying tactic: {found.get('strongest_qualifying_tactic')}")
    if "agrees_dynamic_int8_strongest" in found:
        print(
            "  research: dynamic int8 strongest on CPU -> "
            f"{'agrees' if found['agrees_dynamic_int8_strongest'] else 'differs'}; "
            "local pruning without gain -> "
            f"{'agrees' if found['agrees_local_pruning_no_gain'] else 'differs'}"
        )


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.1f}%"


if __name__ == "__main__":
    raise SystemExit(main())

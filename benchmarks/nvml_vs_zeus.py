"""Our GPU meters checked on the same windows: `nvml` against Zeus, and against `nvml-power`.

Zeus (PyPI `zeus`, the ML.ENERGY project's library) is a check here, not a dependency of
the product: it is carried to the GPU machine as a wheel (`make gpu-wheels`) and never
imported by `scanner/`. Each window runs a config-built encoder (BERT-base shape, random
weights: energy does not depend on trained weight values) on the GPU, and three meters
watch it at once, nested so that the outer ones cover the inner one:

    nvml-power start → Zeus begin_window → nvml start … work … nvml stop → Zeus end → power stop

The windows of the three differ by a few milliseconds at their ends, so the comparison uses
each meter's average power over its own window (energy / own duration): that is the figure
a window's energy is made of, without the few ms of edge. Energy ratios are kept too.

Targets (issue 14): nvml vs Zeus within 2 % per window, nvml vs nvml-power within 5 %.

    python benchmarks/nvml_vs_zeus.py --device cuda --windows 10 --window-s 5 \
        --out build/bench/nvml_vs_zeus.json

Without Zeus installed, or without CUDA (a dry run under a patched NVML), the Zeus column is
left out with its reason and the rest still runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import traceback
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DEFAULT_OUT = Path("build/bench/nvml_vs_zeus.json")
TARGET_ZEUS = 0.02
TARGET_POWER = 0.05
# BERT-base shape (bert-base-uncased's config): enough work to load an H100 for seconds.
ENCODER_CONFIG = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda[:N]; cpu only for a dry run")
    parser.add_argument("--windows", type=int, default=10, help="measured windows")
    parser.add_argument("--window-s", type=float, default=5.0, help="seconds per window")
    parser.add_argument("--batch", type=int, default=32, help="sequences per call")
    parser.add_argument("--seq-len", type=int, default=128, help="tokens per sequence")
    parser.add_argument("--tiny", action="store_true", help="a 2-layer encoder (dry runs)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes")
    args = parser.parse_args(argv)

    report: dict[str, Any] = {
        "command": " ".join(["python", "benchmarks/nvml_vs_zeus.py", *(argv or sys.argv[1:])]),
        "device": args.device,
        "targets": {"nvml_vs_zeus": TARGET_ZEUS, "nvml_vs_power": TARGET_POWER},
        "windows": [],
        "errors": [],
    }
    try:
        _measure(args, report)
    except Exception as exc:  # still write what we have, with the reason
        report["errors"].append(f"{type(exc).__name__}: {exc}")
        traceback.print_exc()
    report.update(summarise(report["windows"]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    print_summary(report)
    print(f"wrote {args.out}")
    return 1 if report["errors"] else 0


def _measure(args: argparse.Namespace, report: dict[str, Any]) -> None:
    import torch
    from transformers import BertConfig, BertModel

    from scanner.meters.nvml import NvmlMeter
    from scanner.meters.nvml_power import NvmlPowerMeter

    index = int(args.device.split(":")[1]) if ":" in args.device else 0
    counter = NvmlMeter(index)
    power = NvmlPowerMeter(index)
    report["meter"] = counter.describe()
    zeus, report["zeus"] = open_zeus(index, args.device)

    torch.manual_seed(0)
    shape = {"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    config = BertConfig(**(shape if args.tiny else ENCODER_CONFIG))
    model = BertModel(config).eval().to(args.device)
    ids = torch.randint(0, config.vocab_size, (args.batch, args.seq_len), device=args.device)
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    report["workload"] = {"model": "bert (config-built)", "batch": args.batch, "seq": args.seq_len}

    def work_for(seconds: float) -> int:
        calls = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds or calls < 1:
            with torch.inference_mode():
                model(input_ids=ids)
            calls += 1
        sync()
        return calls

    work_for(min(args.window_s, 2.0))  # warm-up: kernels chosen, clocks up
    try:
        for number in range(args.windows):
            name = f"window-{number}"
            power.start()
            if zeus is not None:
                zeus.begin_window(name)
            counter.start()
            calls = work_for(args.window_s)
            counter_reading = counter.stop()
            zeus_reading = zeus.end_window(name) if zeus is not None else None
            power_reading = power.stop()
            row = window_row(counter_reading, power_reading, zeus_reading, index, calls)
            report["windows"].append(row)
            print(
                f"{name}: nvml {row['nvml_w']:.1f} W, nvml-power {row['power_w']:.1f} W"
                + (f", zeus {row['zeus_w']:.1f} W" if "zeus_w" in row else ""),
                flush=True,
            )
    finally:
        counter.close()
        power.close()


def open_zeus(index: int, device: str) -> tuple[Any, dict[str, Any]]:
    """A ZeusMonitor on GPU `index`, or None with the reason it is not available."""
    if not device.startswith("cuda"):
        return None, {"available": False, "reason": "not a CUDA device (dry run)"}
    try:
        import zeus
        from zeus.monitor import ZeusMonitor
    except ImportError as exc:
        return None, {"available": False, "reason": f"zeus is not installed: {exc}"}
    try:
        monitor = ZeusMonitor(gpu_indices=[index], cpu_indices=[])
    except Exception as exc:  # Zeus raises its own init errors
        return None, {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    return monitor, {"available": True, "version": zeus.__version__}


def window_row(counter: Any, power: Any, zeus: Any, index: int, calls: int) -> dict[str, Any]:
    """One window's readings and ratios; power is each meter's energy over its own duration."""
    row: dict[str, Any] = {
        "calls": calls,
        "nvml_j": counter.energy_j,
        "nvml_s": counter.duration_s,
        "nvml_w": _watts(counter.energy_j, counter.duration_s),
        "power_j": power.energy_j,
        "power_s": power.duration_s,
        "power_w": _watts(power.energy_j, power.duration_s),
    }
    row["nvml_over_power"] = _ratio(row["nvml_w"], row["power_w"])
    if zeus is not None:
        row["zeus_j"] = float(zeus.gpu_energy[index])
        row["zeus_s"] = float(zeus.time)
        row["zeus_w"] = _watts(row["zeus_j"], row["zeus_s"])
        row["nvml_over_zeus"] = _ratio(row["nvml_w"], row["zeus_w"])
        row["nvml_over_zeus_energy"] = _ratio(row["nvml_j"], row["zeus_j"])
    return row


def summarise(windows: list[dict[str, Any]]) -> dict[str, Any]:
    """Worst per-window deviation from 1 of each ratio, and whether it meets its target."""
    summary: dict[str, Any] = {}
    for key, target in (("nvml_over_zeus", TARGET_ZEUS), ("nvml_over_power", TARGET_POWER)):
        ratios = [w[key] for w in windows if w.get(key) is not None]
        if not ratios:
            summary[key] = None
            continue
        worst = max(abs(r - 1.0) for r in ratios)
        summary[key] = {
            "median": statistics.median(ratios),
            "min": min(ratios),
            "max": max(ratios),
            "worst_deviation": worst,
            "within_target": worst <= target,
        }
    return summary


def print_summary(report: dict[str, Any]) -> None:
    for key in ("nvml_over_zeus", "nvml_over_power"):
        figure = report.get(key)
        if figure is None:
            print(f"{key}: not measured")
            continue
        verdict = "met" if figure["within_target"] else "MISSED"
        print(
            f"{key}: median {figure['median']:.4f}, range {figure['min']:.4f}-"
            f"{figure['max']:.4f}, worst deviation {figure['worst_deviation']:.2%} ({verdict})"
        )
    zeus = report.get("zeus") or {}
    if not zeus.get("available", False):
        print(f"zeus: not used ({zeus.get('reason', 'unknown')})")
    for error in report["errors"]:
        print(f"error: {error}")


def _watts(energy_j: float, duration_s: float) -> float:
    return energy_j / duration_s if duration_s > 0 else 0.0


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator > 0 else None


if __name__ == "__main__":
    sys.exit(main())

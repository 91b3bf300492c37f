"""The measurement protocol on a real GPU: window CV, counter against integrated power, fp16.

For MiniLM and two tiny models built from configs (nothing is downloaded), on `cuda`:

- 10 measured windows (default 5 s each) of fp32 and of fp16, at the scheme's workload;
  the CV of energy per 1,000 inferences over the windows;
- every window measured by `nvml` (the energy counter) and `nvml-power` (polled power,
  integrated) at the same time, and the ratio of the two per window;
- idle power before the windows, temperature and SM clock per window, a cooldown between
  variants, and the other compute processes on the GPU.

Any failure is printed with its reason and the JSON is still written.

    python benchmarks/gpu_measurement.py --out benchmarks/results/gpu-measurement.json \
        [--window-s 5] [--windows 10] [--device cuda:0]
"""

from __future__ import annotations

import argparse
import copy
import functools
import json
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scanner.meters.base import EnergyMeter, EnergyReading  # noqa: E402

TINY_MODELS = {
    "synthetic/tiny-bert-text-classification": "text-classification",
    "synthetic/tiny-vit-image-classification": "image-classification",
}


class CounterAndPowerMeter(EnergyMeter):
    """Both NVML meters over the same window; the counter's reading is the one returned.

    The poller starts first and stops last, so its samples cover the counter's window.
    """

    method = "nvml"

    def __init__(self, counter: EnergyMeter, power: EnergyMeter) -> None:
        self.counter = counter
        self.power = power
        self.pairs: list[tuple[EnergyReading, EnergyReading]] = []

    def start(self) -> None:
        self.power.start()
        self.counter.start()

    def stop(self) -> EnergyReading:
        counter_reading = self.counter.stop()
        power_reading = self.power.stop()
        self.pairs.append((counter_reading, power_reading))
        return counter_reading

    def close(self) -> None:
        self.counter.close()
        self.power.close()


def measure_variant(
    name: str,
    model: Any,
    adapter: Any,
    batch: Any,
    meter: CounterAndPowerMeter,
    protocol: Any,
    idle_power_w: float,
) -> dict[str, Any]:
    import torch

    from scanner.harness import run_windows

    meter.pairs.clear()
    with torch.inference_mode():
        measurement = run_windows(
            functools.partial(adapter.run, model, batch),
            meter,
            inferences_per_call=batch.inferences,
            protocol=protocol,
            idle_power_w=idle_power_w,
            sync=torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None),
        )
    windows = []
    for w, (counter, power) in zip(measurement.windows, meter.pairs, strict=True):
        windows.append(
            {
                "duration_s": w.duration_s,
                "iterations": w.iterations,
                "energy_j_counter": counter.energy_j,
                "energy_j_integrated": power.energy_j,
                "counter_over_integrated": counter.energy_j / power.energy_j
                if power.energy_j
                else None,
                "power_w_counter": counter.power_w,
                "power_w_integrated": power.power_w,
                "power_samples": power.details.get("samples"),
                "energy_wh_per_1k": w.energy_wh_per_1k,
                "energy_wh_per_1k_net": w.energy_wh_per_1k_net,
                "latency_ms_p50": w.latency_ms_p50,
                "temperature_c": w.temperature_c,
                "sm_clock_mhz": w.sm_clock_mhz,
            }
        )
    ratios = [w["counter_over_integrated"] for w in windows if w["counter_over_integrated"]]
    return {
        "variant": name,
        "windows": windows,
        "energy_wh_per_1k": measurement.energy_wh_per_1k,
        "energy_wh_per_1k_net": measurement.energy_wh_per_1k_net,
        "energy_cv": measurement.energy_cv,
        "noisy": measurement.noisy,
        "latency_ms_p50": measurement.latency_ms_p50,
        "latency_ms_p95": measurement.latency_ms_p95,
        "counter_over_integrated_median": statistics.median(ratios) if ratios else None,
        "counter_over_integrated_min": min(ratios, default=None),
        "counter_over_integrated_max": max(ratios, default=None),
    }


def measure_model(
    model_id: str, task: str, path: Path, args: argparse.Namespace, scheme: Any
) -> dict[str, Any]:
    import torch

    from scanner.harness import Protocol
    from scanner.meters.nvml import NvmlMeter
    from scanner.meters.nvml_power import NvmlPowerMeter
    from scanner.meters.select import cuda_device_index
    from scanner.tactics import TacticContext, get_tactic
    from scanner.tasks import adapter_for

    index = cuda_device_index(args.device) or 0
    adapter = adapter_for(task)
    workload = scheme.workload(task)
    model = adapter.load(path, args.device)
    batch = adapter.reference_batch(path, model, workload).to(args.device)
    protocol = Protocol.for_device(
        args.device,
        window_s=args.window_s,
        windows=args.windows,
        warmup_s=args.warmup_s,
        idle_s=args.idle_s,
        noisy_cv=scheme.noisy_cv,
    )
    meter = CounterAndPowerMeter(NvmlMeter(index), NvmlPowerMeter(index))
    result: dict[str, Any] = {
        "model_id": model_id,
        "task": task,
        "workload": workload,
        "input_shape": batch.input_shape,
        "params": sum(p.numel() for p in model.parameters()),
        "protocol": asdict(protocol),
        "variants": {},
        "errors": [],
    }
    try:
        result["other_gpu_processes"] = [asdict(p) for p in meter.counter.other_processes()]
        result["idle_power_w"] = meter.counter.idle_power_w(protocol.idle_s)
        ctx = TacticContext(
            device=args.device,
            task=task,
            model_type=str(getattr(model.config, "model_type", "unknown")),
            compute_capability=torch.cuda.get_device_capability(torch.device(args.device))
            if args.device.startswith("cuda")
            else None,
        )
        # fp16 is a GPU tactic: a CPU run (the suite's dry run) measures fp32 alone.
        for name in ("fp32", "fp16") if args.device.startswith("cuda") else ("fp32",):
            try:
                if name == "fp32":
                    variant, variant_batch = model, batch
                else:
                    built = get_tactic("fp16").build(copy.deepcopy(model), ctx)
                    variant, variant_batch = built.model, batch.cast(built.input_dtype)
                result["variants"][name] = measure_variant(
                    name, variant, adapter, variant_batch, meter, protocol, result["idle_power_w"]
                )
            except Exception as exc:
                result["errors"].append(f"{name}: {type(exc).__name__}: {exc}")
                traceback.print_exc()
            time.sleep(protocol.cooldown_s)
    finally:
        meter.close()
    fp32, fp16 = result["variants"].get("fp32"), result["variants"].get("fp16")
    if fp32 and fp16:
        result["fp16_over_fp32"] = {
            "energy": fp16["energy_wh_per_1k"] / fp32["energy_wh_per_1k"],
            "latency": fp16["latency_ms_p50"] / fp32["latency_ms_p50"],
        }
    return result


def print_table(report: dict[str, Any]) -> None:
    print(
        f"{'model':44} {'var':5} {'Wh/1k':>10} {'cv':>6} {'p50 ms':>8} "
        f"{'ctr/int':>8} {'°C':>9} {'MHz':>11}"
    )
    for model in report["models"]:
        for name, v in model.get("variants", {}).items():
            temps = [w["temperature_c"] for w in v["windows"] if w["temperature_c"] is not None]
            clocks = [w["sm_clock_mhz"] for w in v["windows"] if w["sm_clock_mhz"] is not None]
            ratio = v["counter_over_integrated_median"]
            print(
                f"{model['model_id']:44} {name:5} {v['energy_wh_per_1k']:10.6f} "
                f"{v['energy_cv']:6.3f} {v['latency_ms_p50']:8.2f} "
                f"{ratio if ratio is None else format(ratio, '.3f'):>8} "
                f"{_range(temps):>9} {_range(clocks):>11}"
            )
        if "fp16_over_fp32" in model:
            ratios = model["fp16_over_fp32"]
            print(
                f"{'':44} fp16/fp32: energy {ratios['energy']:.3f}, latency {ratios['latency']:.3f}"
                f"; idle {model.get('idle_power_w', 0):.1f} W; "
                f"other processes: {len(model.get('other_gpu_processes', []))}"
            )
        for error in model.get("errors", []):
            print(f"  error ({model['model_id']}): {error}")
    for error in report["errors"]:
        print(f"error: {error}")


def _range(values: list[float]) -> str:
    return f"{min(values):.0f}-{max(values):.0f}" if values else "-"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("build/bench/gpu-measurement.json"))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--window-s", type=float, default=5.0)
    parser.add_argument("--windows", type=int, default=10)
    parser.add_argument("--warmup-s", type=float, default=None, help="a dry run: 0")
    parser.add_argument("--idle-s", type=float, default=None, help="a dry run: 0")
    parser.add_argument(
        "--no-minilm", action="store_true", help="config-built models only (MiniLM not carried)"
    )
    args = parser.parse_args(argv)

    report: dict[str, Any] = {
        "command": " ".join(["python", "benchmarks/gpu_measurement.py", *(argv or sys.argv[1:])]),
        "models": [],
        "errors": [],
    }
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="gpu-measurement-") as tmp:
            _run(args, report, Path(tmp))
    except Exception as exc:  # still write what we have, with the reason
        report["errors"].append(f"{type(exc).__name__}: {exc}")
        traceback.print_exc()
    finally:
        report["total_s"] = time.perf_counter() - started
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, default=str))
    print_table(report)
    print(f"wrote {args.out} in {report['total_s']:.0f} s")
    return 1 if report["errors"] or any(m.get("errors") for m in report["models"]) else 0


def _run(args: argparse.Namespace, report: dict[str, Any], tmp: Path) -> None:
    import torch

    from labels.scheme import load_scheme
    from scanner.discovery.demo import build_synthetic_model, minilm_path
    from scanner.hardware import detect_hardware, software_versions

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("torch sees no CUDA device")
    scheme = load_scheme("v1")
    report["hardware"] = asdict(detect_hardware(args.device))
    report["software"] = software_versions()
    report["scheme"] = scheme.version
    models: list[tuple[str, str, Path]] = []
    try:
        if not args.no_minilm:
            models.append(
                ("sentence-transformers/all-MiniLM-L6-v2", "feature-extraction", minilm_path())
            )
    except Exception as exc:
        report["errors"].append(f"MiniLM: {type(exc).__name__}: {exc}")
    for model_id, task in TINY_MODELS.items():
        try:
            models.append((model_id, task, build_synthetic_model(model_id, tmp / model_id)))
        except Exception as exc:
            report["errors"].append(f"{model_id}: build failed: {type(exc).__name__}: {exc}")
    for model_id, task, path in models:
        print(f"{model_id} …", flush=True)
        try:
            report["models"].append(measure_model(model_id, task, path, args, scheme))
        except Exception as exc:
            report["models"].append(
                {"model_id": model_id, "errors": [f"{type(exc).__name__}: {exc}"]}
            )
            traceback.print_exc()
        torch.cuda.empty_cache()


if __name__ == "__main__":
    sys.exit(main())

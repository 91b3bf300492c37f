"""Quality of the embedding tactics under the v2 gate, and of layer dropping before and
after healing by distillation, on the real MiniLM (CPU).

For each tactic: the v2 gate's metrics (top10_overlap over the 128 quality sentences,
similarity_spearman, and v1's cosine_similarity) against the baseline, and whether v2's
gate passes. For the `-distilled` tactics also the build's own figures: quality before and
after healing, steps, CPU seconds, and the metered energy of the whole build (the training
is build cost). Energy per inference is not measured here: a healed variant has the same
layers as its unhealed tactic, so `benchmarks/tactics.py` measures that (slow on CPU).

  .venv/bin/python benchmarks/healing.py --steps 40 --out build/bench/healing.json
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

QUALITY_TACTICS = ("dynamic-int8", "layer-drop-top-33", "layer-drop-top-50", "layer-drop-alternate")
HEALED_TACTICS = ("layer-drop-top-50-distilled", "layer-drop-alternate-distilled")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps", type=int, default=None, help="healing steps (default: the tactic's)"
    )
    parser.add_argument("--cpu-s", type=float, default=None, help="healing CPU-second budget")
    parser.add_argument("--lr", type=float, default=None, help="healing learning rate")
    parser.add_argument("--tactic", action="append", help="only these tactics (repeatable)")
    parser.add_argument(
        "--out", type=Path, default=Path("build/bench/healing.json"), help="JSON path"
    )
    args = parser.parse_args(argv)

    import torch

    from labels.scheme import load_scheme
    from scanner.discovery.demo import minilm_path
    from scanner.meters.select import select_meter
    from scanner.tactics.base import TacticContext
    from scanner.tactics.layer_healing import DistilledLayerPruning
    from scanner.tactics.registry import get_tactic
    from scanner.tasks.registry import adapter_for

    torch.manual_seed(0)
    task, path = "feature-extraction", minilm_path()
    adapter = adapter_for(task)
    gate = load_scheme("v2").quality_gate(task)
    workload = load_scheme("v2").workload(task)
    model = adapter.load(path, "cpu")
    ctx = TacticContext("cpu", task, str(model.config.model_type))
    quality_batch = adapter.quality_batch(path, model, workload)
    chunks = quality_batch.split(int(workload["batch_size"]))

    def outputs(m: torch.nn.Module) -> torch.Tensor:
        with torch.inference_mode():
            return torch.cat([adapter.outputs(m, b).float() for b in chunks])

    baseline = outputs(model)
    meter, _reasons = select_meter("cpu")
    rows = []
    for name in args.tactic or (*QUALITY_TACTICS, *HEALED_TACTICS):
        tactic = get_tactic(name)
        if isinstance(tactic, DistilledLayerPruning) and (
            args.steps is not None or args.cpu_s is not None or args.lr is not None
        ):
            budget = replace(
                tactic.budget,
                max_steps=args.steps if args.steps is not None else tactic.budget.max_steps,
                max_cpu_s=args.cpu_s if args.cpu_s is not None else tactic.budget.max_cpu_s,
                learning_rate=args.lr if args.lr is not None else tactic.budget.learning_rate,
            )
            tactic = DistilledLayerPruning(tactic.pruning, budget)
        candidate = copy.deepcopy(model)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        meter.start()
        with torch.inference_mode():
            built = tactic.build(candidate, ctx)
        reading = meter.stop()
        row = {
            "tactic": tactic.name,
            "build_cpu_s": round(time.process_time() - cpu0, 2),
            "build_wall_s": round(time.perf_counter() - wall0, 2),
            "build_energy_wh": reading.energy_j / 3600.0,
            "energy_method": meter.method,
        }
        quality = adapter.quality(baseline, outputs(built.model))
        values = {quality.metric: quality.value, **quality.extra}
        row["quality"] = values
        row["v2_gate_passes"] = gate.passes(values, quality.value)
        row["v2_gate_shortfalls"] = gate.shortfalls(values, quality.value)
        row["v1_gate_passes"] = quality.value >= 0.99
        if built.build_quality:
            row["healing"] = built.build_quality
            row["budget"] = asdict(tactic.budget)
        row["notes"] = built.notes
        rows.append(row)
        print(json.dumps(row), flush=True)
        del built, candidate
    meter.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"model": str(path), "gate": asdict(gate), "rows": rows}, indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

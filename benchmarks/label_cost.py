"""What a label costs: seconds per model under the fixed protocol and under sequential stopping.

For MiniLM and tiny synthetic models, on this machine's CPU, in this process (the model is
loaded once per run, as a scan's worker does):

- `grade_s`: the grade alone, i.e. the baseline measured beside the task's reference model
  (scheme v2), under `fixed` (always 5 pairs) and `sequential` (labels/stopping.py);
- `with_tactics_s`: the grade plus every default CPU tactic paired with the baseline, once
  per protocol;
- `agreement`: over `--repeats` runs per model of the grade alone (at least 20 runs in
  all), whether the grade sequential stopping decides equals the grade of the fixed
  protocol. Two figures: on the same windows (the fixed run's pairs replayed through the
  rule: the rule's own error) and between independent runs (a sequential run against the
  fixed run just before it: that adds the run-to-run noise a re-measurement has anyway).

Writes build/bench/label_cost.json and prints the figures.

    python benchmarks/label_cost.py [--repeats 8] [--minilm-repeats 4] [--skip-tactics]
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
MODELS = {
    MINILM_ID: "feature-extraction",
    "synthetic/tiny-bert-text-classification": "text-classification",
    "synthetic/tiny-distilbert-token-classification": "token-classification",
}


def model_path(model_id: str, models_dir: Path) -> Path:
    from scanner.discovery.demo import demo_model_path

    return demo_model_path(model_id, models_dir)


def measure(model_id: str, path: Path, sequential: bool, tactics: list[str]) -> dict[str, Any]:
    """One benchmark of the model under v2, graded; seconds from load to the last window."""
    from labeler.grading import grade_runs
    from labels.scheme import load_scheme
    from scanner.benchmark import BenchmarkJob, benchmark_model
    from scanner.hardware import detect_hardware

    scheme = load_scheme("v2")
    started = time.perf_counter()
    job = BenchmarkJob(
        model_id=model_id,
        revision="bench",
        task=MODELS[model_id],
        path=str(path),
        device="cpu",
        tactics=tactics,
        scan_id="label-cost",
        scheme_version="v2",
        hardware=asdict(detect_hardware("cpu")),
        protocol={"sequential": sequential},
    )
    result = benchmark_model(job, scheme)
    seconds = time.perf_counter() - started
    runs = [r.run for r in result.results]
    baseline = next(r for r in runs if r.variant == "baseline")
    if baseline.status != "ok":
        raise SystemExit(f"{model_id}: {baseline.status}: {baseline.reason}")
    label = grade_runs(runs, scheme)
    return {
        "seconds": seconds,
        "grade": label.grade,
        "eei": label.eei,
        "borderline": label.borderline,
        "grade_pairs": len(json.loads(baseline.reference_ratios_json or "[]")),
        "pair_ratios": json.loads(baseline.reference_ratios_json or "[]"),
        "variant_pairs": {r.variant: r.windows for r in runs if r.variant != "baseline"},
    }


def replayed_grade(ratios: list[float]) -> tuple[str, int]:
    """The grade sequential stopping would have given on these (fixed-protocol) pairs."""
    from labels.scheme import load_scheme
    from labels.stopping import grade_decided, pairs_taken
    from scanner.harness import Protocol

    scheme = load_scheme("v2")
    protocol = Protocol.for_device("cpu")
    taken = pairs_taken(
        ratios, functools.partial(grade_decided, scheme), protocol.min_pairs, protocol.windows
    )
    return scheme.grade_for_eei(statistics.median(ratios[:taken])), taken


def main() -> None:
    from scanner.tactics.registry import default_tactic_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=8, help="grade-alone runs, tiny models")
    parser.add_argument("--minilm-repeats", type=int, default=4, help="grade-alone, MiniLM")
    parser.add_argument("--skip-tactics", action="store_true", help="only the grade alone")
    parser.add_argument("--models-dir", type=Path, default=Path("build/models/demo"))
    parser.add_argument("--out", type=Path, default=Path("build/bench/label_cost.json"))
    args = parser.parse_args()

    tactics = default_tactic_names("cpu")
    models: dict[str, Any] = {}
    same = independent = total = 0
    for model_id in MODELS:
        path = model_path(model_id, args.models_dir)
        measure(model_id, path, True, ["baseline"])  # load once: file cache, oneDNN warm
        repeats = args.minilm_repeats if model_id == MINILM_ID else args.repeats
        runs = []
        for i in range(repeats):
            fixed = measure(model_id, path, False, ["baseline"])
            seq = measure(model_id, path, True, ["baseline"])
            replay, replay_pairs = replayed_grade(fixed["pair_ratios"])
            runs.append({"fixed": fixed, "sequential": seq, "replayed_grade": replay})
            same += replay == fixed["grade"]
            independent += seq["grade"] == fixed["grade"]
            total += 1
            print(
                f"{model_id} #{i + 1}: fixed {fixed['grade']} in {fixed['seconds']:.1f} s "
                f"({fixed['grade_pairs']} pairs), sequential {seq['grade']} in "
                f"{seq['seconds']:.1f} s ({seq['grade_pairs']} pairs), replayed {replay} "
                f"({replay_pairs} pairs)",
                flush=True,
            )
        entry: dict[str, Any] = {
            "task": MODELS[model_id],
            "grade_s": {
                "fixed": statistics.median(r["fixed"]["seconds"] for r in runs),
                "sequential": statistics.median(r["sequential"]["seconds"] for r in runs),
            },
            "grade_pairs": {
                "fixed": statistics.median(r["fixed"]["grade_pairs"] for r in runs),
                "sequential": statistics.median(r["sequential"]["grade_pairs"] for r in runs),
            },
            "runs": runs,
        }
        entry["grade_speedup"] = entry["grade_s"]["fixed"] / entry["grade_s"]["sequential"]
        if not args.skip_tactics:
            fixed = measure(model_id, path, False, tactics)
            seq = measure(model_id, path, True, tactics)
            entry["with_tactics_s"] = {"fixed": fixed["seconds"], "sequential": seq["seconds"]}
            entry["with_tactics_speedup"] = fixed["seconds"] / seq["seconds"]
            entry["variant_pairs"] = {
                "fixed": fixed["variant_pairs"],
                "sequential": seq["variant_pairs"],
            }
            entry["with_tactics_grades"] = {"fixed": fixed["grade"], "sequential": seq["grade"]}
            print(
                f"{model_id} with tactics {', '.join(tactics)}: fixed {fixed['seconds']:.0f} s, "
                f"sequential {seq['seconds']:.0f} s; pairs {seq['variant_pairs']}",
                flush=True,
            )
        models[model_id] = entry
        write(args.out, summary(models, same, independent, total, tactics))
    result = summary(models, same, independent, total, tactics)
    write(args.out, result)
    print(
        f"grade alone, median s per model: fixed {result['grade_s_median']['fixed']:.1f}, "
        f"sequential {result['grade_s_median']['sequential']:.1f}; agreement "
        f"{result['agreement']:.3f} (same windows), {result['agreement_independent']:.3f} "
        f"(independent runs) over {total} runs -> {args.out}"
    )


def summary(
    models: dict[str, Any], same: int, independent: int, total: int, tactics: list[str]
) -> dict[str, Any]:
    fixed = [m["grade_s"]["fixed"] for m in models.values()]
    seq = [m["grade_s"]["sequential"] for m in models.values()]
    return {
        "grade_s_median": {"fixed": statistics.median(fixed), "sequential": statistics.median(seq)},
        "agreement": same / total if total else None,
        "agreement_independent": independent / total if total else None,
        "runs": total,
        "tactics": tactics,
        "targets": {
            "grade_s_median": "<= 60 s per model, >= 2x cheaper than fixed",
            "agreement": ">= 0.95",
        },
        "models": models,
    }


def write(out: Path, result: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

"""Is a label measured on a busy machine ever silently wrong? MiniLM under foreign load.

Pairing with the reference model cancels only what both share, and a busy core does not
slow MiniLM and BERT-base alike: on the 2-core machine one `while True: pass` moved
MiniLM's EEI by +110 % (A to C), published without a word. The harness now measures the
foreign load in every window, measures busy pairs again, and leaves a run it cannot clean
*contended*: figures kept, not graded. This measures whether that holds.

The real MiniLM (its card's task, sentence-similarity, scheme v2), `--repeats` fresh
processes in each condition:

- quiet: nothing else started;
- one-busy: one foreign `while True: pass`;
- two-busy: two of them (every core busy on a 2-core machine);
- memory-hog: one process copying a 256 MiB array in a loop (memory bandwidth, little CPU
  time on our cores' share beyond its own one).

Per condition: each repeat's EEI, interval, grade, foreign load, and its outcome: `graded`
(published without a mark), `contended` (figures kept, not graded) or `refused` (not graded
for another reason: a failure, no reference). Figures:

- silently_wrong: labels graded without the contended mark whose EEI is more than 10 % from
  the quiet median EEI, or whose grade differs from the quiet grade (target 0).
- quiet_eei_cv: the EEI's coefficient of variation over the quiet repeats, the first one
  included (target <= 0.03).
- cost (`--cost-repeats N`, on a quiet host): the wall time of one fresh-process baseline
  measurement (benchmarks/stability.py --one MiniLM: load, reference, pairs) with this code,
  and alternately with the code of `--old-ref` (a `git archive` of it under build/bench/),
  and with this code with detection switched off (LABELER_FOREIGN_LOAD=off); the ratio of
  medians new/old (target <= 1.1).

    python benchmarks/contention.py [--repeats 3] [--conditions quiet,one-busy,...]
        [--cost-repeats 3] [--old-ref a21898e] [--out build/bench/contention.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"
TASK = "sentence-similarity"  # MiniLM's own card
CONDITIONS = ("quiet", "one-busy", "two-busy", "memory-hog")
OLD_REF = "a21898e"  # main before issue 23: no foreign-load detection
TARGETS = {"silently_wrong": "0", "quiet_eei_cv": "<= 0.03", "cost_ratio": "<= 1.1"}
BUSY = "while True: pass"
MEMORY_HOG = (
    "import numpy as np\n"
    "a = np.ones(32 * 1024 * 1024); b = np.empty_like(a)\n"  # 2 x 256 MiB of float64
    "while True: np.copyto(b, a)\n"
)


def measure_once(path: Path) -> dict[str, Any]:
    """One fresh-process measurement of MiniLM beside its reference, graded under v2."""
    from labeler.grading import grade_runs
    from labels.scheme import load_scheme
    from scanner.benchmark import BenchmarkJob, benchmark_model
    from scanner.hardware import detect_hardware

    scheme = load_scheme("v2")
    started = time.perf_counter()
    job = BenchmarkJob(
        model_id=MINILM_ID,
        revision="bench",
        task=TASK,
        path=str(path),
        device="cpu",
        tactics=["baseline"],
        scan_id="contention",
        scheme_version="v2",
        hardware=asdict(detect_hardware("cpu")),
    )
    run = benchmark_model(job, scheme).results[0].run
    label = grade_runs([run], scheme)
    # the grade it would have had with --allow-busy-host: what a silent label would say
    allowed = grade_runs([dataclasses.replace(run, busy_host_allowed=True)], scheme)
    if run.status != "ok":
        outcome = "refused"
    elif run.contended:
        outcome = "contended"
    else:
        outcome = "graded" if label.grade else "refused"
    return {
        "outcome": outcome,
        "grade": label.grade,
        "grade_if_allowed": allowed.grade,
        "eei": label.eei,
        "eei_low": label.eei_low,
        "eei_high": label.eei_high,
        "reason": label.reason,
        "foreign_cpu_cores": run.foreign_cpu_cores,
        "foreign_cpu_share": run.foreign_cpu_share,
        "foreign_cpu_share_max": run.foreign_cpu_share_max,
        "busy_remeasured": run.busy_remeasured,
        "cpu_threads": run.cpu_threads,
        "pair_ratios": json.loads(run.reference_ratios_json or "[]"),
        "seconds": time.perf_counter() - started,
    }


def start_load(condition: str) -> list[subprocess.Popen]:
    """The foreign processes of a condition, started now (none when quiet)."""
    scripts = {"quiet": [], "one-busy": [BUSY], "two-busy": [BUSY, BUSY]}
    scripts["memory-hog"] = [MEMORY_HOG]
    return [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL)
        for script in scripts[condition]
    ]


def stop_load(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def child(path: Path, env: dict[str, str] | None = None, pythonpath: Path = ROOT) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", "--path", str(path)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {}), "PYTHONPATH": str(pythonpath)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarise(conditions: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """silently_wrong against the quiet median and grade; quiet_eei_cv."""
    quiet = conditions.get("quiet", [])
    quiet_eeis = [r["eei"] for r in quiet if r["eei"] is not None]
    quiet_grades = [r["grade"] for r in quiet if r["outcome"] == "graded"]
    quiet_median = statistics.median(quiet_eeis) if quiet_eeis else None
    quiet_grade = Counter(quiet_grades).most_common(1)[0][0] if quiet_grades else None
    per_condition: dict[str, Any] = {}
    silently_wrong = 0
    for name, repeats in conditions.items():
        wrong = 0
        for r in repeats:
            if r["outcome"] != "graded" or quiet_median is None:
                continue
            off = abs(r["eei"] - quiet_median) / quiet_median > 0.10
            if off or (quiet_grade is not None and r["grade"] != quiet_grade):
                wrong += 1
        silently_wrong += wrong
        per_condition[name] = {
            "eeis": [r["eei"] for r in repeats],
            "grades": [r["grade"] for r in repeats],
            "grades_if_allowed": [r["grade_if_allowed"] for r in repeats],
            "foreign_cpu_cores": [r["foreign_cpu_cores"] for r in repeats],
            "outcomes": dict(Counter(r["outcome"] for r in repeats)),
            "silently_wrong": wrong,
            "repeats": repeats,
        }
    return {
        "silently_wrong": silently_wrong if quiet_median is not None else None,
        "quiet_median_eei": quiet_median,
        "quiet_grade": quiet_grade,
        "quiet_eei_cv": _cv(quiet_eeis),
        "conditions": per_condition,
    }


def old_code(ref: str, into: Path) -> Path:
    """The code of `ref`, unpacked once (`git archive`: no worktree, no branch touched)."""
    target = into / f"contention-old-{ref}"
    if not (target / "scanner").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def cost(path: Path, repeats: int, old_ref: str, build: Path) -> dict[str, Any]:
    """Seconds of one fresh-process MiniLM measurement: new, old, new with detection off,
    alternately (so a drift of the host falls on all three alike)."""
    old = old_code(old_ref, build)
    stability = "benchmarks/stability.py"
    times: dict[str, list[float]] = {"new": [], "old": [], "detection_off": []}
    setups = {
        "new": (ROOT, {}),
        "old": (old, {}),
        "detection_off": (ROOT, {"LABELER_FOREIGN_LOAD": "off"}),
    }
    for _ in range(repeats):
        for name, (tree, env) in setups.items():
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, str(tree / stability), "--one", MINILM_ID, "--path", str(path)],
                check=True,
                capture_output=True,
                env={**os.environ, **env, "PYTHONPATH": str(tree)},
            )
            times[name].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {
        "cost_seconds": times,
        "cost_ratio": medians["new"] / medians["old"],
        "cost_ratio_detection_off": medians["new"] / medians["detection_off"],
        "old_ref": old_ref,
    }


def _cv(values: list[float]) -> float | None:
    if len(values) < 2:
        return None
    return statistics.stdev(values) / statistics.mean(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per condition")
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--cost-repeats", type=int, default=3, help="0: skip the cost mode")
    parser.add_argument("--old-ref", default=OLD_REF, help="code before the detection")
    parser.add_argument("--out", type=Path, default=Path("build/bench/contention.json"))
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one:
        print(json.dumps(measure_once(args.path)))
        return

    from scanner.discovery.demo import minilm_path

    path = minilm_path()
    chosen = [c.strip() for c in args.conditions.split(",") if c.strip()]
    unknown = [c for c in chosen if c not in CONDITIONS]
    if unknown:
        raise SystemExit(f"error: unknown condition {unknown[0]!r} ({', '.join(CONDITIONS)})")
    results: dict[str, list[dict[str, Any]]] = {}
    for condition in chosen:
        load = start_load(condition)
        try:
            time.sleep(1.0 if load else 0.0)  # let the load reach its pace
            results[condition] = []
            for i in range(args.repeats):
                r = child(path)
                results[condition].append(r)
                print(
                    f"{condition} #{i + 1}: {r['outcome']} EEI {r['eei']} grade {r['grade']} "
                    f"(if allowed {r['grade_if_allowed']}), foreign {r['foreign_cpu_cores']} "
                    f"cores, {r['busy_remeasured']} remeasured, {r['seconds']:.0f} s",
                    flush=True,
                )
        finally:
            stop_load(load)
    result: dict[str, Any] = {
        **summarise(results),
        "repeats": args.repeats,
        "cpu_count": os.cpu_count(),
        "targets": TARGETS,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.cost_repeats > 0:
        result.update(cost(path, args.cost_repeats, args.old_ref, args.out.parent))
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"silently_wrong {result['silently_wrong']} (target 0), quiet_eei_cv "
        f"{result['quiet_eei_cv']} (target <= 0.03), cost_ratio {result.get('cost_ratio')} "
        f"(target <= 1.1) -> {args.out}"
    )


if __name__ == "__main__":
    main()

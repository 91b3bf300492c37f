"""Replay "label the Hub" through the Ray executor's scheduling, with fake durations.

docs/scaling.md estimates how long labelling the top 1,000 models of every task takes on a
Ray cluster of 8 and 64 GPUs. This checks the arithmetic against the executor's own
scheduling loop (`scanner.executors.ray.RayExecutor.run_all`: about one task per free slot
in flight, a new task as soon as one finishes): a local Ray cluster on this machine declares
N logical GPUs, and each job's task sleeps for its model's measured label time, compressed
by `--time-scale`, instead of benchmarking. The simulated wall time (scaled back) is
compared with the ideal: total work / GPUs, and the longest single job.

Not measured here: model downloads and loading on the nodes, and the Ray worker start per
task (the executor uses `max_calls=1`, one fresh worker per model; the simulation reuses
workers, so it times the scheduling, not process start-up).

    python benchmarks/ray_scaling_sim.py [--gpus 8 64] [--models-per-task 1000]
        [--time-scale 200] [--cost build/bench/label_cost.json]

The default replays 100 models per task (a tenth of the top 1,000: the makespan grows
linearly with the number of jobs once every slot is busy) with 1 simulated second per 5 ms,
so Ray's per-task overhead (a few ms here) stays small beside a job.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Seconds per model on one GPU, by task: an ESTIMATE (no GPU figures exist yet; see
# docs/scaling.md). CPU figures come from build/bench/label_cost.json when present.
GPU_SECONDS_ESTIMATE = 60.0


def job_durations(tasks: int, models_per_task: int, seconds: list[float], seed: int) -> list[float]:
    """One duration per job, drawn from the measured per-model costs (with replacement)."""
    rng = random.Random(seed)
    return [rng.choice(seconds) for _ in range(tasks * models_per_task)]


def simulate(gpus: int, durations: list[float], time_scale: float) -> dict[str, Any]:
    """Run `durations` (seconds, scaled down) through RayExecutor.run_all on `gpus` fake GPUs."""
    import ray

    from scanner.benchmark import BenchmarkJob, ModelBenchmark
    from scanner.executors.ray import RayExecutor

    ray.init(num_cpus=gpus, num_gpus=gpus, include_dashboard=False, log_to_driver=False)
    try:

        @ray.remote
        def sleep_task(seconds: float) -> float:
            time.sleep(seconds)
            return seconds

        executor = RayExecutor()
        durations_by_id = {}

        def submit(job: BenchmarkJob) -> Any:  # the executor's slot logic, a fake body
            return sleep_task.options(num_gpus=1, num_cpus=1).remote(
                durations_by_id[job.model_id] / time_scale
            )

        # start the workers first (one per slot): their start-up is not scheduling
        ray.get([sleep_task.options(num_gpus=1, num_cpus=1).remote(0.5) for _ in range(gpus)])
        executor._submit = submit  # type: ignore[method-assign]
        executor._result = lambda job, ref: ModelBenchmark([])  # type: ignore[method-assign]
        jobs = []
        for i, seconds in enumerate(durations):
            model_id = f"sim/model-{i}"
            durations_by_id[model_id] = seconds
            jobs.append(
                BenchmarkJob(
                    model_id=model_id,
                    revision="r",
                    task="feature-extraction",
                    path="",
                    device="cuda",
                    tactics=["baseline"],
                    scan_id="sim",
                    scheme_version="v2",
                    hardware={"profile": "sim", "fingerprint": "sim"},
                )
            )
        started = time.perf_counter()
        done = sum(1 for _ in executor.run_all(jobs))
        wall_s = (time.perf_counter() - started) * time_scale
    finally:
        ray.shutdown()
    ideal_s = max(sum(durations) / gpus, max(durations))
    return {
        "gpus": gpus,
        "jobs": done,
        "simulated_wall_h": wall_s / 3600,
        "ideal_wall_h": ideal_s / 3600,
        "efficiency": ideal_s / wall_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", type=int, nargs="+", default=[8, 64], help="cluster sizes")
    parser.add_argument("--tasks", type=int, default=None, help="default: supported tasks")
    parser.add_argument("--models-per-task", type=int, default=100, help="jobs per task")
    parser.add_argument("--time-scale", type=float, default=200.0, help="simulated s per s")
    parser.add_argument("--cost", type=Path, default=Path("build/bench/label_cost.json"))
    parser.add_argument("--seed", type=int, default=17, help="job durations' random draw")
    parser.add_argument("--out", type=Path, default=Path("build/bench/ray_scaling.json"))
    args = parser.parse_args()

    from scanner.tasks.registry import TASKS

    tasks = args.tasks or len(TASKS.names())
    seconds = [GPU_SECONDS_ESTIMATE]
    source = f"estimate: {GPU_SECONDS_ESTIMATE:.0f} s per model on one GPU"
    if args.cost.is_file():
        cost = json.loads(args.cost.read_text(encoding="utf-8"))
        seconds = [
            m["with_tactics_s"]["sequential"]
            for m in cost["models"].values()
            if "with_tactics_s" in m
        ] or seconds
        source = f"{args.cost}: per-model CPU seconds, grade with tactics, sequential"
    durations = job_durations(tasks, args.models_per_task, seconds, args.seed)
    results = []
    for gpus in args.gpus:
        result = simulate(gpus, durations, args.time_scale)
        results.append(result)
        print(
            f"{gpus} GPUs, {result['jobs']} jobs: simulated {result['simulated_wall_h']:.1f} h, "
            f"ideal {result['ideal_wall_h']:.1f} h (scheduling efficiency "
            f"{result['efficiency']:.2f})",
            flush=True,
        )
    out = {
        "tasks": tasks,
        "models_per_task": args.models_per_task,
        "job_seconds_source": source,
        "job_seconds_median": statistics.median(durations),
        "time_scale": args.time_scale,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

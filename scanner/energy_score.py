"""The AI Energy Score protocol, so that a number of ours can be set beside one of theirs.

The AI Energy Score (Hugging Face's leaderboard) measures each model on 1,000 queries at
batch size 1, in fp32 for the non-generative tasks and with a fixed number of new tokens
for generation, counts the GPU's energy only, and reports Wh per 1,000 queries. Our scheme
protocol differs on purpose (a batch per task, windows paired with a reference, every
variant), so its numbers do not compare with theirs. `labeler scan --protocol energy-score`
measures a model the way they do, as far as our inputs allow:

- batch size 1, so one inference is one query;
- one window of exactly `QUERIES` calls (their 1,000 queries), after a short warm-up; more
  windows (`--windows`) repeat the 1,000 queries, and the median is reported;
- fp32 weights for every task but generation; generation keeps the model's own dtype and
  produces `NEW_TOKENS` new tokens per query;
- GPU energy only: the `nvml` meter reads the GPU board's counter; on a CPU the figure is
  the CPU meter's (RAPL, or an estimate, marked as such), which they do not publish;
- baseline only: no tactics, no pairing, no grade.

What we cannot copy: their inputs are task data sets (we use our reference inputs, the same
for every model of a task), and they use CodeCarbon on the GPU (we read NVML's counter).
Such runs carry `protocol = 'energy-score'` in the catalog; grading never reads them.
"""

from __future__ import annotations

from typing import Any

from scanner.device import Device

SCHEME = "scheme"
ENERGY_SCORE = "energy-score"
PROTOCOLS = {
    SCHEME: "the label scheme's workload, windows and tactics (graded)",
    ENERGY_SCORE: "AI Energy Score: batch 1, 1,000 queries, fp32, 10 new tokens, not graded",
}
QUERIES = 1000
NEW_TOKENS = 10
WARMUP_QUERIES = 10
GENERATIVE_TASKS = frozenset({"text-generation"})


def energy_score_workload(workload: dict[str, Any]) -> dict[str, Any]:
    """The task's reference workload at batch size 1, with 10 new tokens for generation."""
    changed = {**workload, "batch_size": 1}
    if "new_tokens" in workload:
        changed["new_tokens"] = NEW_TOKENS
    return changed


def energy_score_protocol(overrides: dict[str, Any]) -> dict[str, Any]:
    """Harness settings: windows of exactly `QUERIES` calls, however long they take.

    Of the user's overrides only `windows` (how many times the 1,000 queries run), `idle_s`
    and `window_iterations` (fewer queries per window, for a quick check; the figure is
    still per 1,000) apply; the window length is the query count, not a duration.
    """
    return {
        "windows": int(overrides.get("windows") or 1),
        "window_s": 0.0,
        "window_iterations": int(overrides.get("window_iterations") or QUERIES),
        "warmup_s": 0.0,
        "warmup_iterations": WARMUP_QUERIES,
        "warmup_rounds": 1,  # their warm-up: the queries once, no agreement rounds
        **({"idle_s": overrides["idle_s"]} if overrides.get("idle_s") is not None else {}),
    }


def wants_fp32(task: str) -> bool:
    """Non-generative tasks run in fp32, as the AI Energy Score does."""
    return task not in GENERATIVE_TASKS


def describe_energy_score(task: str, device: str, energy_method: str) -> dict[str, Any]:
    """What was done, for the run's provenance."""
    return {
        "protocol": ENERGY_SCORE,
        "queries_per_window": QUERIES,
        "batch_size": 1,
        "dtype": "float32" if wants_fp32(task) else "model default",
        "new_tokens": NEW_TOKENS if not wants_fp32(task) else None,
        "energy_scope": "GPU only" if Device.parse(device).is_cuda else f"CPU ({energy_method})",
        "inputs": "the scheme's reference inputs for the task (not the AI Energy Score data sets)",
    }

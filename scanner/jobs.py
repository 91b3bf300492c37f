"""JSON round trip of benchmark jobs and results across a process (or Ray) boundary."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from labels.records import RunRecord, RunResult, WindowRecord
from scanner.benchmark import BenchmarkJob, ModelBenchmark


def job_to_json(job: BenchmarkJob) -> str:
    return json.dumps(dataclasses.asdict(job))


def job_from_json(text: str) -> BenchmarkJob:
    return BenchmarkJob(**json.loads(text))


def benchmark_to_json(result: ModelBenchmark) -> str:
    return json.dumps(
        {
            "params": result.params,
            "not_applicable": result.not_applicable,
            "results": [
                {"run": _plain(r.run), "windows": [_plain(w) for w in r.windows]}
                for r in result.results
            ],
        }
    )


def benchmark_from_json(text: str) -> ModelBenchmark:
    data = json.loads(text)
    results = []
    for item in data["results"]:
        run = dict(item["run"])
        for key in ("started_at", "finished_at"):
            if run.get(key):
                run[key] = datetime.fromisoformat(run[key])
        results.append(RunResult(RunRecord(**run), [WindowRecord(**w) for w in item["windows"]]))
    return ModelBenchmark(results, data.get("params"), data.get("not_applicable") or {})


def _plain(record: Any) -> dict[str, Any]:
    values = dataclasses.asdict(record)
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}

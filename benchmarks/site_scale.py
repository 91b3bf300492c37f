"""Measure how long the site takes to build for a large synthetic catalog.

Fills a DuckDB catalog with N synthetic models (default 10,000: three variants each, one
label each) using set-based INSERT ... SELECT from range(), builds the site in full, builds
it again with nothing changed, changes one model and builds incrementally; then the same for
a larger catalog (default 100,000). Wall and user+system CPU seconds (workers included),
index bytes, bytes per model (every path counted; `disk_bytes_per_model` counts hard-linked
files once) and the label rows the incremental build read go to build/bench/site.json (the
larger run under "large").
Run: `.venv/bin/python benchmarks/site_scale.py [--models N] [--large M]`.

`--old PATH` compares this code with another checkout of the project (a git worktree of an
older commit): each build runs in a fresh process importing one tree or the other, old and
new alternately (`--repeats` rounds, the order swapped every round), on one machine in one
run, and the medians and new/old ratios go to the output under "compare". `--code PATH`
is how those processes pick their tree: it measures the labeler and labels packages of PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _code_root(argv: list[str]) -> str:
    """The tree whose code a run measures: `--code PATH`, else this one."""
    if "--code" in argv[:-1]:
        return str(Path(argv[argv.index("--code") + 1]).resolve())
    return str(REPO)


if __package__ in (None, ""):
    sys.path.insert(0, _code_root(sys.argv))

from labeler.site import SiteSummary, build_site  # noqa: E402
from labels import Catalog, HardwareRecord  # noqa: E402

TASKS = [
    "feature-extraction",
    "image-classification",
    "text-classification",
    "text-generation",
    "token-classification",
]
RECOMMENDATIONS_JSON = json.dumps(
    [
        {
            "tactic": "int8 dynamic quantization",
            "variant": "int8-dynamic",
            "energy_wh_per_1k": None,
            "energy_change": -0.41,
            "latency_change": -0.2,
            "quality_metric": "top1_agreement",
            "quality_value": 0.996,
            "qualifies": True,
            "grade": None,
            "size_mb": 25.0,
            "build_s": 3.0,
            "build_energy_wh": 0.05,
            "payback_inferences": 1000,
            "note": "",
        }
    ]
)


def fill_synthetic_catalog(path: Path, models: int) -> Catalog:
    """A catalog with `models` synthetic models on one CPU profile, graded, in a few queries."""
    catalog = Catalog(path)
    catalog.record_hardware(
        HardwareRecord(
            fingerprint="bench-cpu",
            profile="cpu-x86-64",
            kind="cpu",
            device_name="cpu",
            cpu_model="synthetic CPU",
            cpu_cores=8,
            memory_gb=32.0,
        )
    )
    tasks_sql = "[" + ", ".join(f"'{t}'" for t in TASKS) + "]"
    # A fixed pseudo-random energy per model, 0.05 to 6.4 Wh/1k: reproducible, spread over A-G.
    energy_sql = "0.05 * pow(2, ((i * 7919) % 700) / 100.0)"
    with catalog.transaction() as con:
        con.execute(
            f"""
            CREATE TEMP TABLE synth AS
            SELECT i,
                   'synthetic-org-' || (i % 97) || '/model-' || lpad(i::VARCHAR, 5, '0')
                       AS model_id,
                   {tasks_sql}[(i % {len(TASKS)}) + 1] AS task,
                   {energy_sql} AS energy
            FROM range(?) t(i)
            """,
            [models],
        )
        con.execute(
            """
            INSERT INTO models (model_id, revision, task, source, synthetic, downloads,
                                tags_json, first_seen_at, last_seen_at)
            SELECT model_id, 'rev1', task, 'demo', true, 1000 + i, '["synthetic"]',
                   now()::TIMESTAMP, now()::TIMESTAMP
            FROM synth
            """
        )
        con.execute(
            """
            INSERT INTO runs (run_id, scan_id, model_id, revision, task, hardware_profile,
                              hardware_fingerprint, variant, tactic, status, energy_method,
                              dtype, batch_size, input_shape, harness_version, scheme_version,
                              torch_version, finished_at, windows, energy_wh_per_1k, energy_cv,
                              latency_ms_p50, latency_ms_p95, peak_mem_mb, quality_metric,
                              quality_value, qualifies, size_mb, build_s)
            SELECT s.model_id || '|' || v.variant, 'bench', s.model_id, 'rev1', s.task,
                   'cpu-x86-64', 'bench-cpu', v.variant, v.tactic, 'ok', 'rapl', 'float32', 8,
                   '8x128', '0.1.0', 'v1', '2.13.0', TIMESTAMP '2026-11-24 10:00:00', 3,
                   s.energy * v.factor, 0.03, 10.0 * v.factor, 12.0 * v.factor, 400.0,
                   'top1_agreement', v.quality, v.quality >= 0.98, 90.0 * v.factor, v.build_s
            FROM synth s
            CROSS JOIN (VALUES ('baseline', 'baseline', 1.0, 1.0, NULL),
                               ('int8-dynamic', 'int8 dynamic quantization', 0.59, 0.996, 3.0),
                               ('prune-global-25', 'global magnitude pruning', 1.01, 0.97, 1.0)
                       ) v(variant, tactic, factor, quality, build_s)
            """
        )
        grade_sql = """CASE WHEN e < 0.125 THEN 'A' WHEN e < 0.25 THEN 'B' WHEN e < 0.5 THEN 'C'
                            WHEN e < 1 THEN 'D' WHEN e < 2 THEN 'E' WHEN e < 4 THEN 'F'
                            ELSE 'G' END"""
        con.execute(
            f"""
            INSERT INTO labels (model_id, revision, task, hardware, scheme_version, grade, eei,
                                energy_wh_per_1k, energy_method, best_variant, best_grade,
                                best_energy_wh_per_1k, quality_retained, quality_metric, noisy,
                                recommendations_json, measured_at, graded_at)
            SELECT model_id, 'rev1', task, 'cpu-x86-64', 'v1',
                   {grade_sql.replace("e <", "energy <")}, energy, energy, 'rapl',
                   'int8-dynamic', {grade_sql.replace("e <", "energy * 0.59 <")},
                   energy * 0.59, 0.996, 'top1_agreement', (i % 50) = 0, ?,
                   TIMESTAMP '2026-11-24 10:00:00', TIMESTAMP '2026-11-24 11:00:00'
            FROM synth
            """,
            [RECOMMENDATIONS_JSON],
        )
    return catalog


def _cpu_s() -> float:
    """User + system CPU seconds of this process and its finished children (the workers)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(build: Callable[[], SiteSummary]) -> tuple[SiteSummary, float, float]:
    cpu, wall = _cpu_s(), time.perf_counter()
    summary = build()
    return summary, time.perf_counter() - wall, _cpu_s() - cpu


def change_one_model(catalog: Catalog, model_id: str) -> None:
    """What a nightly rescan of one model does to the catalog: new energy, new label."""
    with catalog.transaction() as con:
        con.execute(
            "UPDATE runs SET energy_wh_per_1k = energy_wh_per_1k * 1.5 WHERE model_id = ?",
            [model_id],
        )
        con.execute(
            "UPDATE labels SET energy_wh_per_1k = energy_wh_per_1k * 1.5, "
            "graded_at = graded_at + INTERVAL 1 DAY WHERE model_id = ?",
            [model_id],
        )


def measure(models: int, tmp: Path) -> dict[str, float | int]:
    """Fill a catalog of `models`, build the site in full, change one model and build again."""
    fill_started = time.perf_counter()
    catalog = fill_synthetic_catalog(tmp / "catalog.duckdb", models)
    fill_s = time.perf_counter() - fill_started
    out = tmp / "site"
    full, full_s, full_cpu = _timed(lambda: build_site(catalog, out, full=True))
    files = [p for p in out.rglob("*") if p.is_file()]
    site_bytes = sum(p.stat().st_size for p in files)
    # A model's own badge files are hard links: on disk (and in a tar) they are stored once.
    disk_bytes = sum({(s.st_dev, s.st_ino): s.st_size for s in map(Path.stat, files)}.values())
    _, noop_s, noop_cpu = _timed(lambda: build_site(catalog, out))
    change_one_model(catalog, "synthetic-org-1/model-00001")
    inc, inc_s, inc_cpu = _timed(lambda: build_site(catalog, out))
    assert inc.rendered_models == 1, inc
    return {
        "models": full.models,
        "pages": full.pages,
        "build_s": round(full_s, 2),
        "build_cpu_s": round(full_cpu, 2),
        "incremental_s": round(inc_s, 2),
        "incremental_cpu_s": round(inc_cpu, 2),
        "incremental_labels_read": inc.labels_read,
        "unchanged_rebuild_s": round(noop_s, 2),
        "unchanged_rebuild_cpu_s": round(noop_cpu, 2),
        "index_bytes": full.index_bytes,
        "files": len(files),
        "site_bytes": site_bytes,
        "bytes_per_model": round(site_bytes / max(1, full.models)),
        "disk_bytes_per_model": round(disk_bytes / max(1, full.models)),
        "catalog_fill_s": round(fill_s, 2),
    }


_COMPARED = (
    "build_s",
    "build_cpu_s",
    "incremental_s",
    "incremental_cpu_s",
    "unchanged_rebuild_s",
    "index_bytes",
    "bytes_per_model",
)


def _measure_in_child(code: Path, models: int, tmp: Path) -> dict[str, Any]:
    """`measure` in a fresh process that imports the labeler and labels of `code`."""
    out = tmp / "child.json"
    subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--code",
            str(code),
            "--models",
            str(models),
            "--large",
            "0",
            "--out",
            str(out),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(code)},
    )
    return json.loads(out.read_text())


def compare(old: Path, models: int, repeats: int) -> dict[str, Any]:
    """Old and new code alternately, each build in its own process: medians and ratios."""
    runs: dict[str, list[dict[str, Any]]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory(prefix="site-scale-compare-") as tmp:
        for round_ in range(repeats):
            order = [("old", old), ("new", REPO)]
            for name, code in order if round_ % 2 == 0 else order[::-1]:
                figures = _measure_in_child(code, models, Path(tmp))
                runs[name].append(figures)
                print(f"round {round_ + 1} {name}: " + json.dumps(figures), flush=True)
    medians = {
        name: {key: statistics.median(r[key] for r in rounds) for key in _COMPARED}
        for name, rounds in runs.items()
    }
    ratios = {
        key: round(medians["new"][key] / medians["old"][key], 3)
        for key in _COMPARED
        if medians["old"][key]
    }
    return {
        "old_code": str(old),
        "models": models,
        "repeats": repeats,
        "median": medians,
        "new_over_old": ratios,
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000, help="second, larger run; 0 skips it")
    parser.add_argument("--out", type=Path, default=Path("build/bench/site.json"))
    parser.add_argument(
        "--old", type=Path, help="another checkout to compare with, old and new alternately"
    )
    parser.add_argument("--repeats", type=int, default=3, help="rounds of old and new (--old)")
    parser.add_argument("--code", type=Path, help="measure the code of this checkout")
    args = parser.parse_args(argv)
    figures: dict[str, Any] = {"cpus": len(os.sched_getaffinity(0))}
    if args.old is not None:
        figures["compare"] = compare(args.old.resolve(), args.models, args.repeats)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2) + "\n")
        print(json.dumps({k: figures["compare"][k] for k in ("median", "new_over_old")}, indent=2))
        return figures
    with tempfile.TemporaryDirectory(prefix="site-scale-") as tmp:
        figures.update(measure(args.models, Path(tmp)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")  # kept if the large run stops
    print(json.dumps(figures), flush=True)
    if args.large:
        with tempfile.TemporaryDirectory(prefix="site-scale-large-") as tmp:
            figures["large"] = measure(args.large, Path(tmp))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    for name, value in figures.items():
        print(f"{name:>24}: {value}")
    return figures


if __name__ == "__main__":
    main()

"""Can scripts read the catalog at any moment, and does a killed scan lose or repeat anything?

Two scans of the demo models (`--source demo`, real child process per model):

1. A reference scan, run in this process through the library exactly as `labeler scan` runs
   it, while a separate process opens the published catalog with plain `duckdb`, exactly as
   the README shows, every 0.2 s. Each publication's commit time is recorded, so
   `staleness_s` is the longest time from a run's commit to the reader first seeing it
   (it includes up to one 0.2 s polling interval).
2. The same scan by the `labeler` CLI into a second catalog, killed with SIGKILL (driver and
   benchmark child) five times, once after each of the first five models is published plus
   a varying delay (so the kills land mid-benchmark, between models, and near commits), and
   resumed each time until it finishes. Its (model, variant) runs are compared with the
   reference scan's: `runs_lost` and `runs_duplicated` must both be 0. The reader polls
   this catalog too.

The demo's default protocol takes many minutes on 2 vCPUs, so this uses shorter windows and
two tactics (options below; the defaults are printed into the JSON).

    .venv/bin/python benchmarks/reliability.py

Writes build/bench/reliability.json: reads, reads_failed, staleness_s, kills, runs_lost,
runs_duplicated (and details).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402

from labels.catalog import Catalog, Publication  # noqa: E402
from tests.process_tree import descendants  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
OUT = Path("build") / "bench" / "reliability.json"
KILL_DELAYS_S = (0.0, 0.7, 1.5, 3.0, 5.0)

# The README's read, every `interval` seconds; it also notes when each run first appears.
README_READER = """
import json, sys, time, pathlib, duckdb
path, stop, out, interval = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
reads = failed = 0
failures, first_seen = [], {}
while not stop.exists():
    started = time.time()
    try:
        con = duckdb.connect(path, read_only=True)
        try:
            con.sql(
                "SELECT model_id, task, hardware, grade, best_grade, energy_wh_per_1k "
                "FROM latest_labels"
            ).fetchall()
            for (run_id,) in con.execute("SELECT run_id FROM runs").fetchall():
                first_seen.setdefault(run_id, started)
        finally:
            con.close()
        reads += 1
    except Exception as exc:
        if "does not exist" in str(exc) and not pathlib.Path(path).exists():
            pass  # before the first scan creates the catalog: not a read
        else:
            failed += 1
            failures.append(repr(exc))
    time.sleep(max(0.0, interval - (time.time() - started)))
json.dump({"reads": reads, "failed": failed, "failures": failures[:5],
           "first_seen": first_seen}, open(out, "w"))
"""


class Reader:
    """The README's reader in its own process, polling `catalog` until stopped."""

    def __init__(self, catalog: Path, workdir: Path, interval_s: float) -> None:
        self.stop_file = workdir / f"stop-{catalog.parent.name}"
        self.out = workdir / f"reader-{catalog.parent.name}.json"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                README_READER,
                str(catalog),
                str(self.stop_file),
                str(self.out),
                str(interval_s),
            ]
        )

    def finish(self) -> dict:
        self.stop_file.touch()
        self.process.wait(timeout=120)
        return json.loads(self.out.read_text())


def scan_args(args: argparse.Namespace) -> list[str]:
    tactics = [part for name in args.tactics for part in ("--tactic", name)]
    return [
        "--source", "demo", *tactics, "--windows", str(args.windows),
        "--window-s", str(args.window_s), "--warmup-s", str(args.warmup_s),
        "--idle-s", str(args.idle_s), "--executor", "subprocess",
    ]  # fmt: skip


def reference_scan(args: argparse.Namespace, catalog: Path) -> tuple[list[dict], float]:
    """The scan through the library, as the CLI runs it, recording each publication."""
    from scanner.discovery.demo import discover_demo_models
    from scanner.scan import ScanOptions, scan

    publications: list[dict] = []
    known: set[str] = set()

    def on_publish(publication: Publication) -> None:
        con = duckdb.connect(str(catalog), read_only=True)
        try:
            run_ids = {row[0] for row in con.execute("SELECT run_id FROM runs").fetchall()}
        finally:
            con.close()
        publications.append(
            {
                "committed_at_s": publication.committed_at_s,
                "publish_s": publication.published_at_s - publication.committed_at_s,
                "size_bytes": publication.size_bytes,
                "new_runs": sorted(run_ids - known),
            }
        )
        known.update(run_ids)

    refs = discover_demo_models(Path("build/models/demo"))
    options = ScanOptions(
        device="cpu",
        tactics=list(args.tactics),
        protocol={
            "windows": args.windows,
            "window_s": args.window_s,
            "warmup_s": args.warmup_s,
            "idle_s": args.idle_s,
        },
        executor="subprocess",
    )
    started = time.monotonic()
    summary = scan(refs, Catalog(catalog, on_publish=on_publish), options)
    elapsed = time.monotonic() - started
    if summary.benchmarked != len(refs):
        sys.exit(f"reference scan measured {summary.benchmarked} of {len(refs)} models")
    return publications, elapsed


def published_models(catalog: Path) -> int:
    try:
        con = duckdb.connect(str(catalog), read_only=True)
    except duckdb.Error:
        return 0  # not created yet
    try:
        return con.execute("SELECT count(DISTINCT model_id) FROM runs").fetchone()[0]
    except duckdb.CatalogException:
        return 0
    finally:
        con.close()


def killed_scans(args: argparse.Namespace, catalog: Path) -> tuple[list[dict], float]:
    """The CLI scan, SIGKILLed after models 1..5 are published (plus a delay), then resumed."""
    command = [
        sys.executable, "-c", "from labeler.cli import main; main()", "scan",
        *scan_args(args), "--catalog", str(catalog),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    kills: list[dict] = []
    started = time.monotonic()
    for point, delay_s in enumerate(KILL_DELAYS_S, start=1):
        process = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        while published_models(catalog) < point and process.poll() is None:
            time.sleep(0.05)
        time.sleep(delay_s)
        if process.poll() is not None:
            kills.append({"after_models": point, "delay_s": delay_s, "killed": False})
            continue
        for pid in [*descendants(process.pid), process.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait()
        kills.append(
            {
                "after_models": point,
                "delay_s": delay_s,
                "killed": True,
                "published_models_at_kill": published_models(catalog),
                "elapsed_s": round(time.monotonic() - started, 1),
            }
        )
    final = subprocess.run(command, env=env, capture_output=True, text=True)
    if final.returncode != 0:
        sys.exit(f"the resumed scan failed: {final.stderr[-2000:]}")
    return kills, time.monotonic() - started


def run_set(catalog: Path) -> tuple[set[tuple[str, str]], int]:
    """(model, variant) pairs with a run, and how many runs repeat one."""
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        rows = con.execute(
            "SELECT model_id, variant, count(*) FROM runs GROUP BY model_id, revision, variant"
        ).fetchall()
    finally:
        con.close()
    return {(m, v) for m, v, _ in rows}, sum(n - 1 for _, _, n in rows)


def run_benchmark(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory(prefix="reliability-") as tmp:
        workdir = Path(tmp)
        (workdir / "reference").mkdir()
        (workdir / "killed").mkdir()
        reference = workdir / "reference" / "catalog.duckdb"
        killed = workdir / "killed" / "catalog.duckdb"

        reader = Reader(reference, workdir, args.read_interval_s)
        publications, reference_s = reference_scan(args, reference)
        time.sleep(3 * args.read_interval_s)  # the reader's next polls see the last model
        first = reader.finish()
        reader = Reader(killed, workdir, args.read_interval_s)
        kills, killed_s = killed_scans(args, killed)
        time.sleep(3 * args.read_interval_s)
        second = reader.finish()

        expected, reference_repeats = run_set(reference)
        got, duplicated = run_set(killed)

    committed = {
        run_id: publication["committed_at_s"]
        for publication in publications
        for run_id in publication["new_runs"]
    }
    lags = [
        first["first_seen"][run] - at for run, at in committed.items() if run in first["first_seen"]
    ]
    publish_s = [p["publish_s"] for p in publications]
    return {
        "reads": first["reads"] + second["reads"],
        "reads_failed": first["failed"] + second["failed"],
        "read_failures": first["failures"] + second["failures"],
        "read_interval_s": args.read_interval_s,
        "staleness_s": round(max(lags), 3) if lags else None,
        "runs_timed_for_staleness": len(lags),
        "runs_never_seen_by_reader": len(committed) - len(lags),
        "publish_s_max": round(max(publish_s), 4),
        "publish_s_median": round(statistics.median(publish_s), 4),
        "publications": len(publications),
        "catalog_bytes": publications[-1]["size_bytes"],
        "kills": sum(1 for kill in kills if kill["killed"]),
        "kill_points": kills,
        "runs_expected": len(expected),
        "runs_lost": len(expected - got),
        "runs_extra": len(got - expected),
        "runs_duplicated": duplicated + reference_repeats,
        "reference_scan_s": round(reference_s, 1),
        "killed_series_s": round(killed_s, 1),
        "scan_options": " ".join(scan_args(args)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--tactic",
        dest="tactics",
        action="append",
        help="tactic to measure (repeatable; default baseline and dynamic-int8)",
    )
    parser.add_argument("--windows", type=int, default=1, help="measured windows per variant")
    parser.add_argument("--window-s", type=float, default=0.5, help="seconds per window")
    parser.add_argument("--warmup-s", type=float, default=0.2, help="seconds of warm-up")
    parser.add_argument("--idle-s", type=float, default=0.0, help="idle power window")
    parser.add_argument(
        "--read-interval-s", type=float, default=0.2, help="seconds between the reader's opens"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="where the JSON goes")
    args = parser.parse_args()
    args.tactics = args.tactics or ["baseline", "dynamic-int8"]
    figures = run_benchmark(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    for name, value in figures.items():
        if name not in ("kill_points", "read_failures"):
            print(f"{name}: {value}")
    missed = []
    if figures["reads"] < 200:
        missed.append(f"only {figures['reads']} reads (target >= 200)")
    if figures["reads_failed"]:
        missed.append(f"{figures['reads_failed']} reads failed (target 0)")
    if figures["runs_lost"] or figures["runs_duplicated"]:
        missed.append("runs lost or duplicated after SIGKILL (target 0/0)")
    if figures["kills"] < 5:
        missed.append(f"only {figures['kills']} kills landed (target 5)")
    if missed:
        sys.exit("; ".join(missed))


if __name__ == "__main__":
    main()

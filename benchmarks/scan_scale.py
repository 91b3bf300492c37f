"""Time a Hub scan at catalog scale: list 5,000 models, then rescan them incrementally.

A scheduled scan mostly meets models it has measured before; it must recognise all of them
without benchmarking any and without one catalog query per model. This lists synthetic models
from the loopback Hub (`tests/hub_server.py`), records each as already measured (one baseline
run row per model, all in one transaction: they cannot be downloaded), then rescans the same
listing and counts the benchmarks it starts (the target is 0).

    .venv/bin/python benchmarks/scan_scale.py --models 5000

Writes build/bench/scan.json: listed, list_s, rescan_benchmarks, rescan_s (and details).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

# Run as a plain script from anywhere: the loopback Hub lives in the repository's tests/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labels.catalog import Catalog, utc_now  # noqa: E402
from labels.records import HardwareRecord, RunRecord  # noqa: E402
from labels.scheme import DEFAULT_SCHEME_VERSION  # noqa: E402
from scanner.discovery.base import ModelRef  # noqa: E402
from scanner.discovery.hub import discover_hub_models  # noqa: E402
from scanner.hardware import detect_hardware  # noqa: E402
from scanner.harness import HARNESS_VERSION  # noqa: E402
from scanner.scan import ScanOptions, model_record, scan  # noqa: E402
from tests.hub_server import LoopbackHub  # noqa: E402

TASK = "text-classification"
OUT = Path("build") / "bench" / "scan.json"


def record_as_measured(catalog: Catalog, refs: list[ModelRef], hardware: HardwareRecord) -> None:
    """One baseline run per model, as a finished scan would leave it, in one transaction."""
    now = utc_now()
    models = [model_record(ref) for ref in refs]
    runs = [
        RunRecord(
            run_id=str(uuid.uuid4()),
            scan_id="bench-seed",
            model_id=ref.model_id,
            revision=ref.revision,
            task=ref.task,
            hardware_profile=hardware.profile,
            hardware_fingerprint=hardware.fingerprint,
            variant="baseline",
            tactic="baseline",
            status="ok",
            reason=None,
            device="cpu",
            harness_version=HARNESS_VERSION,
            scheme_version=DEFAULT_SCHEME_VERSION,
            started_at=now,
            finished_at=now,
        )
        for ref in refs
    ]
    model_columns = [f.name for f in dataclasses.fields(models[0])]
    run_columns = [f.name for f in dataclasses.fields(runs[0])]
    catalog.record_hardware(hardware)
    with catalog.transaction() as con:
        con.executemany(
            f"INSERT INTO models ({', '.join(model_columns)}, first_seen_at, last_seen_at) "
            f"VALUES ({', '.join('?' for _ in model_columns)}, ?, ?)",
            [[*dataclasses.astuple(model), now, now] for model in models],
        )
        con.executemany(
            f"INSERT INTO runs ({', '.join(run_columns)}) "
            f"VALUES ({', '.join('?' for _ in run_columns)})",
            [[getattr(run, name) for name in run_columns] for run in runs],
        )


def run_benchmark(model_count: int, page_size: int) -> dict[str, float | int]:
    hub = LoopbackHub(page_size=page_size)
    os.environ["HF_ENDPOINT"] = hub.endpoint
    # the listing goes to the loopback Hub only, so offline mode (read once, at import, by
    # huggingface_hub) is lifted for this process
    os.environ.pop("HF_HUB_OFFLINE", None)
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = False
    hardware = detect_hardware("cpu")
    try:
        hub.add_synthetic_models(model_count, pipeline_tag=TASK)
        started = time.perf_counter()
        refs = list(discover_hub_models([TASK], model_count, fetch=False))
        list_s = time.perf_counter() - started

        with tempfile.TemporaryDirectory(prefix="scan-scale-") as tmp:
            catalog = Catalog(Path(tmp) / "catalog.duckdb")
            started = time.perf_counter()
            record_as_measured(catalog, refs, hardware)
            seed_s = time.perf_counter() - started

            started = time.perf_counter()
            relisted = list(discover_hub_models([TASK], model_count, fetch=False))
            scan_started = time.perf_counter()
            summary = scan(relisted, catalog, ScanOptions(executor="inprocess"), hardware=hardware)
            rescan_s = time.perf_counter() - started
            rescan_scan_s = time.perf_counter() - scan_started
            runs_after = catalog.query("SELECT count(*) FROM runs").rows[0][0]
    finally:
        hub.close()
    return {
        "listed": len(refs),
        "list_s": round(list_s, 3),
        "pages_per_listing": len(hub.requests_to("/api/models")) // 2,  # listed twice
        "seed_s": round(seed_s, 3),
        "rescan_benchmarks": summary.benchmarked,
        "rescan_unchanged": summary.unchanged,
        "rescan_s": round(rescan_s, 3),
        "rescan_scan_s": round(rescan_scan_s, 3),
        "runs_written_by_rescan": runs_after - len(refs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=5000, help="synthetic models to list")
    parser.add_argument("--page-size", type=int, default=1000, help="models per listing page")
    parser.add_argument("--out", type=Path, default=OUT, help="where the JSON goes")
    args = parser.parse_args()
    figures = run_benchmark(args.models, args.page_size)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    for name, value in figures.items():
        print(f"{name}: {value}")
    if figures["rescan_benchmarks"] != 0 or figures["runs_written_by_rescan"] != 0:
        sys.exit("an incremental rescan of an unchanged listing benchmarked or wrote something")


if __name__ == "__main__":
    main()

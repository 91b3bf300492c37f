"""A scan survives what a long unattended run meets: a SIGKILL, a reader, Hub failures, no network.

Every test runs real scans of tiny models into a real DuckDB file; the Hub is the loopback
server of `tests/hub_server.py`, reached through the real huggingface_hub client.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from labeler.cli import app
from labels.catalog import Catalog
from scanner.discovery.hub import discover_hub_models
from scanner.discovery.hub_retry import RetryPolicy
from scanner.discovery.local import discover_local_models
from scanner.scan import ScanOptions, scan
from tests import hub_server
from tests.hub_server import LoopbackHub
from tests.process_tree import descendants
from tests.tiny_models import copy_model

loopback_hub = hub_server.loopback_hub

REPO = Path(__file__).resolve().parents[1]
TASK = "text-classification"
FAST_PROTOCOL = {"windows": 1, "window_s": 0.05, "warmup_s": 0.0, "idle_s": 0.0}
FAST_CLI = [
    "--tactic",
    "baseline",
    "--windows",
    "1",
    "--window-s",
    "0.05",
    "--warmup-s",
    "0",
    "--idle-s",
    "0",
    "--meter",
    "estimate",
]
TOKEN = "hf_neverWRITTENtoken0123456789abcd"


@pytest.fixture(scope="module")
def tiny_bert_files(tiny_bert: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in tiny_bert.iterdir() if path.is_file()}


def no_sleep_policy() -> RetryPolicy:
    return RetryPolicy(sleep=lambda _seconds: None)


def fast_options(**changes: object) -> ScanOptions:
    values: dict = {
        "tactics": ["baseline"],
        "protocol": FAST_PROTOCOL,
        "executor": "inprocess",
        "meter": "estimate",
    }
    return ScanOptions(**{**values, **changes})


# -- a real scan, killed and run again ----------------------------------------------------


def labeler_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from labeler.cli import main; main()", *args]


def read_only_count(catalog: Path, sql: str) -> int | None:
    """One read the way a user's script reads; None while a writer holds the file."""
    try:
        con = duckdb.connect(str(catalog), read_only=True)
    except duckdb.Error as exc:
        if "lock" in str(exc).lower() or "does not exist" in str(exc).lower():
            return None
        raise
    try:
        return con.execute(sql).fetchone()[0]
    except duckdb.CatalogException:  # the tables are not created yet
        return None
    finally:
        con.close()


READER_SCRIPT = """
import sys, time, pathlib, duckdb
path, stop = sys.argv[1], pathlib.Path(sys.argv[2])
reads = locked = 0
deadline = time.monotonic() + 300
while not stop.exists() and time.monotonic() < deadline:
    try:
        con = duckdb.connect(path, read_only=True)
    except duckdb.Error as exc:
        if "lock" not in str(exc).lower():
            raise
        locked += 1
    else:
        try:
            con.execute("SELECT count(*) FROM runs JOIN models USING (model_id)").fetchone()
            reads += 1
        finally:
            con.close()
    time.sleep(0.05)
print(reads, locked)
"""


@pytest.mark.slow
def test_a_scan_killed_with_sigkill_finishes_on_the_next_run_while_a_reader_reads(
    tiny_bert: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    for index in range(4):
        copy_model(tiny_bert, models / "org" / f"tiny-{index}")
    catalog = tmp_path / "catalog.duckdb"
    command = labeler_command(
        "scan", "--source", str(models), "--executor", "subprocess", "--catalog", str(catalog)
    )
    command += FAST_CLI
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    first = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    measured = 0
    while measured < 1 and first.poll() is None and time.monotonic() < deadline:
        measured = read_only_count(catalog, "SELECT count(DISTINCT model_id) FROM runs") or 0
        time.sleep(0.1)
    assert first.poll() is None, f"the scan ended before it was killed: {first.stderr.read()}"
    assert measured >= 1, "no model was measured in time"
    for pid in [*descendants(first.pid), first.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL
    killed_with = read_only_count(catalog, "SELECT count(DISTINCT model_id) FROM runs")
    assert killed_with is not None and 1 <= killed_with < 4

    stop = tmp_path / "stop-reading"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER_SCRIPT, str(catalog), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
    )
    # The rerun benchmarks in its own process: what matters here is what the driver writes.
    rerun = [arg if arg != "subprocess" else "inprocess" for arg in command]
    second = subprocess.run(rerun, cwd=tmp_path, env=env, capture_output=True, text=True)
    stop.touch()
    reader_out, _ = reader.communicate(timeout=60)

    assert second.returncode == 0, second.stderr
    assert f"{4 - killed_with} benchmarked, {killed_with} unchanged" in second.stdout
    reads, _locked = map(int, reader_out.split())
    assert reads >= 3, "a reader could not read the catalog while the scan ran"
    con = duckdb.connect(str(catalog), read_only=True)
    try:
        per_model = con.execute(
            "SELECT model_id, count(*) FROM runs GROUP BY model_id, revision, variant "
            "ORDER BY model_id"
        ).fetchall()
        models_rows = con.execute(
            "SELECT count(*), count(DISTINCT model_id) FROM models"
        ).fetchone()
        orphans = con.execute(
            "SELECT count(*) FROM measurements WHERE run_id NOT IN (SELECT run_id FROM runs)"
        ).fetchone()[0]
        short = con.execute(
            "SELECT count(*) FROM runs r WHERE status = 'ok' AND r.windows <> "
            "(SELECT count(*) FROM measurements m WHERE m.run_id = r.run_id "
            "AND NOT m.reference_window)"  # scheme v2 keeps the reference's windows beside
        ).fetchone()[0]
        statuses = con.execute("SELECT DISTINCT status FROM runs").fetchall()
    finally:
        con.close()
    assert per_model == [(f"org/tiny-{index}", 1) for index in range(4)]
    assert models_rows == (4, 4)
    assert (orphans, short) == (0, 0)
    assert statuses == [("ok",)]


# -- incremental and offline scans of the Hub ---------------------------------------------


def test_hub_rescan_is_incremental_force_repeats_and_a_new_sha_is_measured_then_offline(
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loopback_hub.add_model("org/tiny-a", tiny_bert_files, downloads=20)
    loopback_hub.add_model("org/tiny-b", tiny_bert_files, downloads=10)
    cache = tmp_path / "hub-cache"
    catalog = Catalog(tmp_path / "catalog.duckdb")

    def hub_scan(**changes: object):  # noqa: ANN202
        refs = discover_hub_models([TASK], 5, cache_dir=cache, retry=no_sleep_policy())
        return scan(refs, catalog, fast_options(**changes))

    first = hub_scan()
    assert (first.benchmarked, first.failed) == (2, 0), first.failures
    second = hub_scan()
    assert (second.benchmarked, second.unchanged) == (0, 2)
    forced = hub_scan(force=True)
    assert forced.benchmarked == 2

    changed = loopback_hub.add_model(
        "org/tiny-a", {**tiny_bert_files, "README.md": b"---\npipeline_tag: text-classification\n"}
    )
    after_change = hub_scan()
    assert (after_change.benchmarked, after_change.unchanged) == (1, 1)
    revisions = catalog.query(
        "SELECT DISTINCT revision FROM runs WHERE model_id = 'org/tiny-a' ORDER BY revision"
    ).rows
    assert (changed.sha,) in revisions and len(revisions) == 2

    loopback_hub.close()  # from here on there is no Hub at all
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline_catalog = Catalog(tmp_path / "offline.duckdb")
    refs = list(
        discover_hub_models([TASK], 5, model_ids=["org/tiny-a", "org/tiny-b"], cache_dir=cache)
    )
    assert [ref.skip_reason for ref in refs] == [None, None]
    assert refs[0].revision == changed.sha
    offline = scan(refs, offline_catalog, fast_options())
    assert (offline.benchmarked, offline.failed) == (2, 0), offline.failures


def test_a_hub_failure_is_recorded_for_that_model_and_the_scan_exits_1(
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loopback_hub.add_model("org/fine", tiny_bert_files, downloads=20)
    loopback_hub.add_model("org/broken", tiny_bert_files, downloads=10)
    loopback_hub.inject("/api/models/org/broken", "500", times=1000)
    loopback_hub.authorized_tokens.add(TOKEN)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    catalog = tmp_path / "catalog.duckdb"

    result = CliRunner().invoke(
        app,
        [
            "scan",
            "--source",
            "hub",
            "--task",
            TASK,
            "--models-dir",
            str(tmp_path / "models"),
            "--executor",
            "inprocess",
            "--catalog",
            str(catalog),
            *FAST_CLI,
        ],
    )

    assert result.exit_code == 1, result.output
    assert "failed: org/broken: hub error" in result.output
    rows = Catalog(catalog).query("SELECT model_id, status, reason FROM runs ORDER BY 1").rows
    assert [(model, status) for model, status, _ in rows] == [
        ("org/broken", "failed"),
        ("org/fine", "ok"),
    ]
    assert "500" in rows[0][2]
    assert TOKEN not in result.output
    assert TOKEN.encode() not in catalog.read_bytes()

    # The Hub recovers: the failed model is tried again, the measured one is not.
    loopback_hub._faults.clear()
    refs = discover_hub_models(
        [TASK], 5, cache_dir=tmp_path / "models" / "hub", retry=no_sleep_policy()
    )
    again = scan(refs, Catalog(catalog), fast_options())
    assert (again.benchmarked, again.unchanged, again.failed) == (1, 1, 0)


# -- size limits ----------------------------------------------------------------------------


def test_max_params_skips_big_models_before_any_benchmark(
    loopback_hub: LoopbackHub, tiny_bert: Path, tiny_bert_files: dict[str, bytes], tmp_path: Path
) -> None:
    copy_model(tiny_bert, tmp_path / "models" / "org" / "local")
    catalog = Catalog(tmp_path / "catalog.duckdb")

    local = scan(discover_local_models(tmp_path / "models"), catalog, fast_options(max_params=1000))

    assert (local.benchmarked, local.skipped) == (0, 1)
    reason = catalog.query("SELECT reason FROM runs").rows[0][0]
    assert reason.startswith("too big:") and "--max-params limit of 1,000" in reason

    loopback_hub.add_model("org/listed", tiny_bert_files)
    (listed,) = discover_hub_models([TASK], 5, fetch=False, max_params=1000)
    assert listed.skip_reason is not None and "--max-params" in listed.skip_reason
    assert int(listed.metadata["params"]) > 1000

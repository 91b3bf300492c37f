"""`labeler schedule`: one cycle on demand, a clear error for a bad cron, no overlapping or
piled-up cycles, and a clean stop on SIGTERM between models."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from typer.testing import CliRunner

from labeler.cli import app
from labels.catalog import Catalog
from scanner.schedule import run_schedule
from tests.tiny_models import TINY_BERT, build_tiny_model

REPO = Path(__file__).resolve().parents[1]


def test_once_runs_scan_grade_site_on_a_folder_and_logs_it(tmp_path: Path) -> None:
    build_tiny_model(TINY_BERT, tmp_path / "models" / "org" / "tiny")
    catalog = tmp_path / "catalog.duckdb"

    result = CliRunner().invoke(
        app,
        [
            "schedule",
            "--once",
            "--source",
            str(tmp_path / "models"),
            "--tactic",
            "baseline",
            "--windows",
            "1",
            "--window-s",
            "0.05",
            "--executor",
            "inprocess",
            "--out",
            str(tmp_path / "site"),
            "--catalog",
            str(catalog),
        ],
    )

    assert result.exit_code == 0, result.output
    assert "cycle started" in result.output
    assert "1 benchmarked, 0 unchanged, 0 failed; 1 graded; site 1 models" in result.output
    assert (tmp_path / "site" / "index.html").is_file()
    assert Catalog(catalog).query("SELECT count(*) FROM runs").rows == [(1,)]


def test_once_runs_one_cycle_now_and_says_whether_it_failed() -> None:
    lines: list[str] = []
    hourly = IntervalTrigger(hours=1)

    assert run_schedule(hourly, lambda should_stop: "3 benchmarked", once=True, log=lines.append)
    assert [line.split(" ", 1)[1].split(" in ")[0] for line in lines] == [
        "cycle started",
        "cycle finished",
    ]
    assert lines[1].endswith(" s: 3 benchmarked")

    def failing(should_stop: object) -> str:
        raise RuntimeError("catalog is locked")

    lines.clear()
    assert run_schedule(hourly, failing, once=True, log=lines.append) is False
    assert len(lines) == 2 and "cycle failed after" in lines[1]
    assert float(lines[1].split(" after ")[1].split(" s")[0]) < 60
    assert lines[1].endswith(" s: catalog is locked")


def test_an_invalid_cron_is_one_clear_error_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["schedule", "--cron", "every night", "--catalog", str(tmp_path / "c.duckdb")]
    )

    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: invalid cron expression 'every night'")


def test_cycles_never_overlap_and_runs_due_meanwhile_are_dropped_not_queued() -> None:
    """A 0.1 s interval and cycles of 0.35 s: each run due during a cycle is skipped."""
    spans: list[tuple[float, float]] = []
    lines: list[str] = []
    running = threading.Lock()

    def cycle(should_stop: object) -> str:
        assert running.acquire(blocking=False), "two cycles ran at once"
        started = time.monotonic()
        time.sleep(0.35)
        spans.append((started, time.monotonic()))
        running.release()
        if len(spans) == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # stop the schedule from inside, cleanly
            deadline = time.monotonic() + 10
            while not should_stop() and time.monotonic() < deadline:  # type: ignore[operator]
                time.sleep(0.01)  # the handler runs in the main thread
        return f"cycle {len(spans)}"

    before = signal.getsignal(signal.SIGTERM)
    run_schedule(IntervalTrigger(seconds=0.1), cycle, log=lines.append)

    assert signal.getsignal(signal.SIGTERM) is before  # handlers are given back
    assert len(spans) == 3
    assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))
    skipped = [line for line in lines if "skipped: the previous cycle is still running" in line]
    assert len(skipped) >= 2, lines
    assert sum("cycle finished" in line for line in lines) == 3
    assert lines[-1].endswith("scheduler stopped")
    finished = [line for line in lines if "cycle finished in " in line]
    assert all(float(line.split(" in ")[1].split(" s")[0]) < 60 for line in finished)
    assert [line.endswith(" (stopped early on a signal): cycle 3") for line in finished] == [
        False,
        False,
        True,
    ]


class SleptThrough(BaseTrigger):
    """Due every 0.1 s for ten times, all already past when the scheduler looks: what it sees
    after the process was asleep (a suspended machine, a stopped container) through them."""

    def __init__(self, due_times: int = 10) -> None:
        self.first = datetime.now(UTC) - timedelta(seconds=2)
        self.interval = timedelta(seconds=0.1)
        self.last = self.first + self.interval * (due_times - 1)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        if previous_fire_time is None:
            return self.first
        following = previous_fire_time + self.interval
        return following if following <= self.last else None


def test_run_times_missed_while_asleep_are_coalesced_into_one_cycle() -> None:
    cycles: list[float] = []
    lines: list[str] = []

    def cycle(should_stop: object) -> str:
        cycles.append(time.monotonic())
        if len(cycles) == 1:  # stop soon; runs that were not coalesced would follow at once
            threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
        return f"cycle {len(cycles)}"

    run_schedule(SleptThrough(due_times=10), cycle, log=lines.append)

    assert len(cycles) == 1, lines
    assert sum("cycle finished" in line for line in lines) == 1
    assert lines[-1].endswith("scheduler stopped")


DRIVER = """
import sys, time
from pathlib import Path
from apscheduler.triggers.interval import IntervalTrigger
from scanner.schedule import run_schedule

started_marker = Path(sys.argv[1])

def cycle(should_stop):
    done = []
    for model in ("org/a", "org/b", "org/c", "org/d", "org/e", "org/f"):
        if should_stop():
            break
        print(f"measuring {model}", flush=True)
        started_marker.touch()
        time.sleep(0.4)
        done.append(model)
        print(f"measured {model}", flush=True)
    return f"{len(done)} benchmarked"

run_schedule(IntervalTrigger(seconds=0.2), cycle, log=lambda line: print(line, flush=True))
"""


def test_sigterm_stops_between_models_and_exits_0(tmp_path: Path) -> None:
    marker = tmp_path / "measuring"
    process = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(marker)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists(), "the cycle never started"
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)

    assert process.returncode == 0, output
    lines = output.splitlines()
    assert any("SIGTERM: stopping after the current model" in line for line in lines), output
    started = [line.split()[-1] for line in lines if line.startswith("measuring ")]
    finished = [line.split()[-1] for line in lines if line.startswith("measured ")]
    assert started == finished, "the model in flight was not finished"
    assert len(finished) < 6, "the cycle did not stop early"
    summary = next(line for line in lines if "cycle finished" in line)
    assert "(stopped early on a signal)" in summary
    assert summary.endswith(f"{len(finished)} benchmarked")
    assert lines[-1].endswith("scheduler stopped")


@pytest.fixture(autouse=True)
def _no_stray_alarm() -> None:
    """Nothing here may leave SIGTERM pointing at a dead scheduler."""
    before = signal.getsignal(signal.SIGTERM)
    yield
    assert signal.getsignal(signal.SIGTERM) is before


def test_once_reports_whether_its_cycle_failed() -> None:
    lines: list[str] = []

    def failing(should_stop: object) -> str:
        raise RuntimeError("the Hub is down")

    assert run_schedule(IntervalTrigger(hours=1), failing, once=True, log=lines.append) is False
    assert "cycle failed" in lines[-1] and "the Hub is down" in lines[-1]
    assert run_schedule(IntervalTrigger(hours=1), lambda stop: "ok", once=True, log=print) is True


def test_log_times_are_utc_to_the_millisecond() -> None:
    from datetime import timezone

    from scanner.schedule import _format, _now, parse_cron

    paris = timezone(timedelta(hours=1))
    assert (
        _format(datetime(2026, 1, 2, 4, 4, 5, 678900, tzinfo=paris)) == "2026-01-02T03:04:05.678Z"
    )
    assert _format(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"
    assert _format(None) == ""
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    now = datetime.strptime(_now(), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert before <= now <= datetime.now(UTC)
    # A cron trigger fires in UTC, whatever the host's time zone.
    trigger = parse_cron("30 2 * * *")
    fire = trigger.get_next_fire_time(None, datetime(2026, 1, 1, 0, 0, tzinfo=UTC))
    assert fire == datetime(2026, 1, 1, 2, 30, tzinfo=UTC)
    assert str(fire.tzinfo) == "UTC"


def test_a_run_over_an_hour_late_is_missed_not_run() -> None:
    """Runs missed by less than an hour are coalesced into one; older ones are dropped."""
    now = datetime.now(UTC)
    lines: list[str] = []
    cycles: list[str] = []

    class LongAgo(BaseTrigger):
        def get_next_fire_time(self, previous_fire_time, now_):  # type: ignore[no-untyped-def]
            return now - timedelta(hours=2) if previous_fire_time is None else None

    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
    run_schedule(LongAgo(), lambda should_stop: cycles.append("ran") or "ran", log=lines.append)

    assert cycles == []
    assert any("missed: coalesced into the next one" in line for line in lines), lines

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
from scanner.schedule import _format, run_schedule
from tests.tiny_models import TINY_BERT, build_tiny_model

# How long a test waits for something the scheduler does within a tick (0.1 s here): a
# generous margin on a loaded host, yet short enough that a mutant which stops the event
# from ever happening (`make mutants`) fails in seconds, not in pytest-timeout's 20.
PATIENCE_S = 3.0

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
    """A 0.1 s interval and cycles that last until a run due meanwhile has been skipped."""
    spans: list[tuple[float, float]] = []
    lines: list[str] = []
    running = threading.Lock()

    def skipped_so_far() -> int:
        return sum("skipped: the previous cycle is still running" in line for line in lines)

    def cycle(should_stop: object) -> str:
        assert running.acquire(blocking=False), "two cycles ran at once"
        started = time.monotonic()
        # as long as the scheduler takes to drop a run that came due, not a fixed time
        skipped_before = skipped_so_far()
        deadline = started + PATIENCE_S
        while skipped_so_far() == skipped_before and time.monotonic() < deadline:
            time.sleep(0.005)
        spans.append((started, time.monotonic()))
        running.release()
        if len(spans) == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # stop the schedule from inside, cleanly
            deadline = time.monotonic() + PATIENCE_S
            while not should_stop() and time.monotonic() < deadline:  # type: ignore[operator]
                time.sleep(0.01)  # the handler runs in the main thread
        return f"cycle {len(spans)}"

    before = signal.getsignal(signal.SIGTERM)
    earliest = datetime.now(UTC)
    every_tenth = IntervalTrigger(seconds=0.1)
    assert run_schedule(every_tenth, cycle, log=lines.append) is True
    latest = datetime.now(UTC)

    assert signal.getsignal(signal.SIGTERM) is before  # handlers are given back
    assert lines[0].split(" ", 1)[1].startswith("scheduled: interval[0:00:00.100000]; next run ")
    assert earliest - timedelta(milliseconds=1) <= logged_time(lines[0].split()[-1]) <= latest
    assert len(spans) == 3
    assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))
    skipped = [line for line in lines if "skipped: the previous cycle is still running" in line]
    assert len(skipped) >= 2, lines
    due_times = [logged_time(line.split(" run due ")[1].split()[0]) for line in skipped]
    assert all(earliest - timedelta(milliseconds=1) <= due <= latest for due in due_times)
    assert due_times == sorted(set(due_times))  # each one due time, the latest coalesced
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
    after the process was asleep (a suspended machine, a stopped container) through them.
    Then due again only a day later (a trigger that ends makes APScheduler 3 remove its job,
    which fails when a signal stops the scheduler in between; see DueNowThenHourly)."""

    def __init__(self, due_times: int = 10) -> None:
        self.first = datetime.now(UTC) - timedelta(seconds=2)
        self.interval = timedelta(seconds=0.1)
        self.last = self.first + self.interval * (due_times - 1)
        self.asked_past_the_last = threading.Event()

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        if previous_fire_time is None:
            return self.first
        following = previous_fire_time + self.interval
        if following <= self.last:
            return following
        self.asked_past_the_last.set()
        return self.last + timedelta(days=1)


def test_run_times_missed_while_asleep_are_coalesced_into_one_cycle() -> None:
    cycles: list[float] = []
    lines: list[str] = []
    trigger = SleptThrough(due_times=10)

    def stop_once_no_run_is_left() -> None:
        # Every due time is known once the scheduler has asked the trigger past the last,
        # and runs that were not coalesced were handed over with this cycle: the stop waits
        # for them all (it finishes the runs in flight), so no fixed wait is needed.
        trigger.asked_past_the_last.wait(PATIENCE_S)
        os.kill(os.getpid(), signal.SIGTERM)

    def cycle(should_stop: object) -> str:
        cycles.append(time.monotonic())
        if len(cycles) == 1:
            threading.Thread(target=stop_once_no_run_is_left).start()
        return f"cycle {len(cycles)}"

    run_schedule(trigger, cycle, log=lines.append)

    assert len(cycles) == 1, lines
    assert sum("cycle finished" in line for line in lines) == 1
    assert lines[-1].endswith("scheduler stopped")


DRIVER = """
import sys, time
from pathlib import Path
from apscheduler.triggers.interval import IntervalTrigger
from scanner.schedule import _format, run_schedule

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


class SignalReachedTheTest(AssertionError):
    pass


def _not_handled_by_the_schedule(signum: int, _frame: object) -> None:
    raise SignalReachedTheTest(f"{signal.Signals(signum).name} reached the test's own handler")


@pytest.fixture(autouse=True)
def _signals_only_for_the_schedule() -> None:
    """While a test runs, SIGTERM and SIGINT raise unless run_schedule handles them, and
    after it they must point where they did before: nothing here may leave them at a dead
    scheduler. (Whatever handler the test process had, mutmut's fork server exits 0 on
    SIGTERM, is not what decides whether these tests pass.)"""
    originals = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    for sig in originals:
        signal.signal(sig, _not_handled_by_the_schedule)
    try:
        yield
        for sig in originals:
            assert signal.getsignal(sig) is _not_handled_by_the_schedule
    finally:
        for sig, handler in originals.items():
            signal.signal(sig, handler)


def test_once_reports_whether_its_cycle_failed() -> None:
    lines: list[str] = []

    def failing(should_stop: object) -> str:
        raise RuntimeError("the Hub is down")

    assert run_schedule(IntervalTrigger(hours=1), failing, once=True, log=lines.append) is False
    assert "cycle failed" in lines[-1] and "the Hub is down" in lines[-1]
    assert run_schedule(IntervalTrigger(hours=1), lambda stop: "ok", once=True, log=print) is True


def test_log_times_are_utc_to_the_millisecond() -> None:
    from datetime import timezone

    from scanner.schedule import _now, parse_cron

    paris = timezone(timedelta(hours=1))
    assert (
        _format(datetime(2026, 1, 2, 4, 4, 5, 678900, tzinfo=paris)) == "2026-01-02T03:04:05.678Z"
    )
    assert _format(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"
    assert _format(None) == ""
    # on a host whose local zone is not UTC, too
    local_zone = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"
    time.tzset()
    try:
        assert _format(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"
    finally:
        if local_zone is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = local_zone
        time.tzset()
    before = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    now = datetime.strptime(_now(), "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert before <= now <= datetime.now(UTC)
    # A cron trigger fires in UTC, whatever the host's time zone.
    trigger = parse_cron("30 2 * * *")
    fire = trigger.get_next_fire_time(None, datetime(2026, 1, 1, 0, 0, tzinfo=UTC))
    assert fire == datetime(2026, 1, 1, 2, 30, tzinfo=UTC)
    assert str(fire.tzinfo) == "UTC"


def logged_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def signal_once_logged(lines: list[str], wanted: str, sig: signal.Signals) -> threading.Thread:
    """A thread that sends `sig` to this process once a line containing `wanted` is logged."""

    def wait_then_signal() -> None:
        deadline = time.monotonic() + PATIENCE_S
        while not any(wanted in line for line in lines) and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), sig)

    thread = threading.Thread(target=wait_then_signal)
    thread.start()
    return thread


@pytest.mark.parametrize("late_s", [2 * 3600.0, 3600.25])
def test_a_run_over_an_hour_late_is_missed_not_run(late_s: float) -> None:
    """Runs missed by less than an hour are coalesced into one; older ones are dropped, even
    one just over the hour, and the line says which due time was missed."""
    lines: list[str] = []
    cycles: list[str] = []
    due: list[datetime] = []

    class LongAgo(BaseTrigger):
        def get_next_fire_time(self, previous_fire_time, now):  # type: ignore[no-untyped-def]
            if previous_fire_time is not None:
                return None
            due.append(now - timedelta(seconds=late_s))  # asked by the log line, then at start
            return due[-1]

        def __str__(self) -> str:
            return "long ago"

    signaller = signal_once_logged(lines, " missed: ", signal.SIGTERM)
    run_schedule(LongAgo(), lambda should_stop: cycles.append("ran") or "ran", log=lines.append)
    signaller.join()

    assert cycles == []
    missed = [line.split(" ", 1)[1] for line in lines if " missed: " in line]
    assert missed == [f"run due {_format(due[-1])} missed: coalesced into the next one"], lines


class DueNowThenHourly(BaseTrigger):
    """Due now, then hourly (a trigger that ends makes APScheduler 3 remove its job, which
    fails when a signal stops the scheduler in between); `says_never_first` answers the
    first question (the "next run" line) with no time, as a trigger with none would."""

    def __init__(self, says_never_first: bool = False) -> None:
        self.questions = 0
        self.says_never_first = says_never_first
        self.due = datetime.now(UTC)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        self.questions += 1
        if self.says_never_first and self.questions == 1:
            return None
        return self.due if previous_fire_time is None else previous_fire_time + timedelta(hours=1)

    def __str__(self) -> str:
        return "due now"


def test_sigint_in_process_stops_between_models_and_a_second_signal_changes_nothing() -> None:
    """The stop path in this process (the subprocess test above checks the same for a real
    process and SIGTERM): the model in flight finishes, the rest are skipped, one line says
    why, a second signal is ignored, and nothing else is logged."""
    lines: list[str] = []
    measured: list[str] = []

    def cycle(should_stop) -> str:  # type: ignore[no-untyped-def]
        for model in ("org/a", "org/b", "org/c", "org/d"):
            if should_stop():
                break
            if model == "org/b":  # a signal while measuring the second model
                os.kill(os.getpid(), signal.SIGINT)
                deadline = time.monotonic() + PATIENCE_S
                while not should_stop() and time.monotonic() < deadline:
                    time.sleep(0.01)  # the handler runs in the main thread
                os.kill(os.getpid(), signal.SIGINT)  # a second one: already stopping
                time.sleep(0.2)
            measured.append(model)
        return f"{len(measured)} benchmarked"

    trigger = DueNowThenHourly()
    assert run_schedule(trigger, cycle, log=lines.append) is True

    assert measured == ["org/a", "org/b"], lines
    assert [line.split(" ", 1)[1].split(" in ")[0] for line in lines] == [
        f"scheduled: due now; next run {_format(trigger.due)}",
        "cycle started",
        "SIGINT: stopping after the current model",
        "cycle finished",
        "scheduler stopped",
    ]
    assert lines[3].endswith(" s (stopped early on a signal): 2 benchmarked")


def test_a_trigger_with_no_next_time_is_logged_as_never() -> None:
    lines: list[str] = []

    def cycle(should_stop) -> str:  # type: ignore[no-untyped-def]
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + PATIENCE_S
        while not should_stop() and time.monotonic() < deadline:
            time.sleep(0.01)  # the handler runs in the main thread
        return "0 benchmarked"

    assert run_schedule(DueNowThenHourly(says_never_first=True), cycle, log=lines.append)
    assert lines[0].split(" ", 1)[1] == "scheduled: due now; next run never"
    assert lines[2].split(" ", 1)[1] == "SIGTERM: stopping after the current model", lines


def test_a_signal_before_the_scheduler_runs_still_stops_it() -> None:
    """SIGTERM between installing the handler and the scheduler's start (here: while the
    "scheduled" line is logged) stops it as soon as it runs, instead of being lost."""
    lines: list[str] = []

    def log(line: str) -> None:
        lines.append(line)
        if " scheduled: " in line:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs before start()

    assert run_schedule(IntervalTrigger(hours=1), lambda stop: "never runs", log=log) is True
    assert [line.split(" ", 1)[1].split(";")[0] for line in lines] == [
        "scheduled: interval[1:00:00]",
        "SIGTERM: stopping after the current model",
        "scheduler stopped",
    ]

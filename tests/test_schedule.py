"""`labeler schedule`: one cycle on demand, a clear error for a bad cron, no overlapping or
piled-up cycles, and a clean stop on SIGTERM between models."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from apscheduler.events import EVENT_SCHEDULER_START
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from typer.testing import CliRunner

from labeler.cli import app
from labels.catalog import Catalog
from scanner.schedule import Cycle, _format, parse_cron, run_schedule
from tests.tiny_models import TINY_BERT, build_tiny_model

# How long a test waits (real time) for something the scheduler does at once: a generous
# margin on a loaded host, yet short enough that a mutant which stops the event from ever
# happening (`make mutants`) fails in seconds, not at pytest-timeout's limit.
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


SKIPPED = "skipped: the previous cycle is still running"
STOPPING = "stopping after the current model"
DAY = datetime(2026, 1, 1, tzinfo=UTC)
START = DAY + timedelta(minutes=35)  # where the fake clock starts: 00:35 UTC
CYCLE_DURATION = re.compile(r" in (\d+\.\d) s")  # "cycle finished in 0.0 s"


def at(hours: int, minutes: int = 0, seconds: float = 0.0) -> datetime:
    """A moment of the fake clock's day."""
    return DAY + timedelta(hours=hours, minutes=minutes, seconds=seconds)


def line(moment: datetime, text: str) -> str:
    """A log line as the schedule writes it at `moment`."""
    return f"{_format(moment)} {text}"


def wait_until(condition: Callable[[], bool]) -> bool:
    """Until `condition()` holds, PATIENCE_S of real time at most. Waits on an Event, whose
    timeout runs on the real clock whatever time-machine mocks (its 2.x versions moved
    `time.monotonic` with the fake clock; 3.6 leaves it alone)."""
    pause = threading.Event()
    for _ in range(int(PATIENCE_S / 0.01)):
        if condition():
            return True
        pause.wait(0.01)
    return condition()


class ScheduleLog:
    """The lines `run_schedule` logs, which a test's threads wait for."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, text: str) -> None:
        self.lines.append(text)

    def count(self, text: str) -> int:
        return sum(text in str(logged) for logged in self.lines)

    def wait_for(self, text: str, count: int = 1) -> bool:
        return wait_until(lambda: self.count(text) >= count)

    def timed_as_n(self) -> list[str]:
        """The lines with each cycle's duration as "N": it is measured on the real
        monotonic clock (a few ms here, more on a loaded host). Each must read as seconds
        under a minute."""
        lines = [str(logged) for logged in self.lines]
        durations = [float(d) for d in CYCLE_DURATION.findall("\n".join(lines))]
        assert all(d < 60 for d in durations), self.lines
        return [CYCLE_DURATION.sub(" in N s", logged) for logged in lines]


class FakeClock:
    """The wall clock that the schedule and APScheduler read, held still by time-machine
    (APScheduler 3 calls `datetime.now` inside its own modules, so a clock has to be moved
    underneath it), and moved only by `move_to`, which wakes the scheduler to look at it."""

    def __init__(self, traveller: time_machine.Coordinates) -> None:
        self.traveller = traveller
        self.scheduler = BlockingScheduler(timezone=UTC)
        self.started = threading.Event()
        self.scheduler.add_listener(lambda _event: self.started.set(), EVENT_SCHEDULER_START)

    def move_to(self, moment: datetime) -> None:
        self.traveller.move_to(moment)
        self.scheduler.wakeup()

    def run(
        self, trigger: BaseTrigger, cycle: Cycle, log: ScheduleLog, driver: Callable[[], None]
    ) -> bool:
        """`run_schedule` on this clock. `driver` moves the clock from a thread of its own,
        once the scheduler has started: its job has then been given its first due time. A
        schedule still running PATIENCE_S after the driver is done gets a SIGTERM, so that a
        broken one fails the test rather than hang it."""
        stopped = threading.Event()

        def drive() -> None:
            try:
                if self.started.wait(PATIENCE_S):
                    driver()
            finally:
                if not stopped.wait(PATIENCE_S):
                    os.kill(os.getpid(), signal.SIGTERM)

        thread = threading.Thread(target=drive, daemon=True)
        thread.start()
        try:
            return run_schedule(trigger, cycle, log=log, scheduler=self.scheduler)
        finally:
            stopped.set()
            thread.join(PATIENCE_S)


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    with time_machine.travel(START, tick=False) as traveller:
        yield FakeClock(traveller)


def test_cycles_never_overlap_and_runs_due_meanwhile_are_dropped_not_queued(
    clock: FakeClock,
) -> None:
    """Hourly; each cycle lasts until the next hour has come and its run has been dropped."""
    log = ScheduleLog()
    running = threading.Lock()
    cycles: list[datetime] = []

    def cycle(should_stop: Callable[[], bool]) -> str:
        assert running.acquire(blocking=False), "two cycles ran at once"
        cycles.append(datetime.now(UTC))
        skipped_before = log.count(SKIPPED)
        clock.move_to(cycles[-1] + timedelta(hours=1))  # the next run is due while this runs
        dropped = log.wait_for(SKIPPED, skipped_before + 1)
        running.release()
        if len(cycles) == 3 or not dropped:  # (not dropped: the lines below will say so)
            os.kill(os.getpid(), signal.SIGTERM)  # stop the schedule from inside, cleanly
            wait_until(should_stop)  # the handler runs in the main thread
        return f"cycle {len(cycles)}"

    def between_cycles() -> None:
        for finished in range(3):
            wait_until(lambda n=finished: log.count("cycle finished") >= n or log.count(STOPPING))
            if log.count(STOPPING):
                return
            clock.move_to(at(1 + 2 * finished))  # the hour after the dropped run

    hourly = parse_cron("0 * * * *")
    before = signal.getsignal(signal.SIGTERM)
    assert clock.run(hourly, cycle, log, driver=between_cycles) is True

    assert signal.getsignal(signal.SIGTERM) is before  # handlers are given back
    assert cycles == [at(1), at(3), at(5)]
    assert log.timed_as_n() == [
        line(START, f"scheduled: {hourly}; next run {_format(at(1))}"),
        line(at(1), "cycle started"),
        line(at(2), f"run due {_format(at(2))} {SKIPPED}"),
        line(at(2), "cycle finished in N s: cycle 1"),
        line(at(3), "cycle started"),
        line(at(4), f"run due {_format(at(4))} {SKIPPED}"),
        line(at(4), "cycle finished in N s: cycle 2"),
        line(at(5), "cycle started"),
        line(at(6), f"run due {_format(at(6))} {SKIPPED}"),
        line(at(6), "SIGTERM: stopping after the current model"),
        line(at(6), "cycle finished in N s (stopped early on a signal): cycle 3"),
        line(at(6), "scheduler stopped"),
    ]


def test_run_times_missed_while_asleep_are_coalesced_into_one_cycle(clock: FakeClock) -> None:
    """Every ten minutes, and the process asleep from 00:35 to 01:25 (a suspended machine, a
    stopped container): the five runs due meanwhile, each less than an hour late, are one."""
    log = ScheduleLog()
    cycles: list[datetime] = []

    def cycle(should_stop: Callable[[], bool]) -> str:
        cycles.append(datetime.now(UTC))
        if len(cycles) == 1:
            os.kill(os.getpid(), signal.SIGTERM)
            wait_until(should_stop)
        return f"cycle {len(cycles)}"

    every_ten_minutes = parse_cron("*/10 * * * *")
    clock.run(every_ten_minutes, cycle, log, driver=lambda: clock.move_to(at(1, 25)))

    assert cycles == [at(1, 25)], log.lines
    assert log.timed_as_n() == [
        line(START, f"scheduled: {every_ten_minutes}; next run {_format(at(0, 40))}"),
        line(at(1, 25), "cycle started"),
        line(at(1, 25), "SIGTERM: stopping after the current model"),
        line(at(1, 25), "cycle finished in N s (stopped early on a signal): cycle 1"),
        line(at(1, 25), "scheduler stopped"),
    ]


@pytest.mark.parametrize(
    ("late_s", "runs"), [(2 * 3600.0, False), (3600.25, False), (3599.75, True)]
)
def test_a_run_over_an_hour_late_is_missed_not_run(
    clock: FakeClock, late_s: float, runs: bool
) -> None:
    """A run less than an hour late still runs (runs missed meanwhile are coalesced into it);
    an older one is dropped, even one just over the hour, and the line says which due time
    was missed."""
    log = ScheduleLog()
    cycles: list[datetime] = []

    def cycle(should_stop: Callable[[], bool]) -> str:
        cycles.append(datetime.now(UTC))
        return "ran"

    def wake_late_then_stop() -> None:
        clock.move_to(at(1, seconds=late_s))
        log.wait_for("cycle finished" if runs else " missed: ")
        os.kill(os.getpid(), signal.SIGTERM)

    daily = parse_cron("0 1 * * *")
    clock.run(daily, cycle, log, driver=wake_late_then_stop)

    woke = at(1, seconds=late_s)
    what_happened = (
        [line(woke, "cycle started"), line(woke, "cycle finished in N s: ran")]
        if runs
        else [line(woke, f"run due {_format(at(1))} missed: coalesced into the next one")]
    )
    assert cycles == ([woke] if runs else [])
    assert log.timed_as_n() == [
        line(START, f"scheduled: {daily}; next run {_format(at(1))}"),
        *what_happened,
        line(woke, "SIGTERM: stopping after the current model"),
        line(woke, "scheduler stopped"),
    ]


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
    handled: list[int] = []  # each SIGINT once run_schedule's handler has run on it

    def log(text: str) -> None:
        lines.append(text)
        if " scheduled: " in text:  # logged in the main thread, with the handlers in place
            schedules_handler = signal.getsignal(signal.SIGINT)

            def counted(signum: int, frame: object) -> None:
                schedules_handler(signum, frame)  # type: ignore[operator]
                handled.append(signum)

            signal.signal(signal.SIGINT, counted)

    def cycle(should_stop) -> str:  # type: ignore[no-untyped-def]
        for model in ("org/a", "org/b", "org/c", "org/d"):
            if should_stop():
                break
            if model == "org/b":  # a signal while measuring the second model
                os.kill(os.getpid(), signal.SIGINT)
                wait_until(should_stop)  # the handler runs in the main thread
                os.kill(os.getpid(), signal.SIGINT)  # a second one: already stopping
                wait_until(lambda: len(handled) == 2)
            measured.append(model)
        return f"{len(measured)} benchmarked"

    trigger = DueNowThenHourly()
    assert run_schedule(trigger, cycle, log=log) is True
    assert handled == [signal.SIGINT, signal.SIGINT]

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
        wait_until(should_stop)  # the handler runs in the main thread
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

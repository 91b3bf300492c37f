"""Run scan → grade → site on a cron schedule with APScheduler.

Never two cycles at once (`max_instances=1`): a run that comes due while a cycle is still
going is dropped and logged, and runs missed while the process was busy or asleep are
coalesced into one. SIGTERM or SIGINT stops cleanly: the cycle in flight finishes the model
it is measuring, skips the rest, and the scheduler exits. Each cycle logs what it did.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.events import (
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    EVENT_SCHEDULER_START,
    JobEvent,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from labels.errors import LabelerError


class ScheduleError(LabelerError, ValueError):
    """A bad cron expression; the message says why in one line."""


Cycle = Callable[[Callable[[], bool]], str]


def parse_cron(expression: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(expression, timezone=UTC)
    except (ValueError, TypeError) as exc:
        raise ScheduleError(f"invalid cron expression {expression!r}: {exc}") from None


def run_schedule(
    trigger: BaseTrigger,
    cycle: Cycle,
    *,
    once: bool = False,
    log: Callable[[str], None] = print,
    scheduler: BlockingScheduler | None = None,
) -> bool:
    """Run `cycle` at each time `trigger` fires until SIGTERM or SIGINT (or once, with `once`).

    `cycle` gets a `should_stop()` to check between models and returns a one-line summary.
    Any APScheduler trigger works; the CLI passes a cron trigger. `scheduler` (one not
    started yet) is made here unless given: the tests pass their own, to wake it after they
    move their fake clock. Returns False only when `once` ran a cycle that failed.
    """
    stop = threading.Event()

    def run_cycle() -> bool:
        started = time.monotonic()
        log(f"{_now()} cycle started")
        try:
            summary = cycle(stop.is_set)
        except Exception as exc:  # a failing cycle must not kill the schedule
            log(f"{_now()} cycle failed after {time.monotonic() - started:.1f} s: {exc}")
            return False
        stopped = " (stopped early on a signal)" if stop.is_set() else ""
        log(f"{_now()} cycle finished in {time.monotonic() - started:.1f} s{stopped}: {summary}")
        return True

    if once:
        return run_cycle()

    if scheduler is None:
        scheduler = BlockingScheduler(timezone=UTC)
    scheduler.add_job(
        run_cycle,
        trigger,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )

    def on_skipped(event: JobEvent) -> None:
        # A dropped submission (EVENT_JOB_MAX_INSTANCES) carries its due times as a list,
        # coalesced into one (the latest); a missed run (EVENT_JOB_MISSED) its one due time.
        if isinstance(event, JobSubmissionEvent):
            due = _format(event.scheduled_run_times[-1])
            log(f"{_now()} run due {due} skipped: the previous cycle is still running")
        elif isinstance(event, JobExecutionEvent):
            due = _format(event.scheduled_run_time)
            log(f"{_now()} run due {due} missed: coalesced into the next one")

    scheduler.add_listener(on_skipped, EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)

    # shutdown() waits for the cycle in flight (wait=True, its default), so it cannot run in
    # the signal handler, which interrupts the main thread, maybe inside the scheduler's locks.
    stopper = threading.Thread(target=scheduler.shutdown)

    def on_signal(signum: int, _frame: object) -> None:
        if stop.is_set():
            return
        log(f"{_now()} {signal.Signals(signum).name}: stopping after the current model")
        stop.set()
        if scheduler.running:  # else on_started stops it as soon as it runs
            stopper.start()

    def on_started(_event: object) -> None:
        # Dispatched in the main thread once start() has set the scheduler running.
        if stop.is_set() and stopper.ident is None:
            stopper.start()

    scheduler.add_listener(on_started, EVENT_SCHEDULER_START)
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        next_run = trigger.get_next_fire_time(None, datetime.now(UTC))
        log(f"{_now()} scheduled: {trigger}; next run {_format(next_run) or 'never'}")
        scheduler.start()
        # start() returns once shutdown() has marked the scheduler stopped, which can be
        # before shutdown() has waited for the cycle in flight: wait for that too.
        stopper.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log(f"{_now()} scheduler stopped")
    return True


def _format(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def _now() -> str:
    return _format(datetime.now(UTC))

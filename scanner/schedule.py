"""Run scan → grade → site on a cron schedule with APScheduler.

Never two cycles at once (`max_instances=1`), a missed run is coalesced into one, and
SIGTERM or SIGINT stops cleanly: the cycle in flight finishes the model it is measuring,
skips the rest, and the scheduler exits. Each cycle logs one line saying what it did.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger


class ScheduleError(ValueError):
    """A bad cron expression; the message says why in one line."""


Cycle = Callable[[Callable[[], bool]], str]


def parse_cron(expression: str) -> CronTrigger:
    try:
        return CronTrigger.from_crontab(expression, timezone=UTC)
    except (ValueError, TypeError) as exc:
        raise ScheduleError(f"invalid cron expression {expression!r}: {exc}") from None


def run_schedule(
    trigger: CronTrigger,
    cycle: Cycle,
    *,
    once: bool = False,
    log: Callable[[str], None] = print,
) -> None:
    stop = threading.Event()

    def run_cycle() -> None:
        started = time.monotonic()
        log(f"{_now()} cycle started")
        try:
            summary = cycle(stop.is_set)
        except Exception as exc:  # a failing cycle must not kill the schedule
            log(f"{_now()} cycle failed after {time.monotonic() - started:.0f} s: {exc}")
            return
        log(f"{_now()} cycle finished in {time.monotonic() - started:.0f} s: {summary}")

    if once:
        run_cycle()
        return

    scheduler = BlockingScheduler(timezone=UTC)
    scheduler.add_job(
        run_cycle,
        trigger,
        id="scan-grade-site",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )

    def on_signal(signum: int, _frame: object) -> None:
        log(f"{_now()} {signal.Signals(signum).name}: stopping after the current model")
        stop.set()
        threading.Thread(target=scheduler.shutdown, kwargs={"wait": True}, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    job = scheduler.get_job("scan-grade-site")
    log(f"{_now()} scheduled: {trigger}; next run {job.next_run_time if job else 'pending'}")
    scheduler.start()
    log(f"{_now()} scheduler stopped")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

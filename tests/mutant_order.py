"""The order of a mutant's tests under `make mutants`: cheapest first, by what each test
costs in all (its fixtures' setup and teardown as well as its call).

mutmut stops a mutant's run at the first failing test (`-x`), so the order decides how long a
caught mutant takes. mutmut 3.8's fork server (`process_isolation = "forkserver"`) hands the
tests over as a set, so they ran in the set's order, which changes with every process's
string hashing: a scheme mutant that the third test of 60 would catch (0.15 s) could first
run the tests that fill a catalog (5-6 s). Its other runner sorts by the duration of each
test's *call* only, which would put a test with a 0.6 s fixture and a 1 ms call first.

So the stats run (`MUTANT_UNDER_TEST=stats`, once per `mutmut run`, in mutmut's working
directory `mutants/`) writes each test's whole cost to `TEST_SECONDS_FILE` there, and each
mutant's run sorts its tests by it (tests/conftest.py calls these functions). A plain pytest
run does neither.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

# in mutmut's working directory (`mutants/`), beside its own mutmut-stats.json
TEST_SECONDS_FILE = Path("mutmut-test-seconds.json")

_MUTANT_NAME = re.compile(r"__mutmut_\d+$")


def collecting_stats() -> bool:
    """This process is mutmut's stats run, which finds the tests that cover each function."""
    return os.environ.get("MUTANT_UNDER_TEST") == "stats"


def running_a_mutant() -> bool:
    """This process runs one mutant's tests."""
    return bool(_MUTANT_NAME.search(os.environ.get("MUTANT_UNDER_TEST", "")))


def add_report(seconds_by_test: dict[str, float], report: pytest.TestReport) -> None:
    """Add one phase (setup, call or teardown) of one test to its seconds."""
    seconds_by_test[report.nodeid] = seconds_by_test.get(report.nodeid, 0.0) + report.duration


def save(seconds_by_test: dict[str, float], path: Path = TEST_SECONDS_FILE) -> None:
    """Merge into the file: a later stats run may cover only the tests that are new."""
    known = read(path)
    known.update({test: round(seconds, 4) for test, seconds in seconds_by_test.items()})
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(known, indent=0, sort_keys=True), encoding="utf-8")
    temporary.replace(path)


def read(path: Path = TEST_SECONDS_FILE) -> dict[str, float]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


class StatsRecorder:
    """Each test's seconds in mutmut's stats run, setup and teardown included. Whether this is
    that run is decided when the session starts: a test may set MUTANT_UNDER_TEST itself."""

    def __init__(self) -> None:
        self.active = False
        self.seconds_by_test: dict[str, float] = {}

    def start(self) -> None:
        self.active = collecting_stats()
        self.seconds_by_test.clear()

    def add(self, report: pytest.TestReport) -> None:
        if self.active:
            add_report(self.seconds_by_test, report)

    def finish(self, path: Path = TEST_SECONDS_FILE) -> None:
        if self.active and self.seconds_by_test:
            save(self.seconds_by_test, path)
        self.active = False


def cheapest_first(items: list[pytest.Item], seconds_by_test: dict[str, float]) -> None:
    """Sort in place by each test's recorded seconds; a test with none (new since the stats
    run) goes last, and ties go by name, so every run of a mutant has one order."""
    unknown = max(seconds_by_test.values(), default=0.0) + 1.0
    items.sort(key=lambda item: (seconds_by_test.get(item.nodeid, unknown), item.nodeid))

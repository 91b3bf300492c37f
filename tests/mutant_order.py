"""The order of a mutant's tests under `make mutants`: cheapest first, by what each test
costs with its fixtures, and a module's shared fixtures paid only when a run enters it.

mutmut stops a mutant's run at the first failing test (`-x`), so the order decides how long a
caught mutant takes. mutmut 3.8's fork server (`process_isolation = "forkserver"`) hands the
tests over as a set, so they ran in the set's order, which changes with every process's
string hashing: a scheme mutant that the third test of 60 would catch (0.15 s) could first
run the tests that fill a catalog (5-6 s). Its other runner sorts by the duration of each
test's *call* only, which would put a test with a 0.6 s fixture and a 1 ms call first.

So the stats run (`MUTANT_UNDER_TEST=stats`, once per `mutmut run`, in mutmut's working
directory `mutants/`) writes to `TEST_SECONDS_FILE` there:

- each test's own seconds: its setup, call and teardown, less the module- and session-scoped
  fixtures its setup happened to build (in the stats run, the first test of a module builds
  them for all the others);
- each module's seconds of module- and class-scoped fixtures, which pytest builds again
  whenever a run comes back to the module from another one.

Each mutant's run then orders its tests greedily: next comes the test whose own seconds, plus
its module's if the run is not in that module already, are the fewest. Session fixtures are
built once whatever the order, so they count for nobody. tests/conftest.py calls these
functions; a plain pytest run does neither.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import pytest

# in mutmut's working directory (`mutants/`), beside its own mutmut-stats.json
TEST_SECONDS_FILE = Path("mutmut-test-seconds.json")

# fixtures pytest builds again each time a run enters their module (or class) anew
MODULE_SCOPES = ("module", "class")

_MUTANT_NAME = re.compile(r"__mutmut_\d+$")


class HasNodeId(Protocol):
    nodeid: str


def collecting_stats() -> bool:
    """This process is mutmut's stats run, which finds the tests that cover each function."""
    return os.environ.get("MUTANT_UNDER_TEST") == "stats"


def running_a_mutant() -> bool:
    """This process runs one mutant's tests."""
    return bool(_MUTANT_NAME.search(os.environ.get("MUTANT_UNDER_TEST", "")))


def module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


@dataclass
class MeasuredCosts:
    """What the stats run measured (see the module's docstring)."""

    own_s: dict[str, float] = field(default_factory=dict)  # by test node id
    module_s: dict[str, float] = field(default_factory=dict)  # by test file

    def merge(self, newer: MeasuredCosts) -> None:
        self.own_s.update(newer.own_s)
        self.module_s.update(newer.module_s)


def save(costs: MeasuredCosts, path: Path = TEST_SECONDS_FILE) -> None:
    """Merge into the file: a later stats run may cover only the tests that are new."""
    known = read(path)
    known.merge(costs)
    document = {
        "own_s": {test: round(s, 4) for test, s in sorted(known.own_s.items())},
        "module_s": {module: round(s, 4) for module, s in sorted(known.module_s.items())},
    }
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=0), encoding="utf-8")
    temporary.replace(path)


def read(path: Path = TEST_SECONDS_FILE) -> MeasuredCosts:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return MeasuredCosts()
    return MeasuredCosts(own_s=document["own_s"], module_s=document["module_s"])


class StatsRecorder:
    """Records `MeasuredCosts` in mutmut's stats run. Whether this is that run is decided when the
    session starts: a test may set MUTANT_UNDER_TEST itself."""

    def __init__(self) -> None:
        self.active = False
        self.costs = MeasuredCosts()
        self._test: str | None = None  # the test being run
        self._shared_s: dict[str, float] = {}  # module and session fixtures in its setup

    def start(self) -> None:
        self.active = collecting_stats()
        self.costs = MeasuredCosts()

    def begin(self, nodeid: str) -> None:
        self._test = nodeid

    def fixture_built(self, scope: str, seconds: float) -> None:
        """A fixture of `scope` took `seconds` to build in the current test's setup."""
        if not self.active or self._test is None or scope == "function":
            return
        self._shared_s[self._test] = self._shared_s.get(self._test, 0.0) + seconds
        if scope in MODULE_SCOPES:
            module = module_of(self._test)
            self.costs.module_s[module] = self.costs.module_s.get(module, 0.0) + seconds

    def add(self, report: pytest.TestReport) -> None:
        """Add one phase (setup, call or teardown) of one test to its own seconds."""
        if not self.active:
            return
        seconds = report.duration
        if report.when == "setup":
            seconds = max(0.0, seconds - self._shared_s.pop(report.nodeid, 0.0))
        self.costs.own_s[report.nodeid] = self.costs.own_s.get(report.nodeid, 0.0) + seconds

    def finish(self, path: Path = TEST_SECONDS_FILE) -> None:
        if self.active and self.costs.own_s:
            save(self.costs, path)
        self.active = False


def cheapest_first(items: list[pytest.Item], costs: MeasuredCosts) -> None:
    """Order `items` in place (see the module's docstring). A test with no figure (new since
    the stats run) counts as dearer than any other; ties go by name, so every run of a mutant
    has one order."""
    items[:] = _greedy(items, costs)


def _greedy(items: Sequence[HasNodeId], costs: MeasuredCosts) -> list[HasNodeId]:
    unknown = max(costs.own_s.values(), default=0.0) + 1.0

    def own(item: HasNodeId) -> tuple[float, str]:
        return (costs.own_s.get(item.nodeid, unknown), item.nodeid)

    by_module: dict[str, list[HasNodeId]] = {}
    for item in sorted(items, key=own, reverse=True):  # the cheapest last: popped first
        by_module.setdefault(module_of(item.nodeid), []).append(item)

    def next_cost(module: str, current: str | None) -> tuple[float, str]:
        seconds, name = own(by_module[module][-1])
        entering = 0.0 if module == current else costs.module_s.get(module, 0.0)
        return (seconds + entering, name)

    ordered: list[HasNodeId] = []
    current: str | None = None
    while by_module:
        current = min(by_module, key=lambda module, now=current: next_cost(module, now))
        ordered.append(by_module[current].pop())
        if not by_module[current]:
            del by_module[current]
    return ordered

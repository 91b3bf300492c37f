"""The order of a mutant's tests under `make mutants` (tests/mutant_order.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import mutant_order
from tests.mutant_order import MeasuredCosts


def _items(*names: str) -> list[SimpleNamespace]:
    return [SimpleNamespace(nodeid=name) for name in names]


def _order(costs: MeasuredCosts, *names: str) -> list[str]:
    items = _items(*names)
    mutant_order.cheapest_first(items, costs)  # type: ignore[arg-type]
    return [item.nodeid for item in items]


def test_cheapest_first_puts_tests_with_no_figure_last_and_breaks_ties_by_name() -> None:
    costs = MeasuredCosts(own_s={"a.py::slow": 0.6, "a.py::y": 0.001, "b.py::x": 0.001})

    order = _order(costs, "a.py::new", "a.py::slow", "a.py::y", "b.py::x")

    assert order == ["a.py::y", "b.py::x", "a.py::slow", "a.py::new"]


def test_a_modules_shared_fixtures_are_paid_on_entering_it_so_its_tests_stay_together() -> None:
    """Module `b.py` costs 0.5 s to enter: once in it, its cheap tests come before the other
    module's dearer ones rather than leave and pay again; a cheap enough test elsewhere still
    comes first."""
    costs = MeasuredCosts(
        own_s={"a.py::t1": 0.01, "a.py::t2": 0.2, "b.py::u1": 0.001, "b.py::u2": 0.05},
        module_s={"b.py": 0.5},
    )

    order = _order(costs, "b.py::u2", "a.py::t2", "b.py::u1", "a.py::t1")

    assert order == ["a.py::t1", "a.py::t2", "b.py::u1", "b.py::u2"]
    # without the module's cost the cheapest test of all would come first
    assert _order(MeasuredCosts(own_s=costs.own_s), "a.py::t1", "b.py::u1")[0] == "b.py::u1"


def test_within_a_module_a_cheap_test_elsewhere_is_worth_leaving_for() -> None:
    costs = MeasuredCosts(
        own_s={"a.py::t1": 0.01, "a.py::t2": 2.0, "b.py::u1": 0.02}, module_s={"b.py": 0.1}
    )

    assert _order(costs, "a.py::t2", "b.py::u1", "a.py::t1") == ["a.py::t1", "b.py::u1", "a.py::t2"]


def _report(nodeid: str, when: str, duration: float) -> SimpleNamespace:
    return SimpleNamespace(nodeid=nodeid, when=when, duration=duration)


def test_a_test_is_charged_its_own_fixtures_and_its_module_the_shared_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MUTANT_UNDER_TEST", "stats")
    recorder = mutant_order.StatsRecorder()
    recorder.start()
    recorder.begin("m.py::first")
    recorder.fixture_built("session", 1.0)  # built once a run, whatever the order
    recorder.fixture_built("module", 0.5)
    recorder.fixture_built("function", 0.1)
    for when, duration in (("setup", 1.6), ("call", 0.001), ("teardown", 0.05)):
        recorder.add(_report("m.py::first", when, duration))  # type: ignore[arg-type]
    recorder.begin("m.py::second")
    recorder.fixture_built("function", 0.1)
    recorder.add(_report("m.py::second", "setup", 0.1))  # type: ignore[arg-type]

    assert recorder.costs.own_s == {
        "m.py::first": pytest.approx(0.151),
        "m.py::second": pytest.approx(0.1),
    }
    assert recorder.costs.module_s == {"m.py": pytest.approx(0.5)}


def test_saving_merges_with_what_an_earlier_stats_run_wrote(tmp_path: Path) -> None:
    path = tmp_path / mutant_order.TEST_SECONDS_FILE.name
    assert mutant_order.read(path) == MeasuredCosts()

    mutant_order.save(MeasuredCosts({"t::a": 0.5, "t::b": 0.25}, {"t": 0.5}), path)
    mutant_order.save(MeasuredCosts({"t::b": 0.125, "u::new": 1.0}, {"u": 0.25}), path)

    assert mutant_order.read(path) == MeasuredCosts(
        own_s={"t::a": 0.5, "t::b": 0.125, "u::new": 1.0}, module_s={"t": 0.5, "u": 0.25}
    )
    assert not path.with_name(path.name + ".tmp").exists()


@pytest.mark.parametrize(
    ("under_test", "stats", "mutant"),
    [
        (None, False, False),
        ("stats", True, False),
        ("fail", False, False),
        ("", False, False),
        ("labels.eei.x_published_grade__mutmut_12", False, True),
        ("labels.scheme.xǁSchemeǁgrade_for_eei__mutmut_3", False, True),
    ],
)
def test_which_run_this_is_comes_from_mutmuts_variable(
    monkeypatch: pytest.MonkeyPatch, under_test: str | None, stats: bool, mutant: bool
) -> None:
    if under_test is None:
        monkeypatch.delenv("MUTANT_UNDER_TEST", raising=False)
    else:
        monkeypatch.setenv("MUTANT_UNDER_TEST", under_test)

    assert mutant_order.collecting_stats() is stats
    assert mutant_order.running_a_mutant() is mutant


def test_only_a_session_that_starts_as_the_stats_run_records(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A test that sets MUTANT_UNDER_TEST=stats itself (as the ones above do) must not make
    a plain run write the file."""
    path = tmp_path / mutant_order.TEST_SECONDS_FILE.name
    report = _report("t::a", "call", 0.25)
    recorder = mutant_order.StatsRecorder()
    monkeypatch.delenv("MUTANT_UNDER_TEST", raising=False)
    recorder.start()
    monkeypatch.setenv("MUTANT_UNDER_TEST", "stats")
    recorder.add(report)  # type: ignore[arg-type]
    recorder.finish(path)
    assert not path.exists()

    recorder.start()  # mutmut's stats run: the variable is set before the session starts
    recorder.add(report)  # type: ignore[arg-type]
    recorder.finish(path)
    assert mutant_order.read(path) == MeasuredCosts(own_s={"t::a": 0.25})

"""The order of a mutant's tests under `make mutants` (tests/mutant_order.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import mutant_order


def _items(*names: str) -> list[SimpleNamespace]:
    return [SimpleNamespace(nodeid=name) for name in names]


def test_cheapest_first_puts_tests_with_no_figure_last_and_breaks_ties_by_name() -> None:
    items = _items("t::new", "t::slow", "t::b", "t::a")
    seconds = {"t::slow": 0.6, "t::a": 0.001, "t::b": 0.001}

    mutant_order.cheapest_first(items, seconds)  # type: ignore[arg-type]

    assert [item.nodeid for item in items] == ["t::a", "t::b", "t::slow", "t::new"]


def test_a_test_is_charged_for_its_fixtures_too() -> None:
    seconds: dict[str, float] = {}
    for when, duration in (("setup", 0.6), ("call", 0.001), ("teardown", 0.05)):
        report = SimpleNamespace(nodeid="t::fixture_heavy", when=when, duration=duration)
        mutant_order.add_report(seconds, report)  # type: ignore[arg-type]

    assert seconds == {"t::fixture_heavy": pytest.approx(0.651)}


def test_saving_merges_with_what_an_earlier_stats_run_wrote(tmp_path: Path) -> None:
    path = tmp_path / mutant_order.TEST_SECONDS_FILE.name
    assert mutant_order.read(path) == {}

    mutant_order.save({"t::a": 0.5, "t::b": 0.25}, path)
    mutant_order.save({"t::b": 0.125, "t::new": 1.0}, path)  # a later run's new tests

    assert mutant_order.read(path) == {"t::a": 0.5, "t::b": 0.125, "t::new": 1.0}
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
    """A test that sets MUTANT_UNDER_TEST=stats itself (as the one above does) must not make
    a plain run write the file."""
    path = tmp_path / mutant_order.TEST_SECONDS_FILE.name
    report = SimpleNamespace(nodeid="t::a", when="call", duration=0.25)
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
    assert mutant_order.read(path) == {"t::a": 0.25}

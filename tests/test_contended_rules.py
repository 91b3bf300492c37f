"""The rules issue 23 added, at their edges: when a window is busy and measured again, how
long warm-up lasts, what a contended run's label says, and how the re-grading rule treats
measurements that were contended or that have extreme intervals. Unit tests on recorded
windows and written history, cheap enough for `make mutants` to run per mutant."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from labeler.grading import _apply_regrading_rule, grade_runs
from labels import Catalog
from labels.busy_host import busy_reason
from labels.scheme import load_scheme
from scanner.benchmark import _window_record
from scanner.harness import Protocol, Window, _agree, _Retries, run_windows, warm_until_steady
from scanner.meters.fake import FakeMeter
from scanner.meters.foreign_load import DEVICE_WIDE, PER_PROCESS, ForeignLoad
from tests.test_scheme_v2 import T0, baseline_run


def _window(foreign: ForeignLoad) -> Window:
    return Window(2.0, 10, 80, 10.0, 1.0, 12.5, foreign=foreign)


# -- the protocol's bounds --


def test_no_retries_is_a_valid_protocol_and_a_negative_count_is_refused() -> None:
    assert Protocol(busy_retries=0).busy_retries == 0
    with pytest.raises(ValueError) as refused:
        Protocol(busy_retries=-1)
    assert str(refused.value) == "busy_retries must be >= 0 and warmup_rounds >= 1"
    with pytest.raises(ValueError) as no_rounds:
        Protocol(warmup_rounds=0)  # busy_retries keeps its default, 3
    assert str(no_rounds.value) == "busy_retries must be >= 0 and warmup_rounds >= 1"


# -- busy windows: the GPU threshold, the budget and its back-off --


def test_a_busy_gpu_window_is_measured_again_by_its_own_threshold() -> None:
    waits: list[float] = []
    retries = _Retries(Protocol(busy_gpu_util_pct=5.0, busy_backoff_s=1.5), waits.append)
    others_busy = ForeignLoad(cpu_share=0.0, gpu_method=PER_PROCESS, gpu_util_pct=12.0)
    others_light = ForeignLoad(cpu_share=0.0, gpu_method=PER_PROCESS, gpu_util_pct=4.0)
    assert retries.again([_window(others_light)]) is False
    assert retries.again([_window(others_busy)]) is True
    assert retries.again([_window(others_busy)]) is True
    assert waits == [1.5, 3.0] and retries.used == 2 and retries.busy_kept == 0
    # without per-process figures, any other process on the device makes it busy
    seen = ForeignLoad(cpu_share=0.0, gpu_method=DEVICE_WIDE, gpu_processes=1)
    assert _Retries(Protocol(), waits.append).again([_window(seen)]) is True


def test_run_windows_reports_its_warm_up_rounds_and_the_busy_windows_it_kept() -> None:
    loads = iter([0.5, 0.5, 0.0, 0.5])  # share of the CPUs others took, window by window

    class Probe:
        def start(self) -> None:
            pass

        def stop(self) -> ForeignLoad:
            return ForeignLoad(cpu_cores=1.0, cpu_share=next(loads))

    ticks = iter(range(10_000))
    protocol = Protocol(
        warmup_s=0.0,
        warmup_iterations=1,
        warmup_rounds=3,
        window_s=0.0,
        window_iterations=1,
        windows=2,
        busy_retries=1,
        busy_backoff_s=0.0,
    )
    measurement = run_windows(
        lambda: None,
        FakeMeter(power_w=10.0, clock=lambda: float(next(ticks))),
        inferences_per_call=1,
        protocol=protocol,
        idle_power_w=0.0,
        clock=lambda: float(next(ticks)),
        probe=Probe(),
        sleep=lambda _s: None,
    )
    # window 1: busy, measured again (the one retry), busy again and kept; window 2: clean
    assert measurement.remeasured == 1 and measurement.busy_kept == 1
    assert len(measurement.windows) == 2
    # a call that takes one tick every time: two warm-up rounds agree at once
    assert measurement.warmup_rounds == 2


# -- warm-up --


def test_a_warm_up_by_time_alone_still_runs_and_none_at_all_runs_nothing() -> None:
    calls: list[int] = []
    ticks = iter(range(10_000))
    by_time = Protocol(warmup_s=0.5, warmup_iterations=0, warmup_rounds=4)
    rounds = warm_until_steady(
        [(lambda: calls.append(1), by_time)], lambda: None, lambda: float(next(ticks))
    )
    assert rounds == 2 and calls  # steady calls agree after two rounds
    off = Protocol(warmup_s=0.0, warmup_iterations=0)
    assert warm_until_steady([(lambda: calls.append(1), off)], lambda: None) == 0


def test_two_warm_up_windows_agree_within_the_tolerance_exactly() -> None:
    assert _agree(100.0, 95.0, 0.05)  # 5 % apart: at the tolerance, agreed
    assert not _agree(100.0, 94.0, 0.05)
    assert _agree(10.0, 10.4, 0.05)  # relative to the larger, not scaled by it
    assert not _agree(0.5, 0.2, 0.05)  # seconds per call below one still compare
    assert _agree(0.0, 0.0, 0.05)


# -- what a window record keeps --


def test_a_window_record_keeps_the_foreign_load_of_its_window() -> None:
    foreign = ForeignLoad(cpu_cores=0.4, cpu_share=0.2, gpu_processes=2, gpu_util_pct=7.5)
    record = _window_record("run-1", 0, _window(foreign), "estimate")
    assert (
        record.foreign_cpu_cores,
        record.foreign_cpu_share,
        record.foreign_gpu_processes,
        record.foreign_gpu_util_pct,
    ) == (0.4, 0.2, 2, 7.5)


# -- a contended run's label --


def test_a_contended_run_without_a_reason_says_how_busy_from_its_figures() -> None:
    v2 = load_scheme("v2")
    run = baseline_run(
        [0.3] * 5, contended=True, reason=None, foreign_cpu_cores=0.47, foreign_gpu_processes=2
    )
    label = grade_runs([run], v2)
    assert label.grade is None
    assert (
        label.reason
        == busy_reason(0.47, 2)
        == (
            "the host was busy: 47 % of a core went to other processes; "
            "2 other processes computed on the GPU"
        )
    )
    given = grade_runs([dataclasses.replace(run, reason="the host was busy: as recorded")], v2)
    assert given.reason == "the host was busy: as recorded"


# -- the re-grading rule around contended and extreme measurements --


def test_an_ungraded_label_for_another_reason_is_not_given_the_earlier_grade(
    fresh_catalog: Catalog,
) -> None:
    v2 = load_scheme("v2")
    fresh_catalog.write_labels([grade_runs([baseline_run([0.3, 0.32, 0.35], at=T0)], v2)])
    later = T0 + timedelta(days=1)
    unpaired = grade_runs([baseline_run(None, at=later, scheme_version="v1")], v2)
    assert unpaired.grade is None and not unpaired.reason.startswith("the host was busy")
    assert _apply_regrading_rule(fresh_catalog, unpaired, v2) == unpaired


def test_a_contended_label_keeps_the_earlier_clean_grade(fresh_catalog: Catalog) -> None:
    v2 = load_scheme("v2")
    fresh_catalog.write_labels([grade_runs([baseline_run([0.3, 0.32, 0.35], at=T0)], v2)])
    later = T0 + timedelta(days=1)
    busy = grade_runs([baseline_run([0.9] * 5, at=later, contended=True, reason=None)], v2)
    assert busy.grade is None
    kept = _apply_regrading_rule(fresh_catalog, busy, v2)
    assert (kept.grade, kept.contended, kept.grade_changed_at) == ("C", False, T0)


@pytest.mark.parametrize(
    ("low", "high", "previous", "measured", "published"),
    [
        # an interval from zero still touching D keeps D (its low end is 0, not missing)
        (0.0, 0.6, "D", "C", "D"),
        # an interval of zero energy lies wholly below B: A is published
        (0.0, 0.0, "B", "A", "A"),
    ],
)
def test_the_rule_reads_an_interval_end_of_zero_as_zero(
    fresh_catalog: Catalog, low: float, high: float, previous: str, measured: str, published: str
) -> None:
    v2 = load_scheme("v2")
    first = grade_runs([baseline_run([0.3, 0.32, 0.35], at=T0)], v2)
    fresh_catalog.write_labels([dataclasses.replace(first, grade=previous)])
    later = T0 + timedelta(days=1)
    label = dataclasses.replace(
        grade_runs([baseline_run([0.3] * 5, at=later)], v2),
        grade=measured,
        measured_grade=measured,
        eei_low=low,
        eei_high=high,
    )
    assert _apply_regrading_rule(fresh_catalog, label, v2).grade == published


def test_a_measurement_summarises_the_foreign_load_of_the_windows_that_measured_it() -> None:
    from scanner.harness import Measurement

    loads = [
        ForeignLoad(cpu_cores=0.2, cpu_share=0.1, gpu_processes=1, gpu_util_pct=3.0),
        ForeignLoad(cpu_cores=None, cpu_share=None),  # not measured: left out, not zero
        ForeignLoad(cpu_cores=0.6, cpu_share=0.3, gpu_processes=3, gpu_util_pct=9.0),
    ]
    measurement = Measurement([_window(f) for f in loads], idle_power_w=0.0)
    assert measurement.foreign_cpu_cores == pytest.approx(0.4)
    assert measurement.foreign_cpu_share == pytest.approx(0.2)
    assert measurement.foreign_cpu_share_max == pytest.approx(0.3)
    assert measurement.foreign_gpu_processes == 3
    assert measurement.foreign_gpu_util_pct == pytest.approx(6.0)
    unmeasured = Measurement([_window(ForeignLoad())], idle_power_w=0.0)
    assert unmeasured.foreign_cpu_cores is None and unmeasured.foreign_cpu_share_max is None

"""The measurement protocol on a fake clock: no test here depends on how fast the machine is."""

from __future__ import annotations

import statistics

import pytest

from scanner.harness import (
    J_PER_WH,
    Measurement,
    PairedMeasurement,
    Protocol,
    Window,
    coefficient_of_variation,
    energy_ratios,
    measure_idle_power_w,
    percentile,
    repeat_until,
    run_paired_windows,
    run_windows,
)
from scanner.meters.fake import FakeMeter


class SteppingClock:
    """Time moves only when the measured call runs: each call takes `step_s`."""

    def __init__(self, step_s: float) -> None:
        self.now_s = 0.0
        self.step_s = step_s
        self.calls = 0

    def __call__(self) -> float:
        return self.now_s

    def work(self) -> None:
        self.calls += 1
        self.now_s += self.step_s


def window(energy_j: float, *, duration_s: float = 1.0, inferences: int = 10, idle_j: float = 0.0):
    return Window(
        duration_s=duration_s,
        iterations=inferences,
        inferences=inferences,
        energy_j=energy_j,
        idle_energy_j=idle_j,
        latency_ms_p50=1.0,
    )


def test_window_runs_until_duration_when_calls_are_fast() -> None:
    clock = SteppingClock(0.125)  # exact in binary, so the sum reaches 1 s exactly
    latencies = repeat_until(clock.work, lambda: None, 1.0, 3, clock)
    assert len(latencies) == 8  # the 1 s minimum, not the 3-call minimum, ends the window
    assert latencies == pytest.approx([125.0] * 8)


def test_window_runs_until_count_when_calls_are_slow() -> None:
    clock = SteppingClock(2.0)
    latencies = repeat_until(clock.work, lambda: None, 1.0, 3, clock)
    assert len(latencies) == 3  # one call already passes 1 s; the count minimum holds
    assert clock.now_s == pytest.approx(6.0)


def test_zero_warmup_runs_nothing() -> None:
    clock = SteppingClock(0.1)
    assert repeat_until(clock.work, lambda: None, 0.0, 0, clock) == []
    assert clock.calls == 0


def test_sync_runs_after_every_call() -> None:
    clock = SteppingClock(0.5)
    synced: list[int] = []
    repeat_until(clock.work, lambda: synced.append(clock.calls), 1.0, 1, clock)
    assert synced == [1, 2]


def test_run_windows_keeps_every_window_and_warms_up_first() -> None:
    clock = SteppingClock(0.25)
    meter = FakeMeter(power_w=40.0, idle_w=10.0, clock=clock)
    protocol = Protocol(
        warmup_s=0.5, warmup_iterations=1, window_s=1.0, window_iterations=2, windows=4
    )
    seen: list[int] = []
    measurement = run_windows(
        clock.work,
        meter,
        inferences_per_call=8,
        protocol=protocol,
        idle_power_w=10.0,
        on_window=seen.append,
        clock=clock,
    )
    assert seen == [0, 1, 2, 3]
    assert meter.windows == 4
    assert len(measurement.windows) == 4
    # two warm-up windows of 0.5 s (they agree, so no third), then four windows of 1 s
    assert clock.calls == 2 * 2 + 4 * 4
    for w in measurement.windows:
        assert w.iterations == 4
        assert w.inferences == 32
        assert w.duration_s == pytest.approx(1.0)
        assert w.energy_j == pytest.approx(40.0)
        assert w.idle_energy_j == pytest.approx(10.0)
        assert w.energy_j_net == pytest.approx(30.0)
        assert w.power_w == pytest.approx(40.0)
    assert measurement.measured_s == pytest.approx(4.0)
    assert measurement.energy_wh_per_1k == pytest.approx(40.0 / J_PER_WH / 32 * 1000)
    assert measurement.energy_wh_per_1k_net == pytest.approx(30.0 / J_PER_WH / 32 * 1000)
    assert measurement.energy_cv == 0.0
    assert not measurement.noisy
    assert measurement.latency_ms_p50 == pytest.approx(250.0)


def test_run_windows_rejects_zero_inferences() -> None:
    clock = SteppingClock(0.1)
    with pytest.raises(ValueError, match="^inferences_per_call must be positive$"):
        run_windows(
            clock.work,
            FakeMeter(1.0, clock=clock),
            inferences_per_call=0,
            protocol=Protocol(),
            idle_power_w=0.0,
            clock=clock,
        )


def test_median_spread_and_cv_of_given_windows() -> None:
    energies = [10.0, 12.0, 11.0, 30.0, 9.0]
    measurement = Measurement([window(e) for e in energies], idle_power_w=0.0, noisy_cv=0.10)
    per_1k = [e / J_PER_WH / 10 * 1000 for e in energies]
    assert measurement.energy_wh_per_1k == pytest.approx(statistics.median(per_1k))
    assert measurement.energy_wh_per_1k_min == pytest.approx(min(per_1k))
    assert measurement.energy_wh_per_1k_max == pytest.approx(max(per_1k))
    assert measurement.energy_spread_wh_per_1k == pytest.approx(max(per_1k) - min(per_1k))
    expected_cv = statistics.stdev(per_1k) / statistics.mean(per_1k)
    assert measurement.energy_cv == pytest.approx(expected_cv)
    assert measurement.noisy  # the 30 J outlier: kept, and flagged rather than hidden


def test_noisy_threshold_is_exclusive() -> None:
    windows = [window(9.0), window(11.0)]
    cv = coefficient_of_variation([w.energy_wh_per_1k for w in windows])
    assert Measurement(windows, 0.0, noisy_cv=cv + 1e-9).noisy is False
    assert Measurement(windows, 0.0, noisy_cv=cv - 1e-9).noisy is True


def test_idle_subtraction_keeps_gross_and_never_goes_negative() -> None:
    busy = window(50.0, idle_j=20.0)
    light = window(5.0, idle_j=20.0)  # idle read above this window's gross energy
    assert busy.energy_wh_per_1k == pytest.approx(50.0 / J_PER_WH * 100)
    assert busy.energy_wh_per_1k_net == pytest.approx(30.0 / J_PER_WH * 100)
    assert light.energy_j_net == 0.0
    assert light.energy_wh_per_1k_net == 0.0
    assert light.energy_wh_per_1k > 0


def test_idle_power_is_measured_only_when_asked_and_never_negative() -> None:
    assert measure_idle_power_w(FakeMeter(1.0, idle_w=7.0), 1.0) == 7.0
    assert measure_idle_power_w(FakeMeter(1.0, idle_w=7.0), 0.0) == 0.0
    assert measure_idle_power_w(FakeMeter(1.0, idle_w=-3.0), 1.0) == 0.0


def test_idle_power_is_measured_over_the_duration_asked_for() -> None:
    class RecordingMeter(FakeMeter):
        def idle_power_w(self, duration_s: float = 2.0) -> float:
            self.asked_s = duration_s
            return self.idle_w

    meter = RecordingMeter(1.0, idle_w=4.0)
    assert measure_idle_power_w(meter, 3.5) == 4.0
    assert meter.asked_s == 3.5


def test_negative_idle_power_is_not_added_to_windows() -> None:
    clock = SteppingClock(0.5)
    measurement = run_windows(
        clock.work,
        FakeMeter(10.0, clock=clock),
        inferences_per_call=1,
        protocol=Protocol(warmup_s=0, warmup_iterations=0, window_s=1, windows=1),
        idle_power_w=-5.0,
        clock=clock,
    )
    assert measurement.idle_power_w == 0.0
    assert measurement.windows[0].idle_energy_j == 0.0


def test_zero_length_window_is_safe() -> None:
    empty = Window(
        duration_s=0.0,
        iterations=0,
        inferences=0,
        energy_j=0.0,
        idle_energy_j=0.0,
        latency_ms_p50=0.0,
    )
    assert empty.power_w == 0.0
    assert empty.energy_wh_per_1k == 0.0
    assert empty.energy_wh_per_1k_net == 0.0
    nothing = Measurement([], idle_power_w=0.0)
    assert nothing.energy_wh_per_1k == 0.0
    assert nothing.energy_cv == 0.0
    assert nothing.latency_ms_p50 == 0.0
    assert not nothing.noisy


def test_instant_calls_still_count_inferences() -> None:
    clock = SteppingClock(0.0)  # calls take no measurable time
    measurement = run_windows(
        clock.work,
        FakeMeter(10.0, clock=clock),
        inferences_per_call=4,
        protocol=Protocol(warmup_s=0, warmup_iterations=0, window_s=0, windows=2),
        idle_power_w=0.0,
        clock=clock,
    )
    assert [w.iterations for w in measurement.windows] == [3, 3]  # the count minimum
    assert all(w.duration_s == 0.0 and w.power_w == 0.0 for w in measurement.windows)
    assert measurement.energy_wh_per_1k == 0.0


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([], 50, 0.0),
        ([7.0], 95, 7.0),
        ([3.0, 1.0, 2.0], 50, 2.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([1.0, 2.0, 3.0, 4.0], 0, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        ([10.0, 20.0, 30.0, 40.0, 50.0], 95, 48.0),
    ],
)
def test_percentile_interpolates_linearly(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_cv_edge_cases() -> None:
    assert coefficient_of_variation([]) == 0.0
    assert coefficient_of_variation([5.0]) == 0.0
    assert coefficient_of_variation([0.0, 0.0]) == 0.0
    assert coefficient_of_variation([1.0, 3.0]) == pytest.approx(statistics.stdev([1, 3]) / 2)


def test_protocol_defaults_per_device_and_overrides() -> None:
    cpu = Protocol.for_device("cpu")
    gpu = Protocol.for_device("cuda:1", window_s=2.0, windows=None)
    assert gpu.window_s == 2.0  # an override wins
    assert gpu.windows == cpu.windows  # None means "keep the default"
    assert Protocol.for_device("cuda").window_s == 5.0  # NVML updates every ~100 ms
    assert gpu.cooldown_s > 0 and cpu.cooldown_s == 0
    assert Protocol.for_device("cpu", noisy_cv=0.2).noisy_cv == 0.2


@pytest.mark.parametrize(
    "bad", [{"windows": 0}, {"window_s": -1.0}, {"window_iterations": 0}, {"noisy_cv": -0.1}]
)
def test_protocol_rejects_impossible_settings(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Protocol(**bad)


class DriftingMachine:
    """A fake clock on a machine that slows down as time passes, as a shared host can."""

    def __init__(self, drift_per_s: float) -> None:
        self.now_s = 0.0
        self.drift_per_s = drift_per_s

    def __call__(self) -> float:
        return self.now_s

    def model(self, seconds_per_call: float):
        def call() -> None:
            self.now_s += seconds_per_call * (1.0 + self.drift_per_s * self.now_s)

        return call


def test_paired_windows_see_a_real_saving_that_drift_hides_from_sequential_windows() -> None:
    machine = DriftingMachine(drift_per_s=0.05)
    meter = FakeMeter(power_w=40.0, idle_w=0.0, clock=machine)
    protocol = Protocol(
        warmup_s=0, warmup_iterations=0, window_s=1.0, window_iterations=1, windows=5
    )
    baseline, variant = machine.model(0.1), machine.model(0.08)  # the variant saves 20 %

    paired = run_paired_windows(
        variant,
        baseline,
        meter,
        variant_inferences_per_call=8,
        baseline_inferences_per_call=8,
        protocol=protocol,
        idle_power_w=0.0,
        clock=machine,
    )
    assert paired.order == ["baseline", "variant", "variant", "baseline"] * 2 + [
        "baseline",
        "variant",
    ]
    assert len(paired.variant.windows) == len(paired.baseline.windows) == 5
    assert paired.cheaper_pairs == 5
    assert paired.energy_ratio == pytest.approx(0.8, rel=0.1)
    assert paired.latency_ratio == pytest.approx(0.8, rel=0.1)

    # the same two models measured one after the other: the slowdown eats the saving
    first = run_windows(
        baseline, meter, inferences_per_call=8, protocol=protocol, idle_power_w=0.0, clock=machine
    )
    second = run_windows(
        variant, meter, inferences_per_call=8, protocol=protocol, idle_power_w=0.0, clock=machine
    )
    assert second.energy_wh_per_1k / first.energy_wh_per_1k > 0.9


# One call per window, no warm-up: a refusal that failed to refuse returns at once (with the
# default protocol it would measure `lambda: None` for seconds, to mutmut's CPU limit).
ONE_QUICK_PAIR = Protocol(
    warmup_s=0, warmup_iterations=0, window_s=0, window_iterations=1, windows=1
)


def test_paired_windows_refuse_zero_inferences() -> None:
    with pytest.raises(ValueError):
        run_paired_windows(
            lambda: None,
            lambda: None,
            FakeMeter(power_w=1.0),
            variant_inferences_per_call=0,
            baseline_inferences_per_call=8,
            protocol=ONE_QUICK_PAIR,
            idle_power_w=0.0,
        )


def test_paired_ratio_is_the_median_over_pairs_so_one_outlier_pair_does_not_move_it() -> None:
    """One variant window hit by a hiccup (ten times slower): the mean of the five ratios
    would be 2.24 and call the variant dearer; the median stays at the real 0.8."""
    clock = SteppingClock(step_s=0.0)
    variant_seconds = iter([0.08, 0.08, 0.8, 0.08, 0.08])

    def variant() -> None:
        clock.now_s += next(variant_seconds)

    def baseline() -> None:
        clock.now_s += 0.1

    paired = run_paired_windows(
        variant,
        baseline,
        FakeMeter(power_w=40.0, clock=clock),
        variant_inferences_per_call=8,
        baseline_inferences_per_call=8,
        protocol=Protocol(
            warmup_s=0, warmup_iterations=0, window_s=0, window_iterations=1, windows=5
        ),
        idle_power_w=0.0,
        clock=clock,
    )

    assert paired.energy_ratio == pytest.approx(0.8)
    assert paired.latency_ratio == pytest.approx(0.8)
    assert paired.cheaper_pairs == 4


@pytest.mark.parametrize(("variant", "baseline"), [(0, 8), (8, 0), (-1, 8), (8, -1)])
def test_paired_windows_refuse_a_call_that_counts_no_inference(variant: int, baseline: int) -> None:
    with pytest.raises(ValueError, match="^inferences_per_call must be positive$"):
        run_paired_windows(
            lambda: None,
            lambda: None,
            FakeMeter(power_w=1.0),
            variant_inferences_per_call=variant,
            baseline_inferences_per_call=baseline,
            protocol=ONE_QUICK_PAIR,
            idle_power_w=0.0,
        )


def test_paired_windows_accept_one_inference_per_call() -> None:
    clock = SteppingClock(step_s=0.1)
    paired = run_paired_windows(
        clock.work,
        clock.work,
        FakeMeter(power_w=10.0, clock=clock),
        variant_inferences_per_call=1,
        baseline_inferences_per_call=1,
        protocol=Protocol(
            warmup_s=0, warmup_iterations=0, window_s=0, window_iterations=1, windows=2
        ),
        idle_power_w=0.0,
        clock=clock,
    )
    assert paired.energy_ratio == pytest.approx(1.0)


def test_a_pair_whose_baseline_window_read_zero_is_left_out_of_the_ratio() -> None:
    paired = PairedMeasurement(
        variant=Measurement([window(5.0), window(8.0), window(6.0)], 0.0),
        baseline=Measurement([window(10.0), window(0.0), window(10.0)], 0.0),
        order=["baseline", "variant"] * 3,
    )
    assert paired.energy_ratio == pytest.approx(0.55)  # median of 0.5 and 0.6
    assert paired.cheaper_pairs == 2


def test_pairs_must_match_one_to_one() -> None:
    paired = PairedMeasurement(
        variant=Measurement([window(5.0), window(5.0)], 0.0),
        baseline=Measurement([window(10.0)], 0.0),
        order=["baseline", "variant", "variant"],
    )
    with pytest.raises(ValueError):
        paired.energy_ratio  # noqa: B018


def test_run_windows_judges_noise_by_the_protocols_threshold() -> None:
    clock = SteppingClock(0.25)
    protocol = Protocol(
        warmup_s=0, warmup_iterations=0, window_s=0, window_iterations=1, windows=2, noisy_cv=0.5
    )
    measurement = run_windows(
        clock.work,
        FakeMeter(power_w=1.0, clock=clock),
        inferences_per_call=1,
        protocol=protocol,
        idle_power_w=0.0,
        clock=clock,
    )
    assert measurement.noisy_cv == 0.5


def test_energy_ratios_are_variant_over_baseline_per_pair_skipping_zero_baselines() -> None:
    variant = [window(5.0), window(8.0), window(3.0)]
    baseline = [window(10.0), window(4.0), window(0.0)]
    assert energy_ratios(variant, baseline) == pytest.approx([0.5, 2.0])
    with pytest.raises(ValueError):
        energy_ratios(variant, baseline[:2])


def test_paired_windows_warm_up_both_and_stop_once_decided_after_the_fewest_pairs() -> None:
    clock = SteppingClock(0.25)
    calls = {"variant": 0, "baseline": 0}
    syncs: list[int] = []
    asked: list[list[float]] = []

    def call(role: str):
        def run() -> None:
            calls[role] += 1
            clock.work()

        return run

    def decided(ratios: list[float]) -> bool:
        asked.append(list(ratios))
        return True

    protocol = Protocol(
        warmup_s=0.5,
        warmup_iterations=1,
        window_s=0.5,
        window_iterations=1,
        windows=6,
        min_pairs=3,
        noisy_cv=0.3,
    )
    paired = run_paired_windows(
        call("variant"),
        call("baseline"),
        FakeMeter(power_w=10.0, clock=clock),
        variant_inferences_per_call=2,
        baseline_inferences_per_call=4,
        protocol=protocol,
        idle_power_w=-5.0,
        sync=lambda: syncs.append(1),
        clock=clock,
        decided=decided,
    )
    # Asked once, after the third pair (the fewest), with one ratio per pair; then it stops.
    assert [len(ratios) for ratios in asked] == [3]
    assert asked[0] == pytest.approx([2.0, 2.0, 2.0])  # same power, half the inferences
    assert paired.order == ["baseline", "variant", "variant", "baseline", "baseline", "variant"]
    # Two warm-up windows of 0.5 s (two calls each: they agree) for each, then two calls per
    # window.
    assert calls == {"variant": 2 * 2 + 3 * 2, "baseline": 2 * 2 + 3 * 2}
    # sync after every call, and before and after each of the six windows
    assert clock.calls == 20 and len(syncs) == 20 + 2 * 6
    for measurement in (paired.variant, paired.baseline):
        assert measurement.idle_power_w == 0.0  # a negative idle power is not added
        assert measurement.noisy_cv == 0.3
        assert measurement.latencies_ms == pytest.approx([250.0] * 6)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"windows": 0}, "windows must be at least 1, got 0"),
        ({"min_pairs": 0}, "min_pairs must be at least 1, got 0"),
        ({"window_s": -1.0}, "window_s cannot be negative, got -1.0"),
        ({"warmup_iterations": -1}, "warmup_iterations must be >= 0 and window_iterations >= 1"),
        ({"window_iterations": 0}, "warmup_iterations must be >= 0 and window_iterations >= 1"),
    ],
)
def test_a_refused_protocol_says_which_setting_and_why(bad: dict, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Protocol(**bad)
    assert str(caught.value) == message
    assert Protocol(min_pairs=1, warmup_iterations=0, window_iterations=1).min_pairs == 1


def test_percentile_says_what_range_it_takes() -> None:
    with pytest.raises(ValueError) as caught:
        percentile([1.0, 2.0], 101)
    assert str(caught.value) == "percentile must be within 0..100, got 101"


def test_a_window_keeps_the_meters_temperature_and_clock_and_its_calls_median_latency() -> None:
    """What a GPU meter reads beside the energy goes into the window as read, and the
    window's latency is the median of its own calls (100, 400 and 200 ms: 200 ms)."""
    from dataclasses import replace

    clock = SteppingClock(0.0)
    seconds_per_call = iter([0.1, 0.4, 0.2])

    def call() -> None:
        clock.now_s += next(seconds_per_call)

    class HotMeter(FakeMeter):
        def stop(self):  # type: ignore[no-untyped-def]
            return replace(super().stop(), temperature_c=71.0, sm_clock_mhz=1410.0)

    measurement = run_windows(
        call,
        HotMeter(power_w=10.0, clock=clock),
        inferences_per_call=1,
        protocol=Protocol(
            warmup_s=0, warmup_iterations=0, window_s=0, window_iterations=3, windows=1
        ),
        idle_power_w=0.0,
        clock=clock,
    )
    (measured,) = measurement.windows
    assert (measured.temperature_c, measured.sm_clock_mhz) == (71.0, 1410.0)
    assert measured.latency_ms_p50 == pytest.approx(200.0)

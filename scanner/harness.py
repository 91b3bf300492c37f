"""The measurement protocol: warm up, then repeated measured windows of a minimum length.

Each window runs `while elapsed < window_s or iterations < window_iterations`, so short
calls are repeated until the meter can see them (NVML's counter updates about every
100 ms). Every window is kept; the summary reports the median, the spread and the
coefficient of variation, and flags results noisier than the scheme allows. Idle power is
measured once before the windows (by the caller, reused across variants) and subtracted per
window, so both gross and idle-subtracted energy are kept.

The clock is injectable so that the loop condition can be tested without wall-clock time.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scanner.device import Device
from scanner.meters.base import EnergyMeter
from scanner.meters.foreign_load import ForeignLoad, ForeignLoadProbe

HARNESS_VERSION = "3"  # 2: variants interleaved with the baseline; 3: busy pairs measured again
J_PER_WH = 3600.0


@dataclass(frozen=True)
class Protocol:
    """How long and how often to measure. GPU defaults follow NVML's update interval.

    Warm-up and each window run `while elapsed < *_s or count < *_iterations`: the time
    minimum lets the meter see the work, the count minimum keeps slow models from being
    judged on one call. `noisy_cv` comes from the label scheme (`noisy_cv` in its TOML).
    """

    warmup_s: float = 0.5
    warmup_iterations: int = 2
    window_s: float = 1.0
    window_iterations: int = 3
    windows: int = 5
    idle_s: float = 1.0
    cooldown_s: float = 0.0
    noisy_cv: float = 0.10
    # Pair loops (a variant beside the baseline, the model beside its reference) may stop
    # after `min_pairs` pairs once their question is decided (labels/stopping.py); `windows`
    # is then the maximum. `sequential=False` is the fixed protocol: always `windows` pairs.
    sequential: bool = True
    min_pairs: int = 2
    # Foreign load (docs/methodology.md): a pair with a window above either threshold is
    # measured again, up to `busy_retries` times per run, waiting `busy_backoff_s`, doubled
    # each time; a busy pair kept after that makes the run contended.
    busy_cpu_share: float = 0.05
    busy_gpu_util_pct: float = 5.0
    busy_retries: int = 3
    busy_backoff_s: float = 2.0
    # Warm-up windows run until two in a row agree within `warmup_agreement` (relative
    # time per call), at most `warmup_rounds` of them: no first-pair bias (1: one window,
    # no agreement asked, as the AI Energy Score protocol warms up).
    warmup_agreement: float = 0.05
    warmup_rounds: int = 6

    def __post_init__(self) -> None:
        if self.windows < 1:
            raise ValueError(f"windows must be at least 1, got {self.windows}")
        if self.min_pairs < 1:
            raise ValueError(f"min_pairs must be at least 1, got {self.min_pairs}")
        for name in (
            "warmup_s",
            "window_s",
            "idle_s",
            "cooldown_s",
            "noisy_cv",
            "busy_cpu_share",
            "busy_gpu_util_pct",
            "busy_backoff_s",
            "warmup_agreement",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} cannot be negative, got {getattr(self, name)}")
        if self.warmup_iterations < 0 or self.window_iterations < 1:
            raise ValueError("warmup_iterations must be >= 0 and window_iterations >= 1")
        if self.busy_retries < 0 or self.warmup_rounds < 1:
            raise ValueError("busy_retries must be >= 0 and warmup_rounds >= 1")

    @property
    def fewest_pairs(self) -> int:
        """Pairs a pair loop always takes: `min_pairs` when sequential, else `windows`."""
        return min(self.min_pairs, self.windows) if self.sequential else self.windows

    @classmethod
    def for_device(cls, device: str, **overrides: Any) -> Protocol:
        """Defaults for `device` ("cpu", "cuda", "cuda:N"); None overrides are ignored."""
        # CPU: one warm-up call builds the oneDNN primitives for the fixed input shape; a
        # second one only costs time (seconds per call for a small model on 2 busy cores).
        # 2 s windows: on a shared 2-core machine, speed drifts over seconds; with 1 s windows
        # five repeats of MiniLM varied by CV 0.10-0.24, with 2 s windows by 0.04-0.05.
        base = (
            cls(warmup_s=1.0, window_s=5.0, idle_s=3.0, cooldown_s=2.0)
            if Device.parse(device).is_cuda
            else cls(warmup_iterations=1, window_s=2.0)
        )
        values = {**base.__dict__, **{k: v for k, v in overrides.items() if v is not None}}
        return cls(**values)


@dataclass(frozen=True)
class Window:
    """One measured window: gross energy, and the idle energy of the same duration."""

    duration_s: float
    iterations: int
    inferences: int
    energy_j: float
    idle_energy_j: float
    latency_ms_p50: float
    temperature_c: float | None = None
    sm_clock_mhz: float | None = None
    foreign: ForeignLoad = field(default_factory=ForeignLoad)

    @property
    def power_w(self) -> float:
        return self.energy_j / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def energy_j_net(self) -> float:
        """Gross minus idle energy, never negative (idle can read above a light load)."""
        return max(self.energy_j - self.idle_energy_j, 0.0)

    @property
    def energy_wh_per_1k(self) -> float:
        return _wh_per_1k(self.energy_j, self.inferences)

    @property
    def energy_wh_per_1k_net(self) -> float:
        return _wh_per_1k(self.energy_j_net, self.inferences)


def _wh_per_1k(energy_j: float, inferences: int) -> float:
    return energy_j / J_PER_WH / inferences * 1000.0 if inferences > 0 else 0.0


@dataclass(frozen=True)
class Measurement:
    """All windows of one variant and their summary: the label uses the median."""

    windows: list[Window]
    idle_power_w: float
    latencies_ms: list[float] = field(repr=False, default_factory=list)
    noisy_cv: float = 0.10
    busy_kept: int = 0  # busy windows (pairs, when paired) kept once the retries ran out
    remeasured: int = 0  # busy windows (pairs) thrown away and measured again
    warmup_rounds: int = 0  # warm-up windows run until two in a row agreed

    @property
    def contended(self) -> bool:
        """Clean windows could not be had: the figures stand, but are not graded."""
        return self.busy_kept > 0

    def _foreign(self, value: Callable[[ForeignLoad], float | None]) -> list[float]:
        return [v for v in (value(w.foreign) for w in self.windows) if v is not None]

    @property
    def foreign_cpu_cores(self) -> float | None:
        """Median over the kept windows of the cores' worth other processes took."""
        values = self._foreign(lambda f: f.cpu_cores)
        return statistics.median(values) if values else None

    @property
    def foreign_cpu_share(self) -> float | None:
        values = self._foreign(lambda f: f.cpu_share)
        return statistics.median(values) if values else None

    @property
    def foreign_cpu_share_max(self) -> float | None:
        return max(self._foreign(lambda f: f.cpu_share), default=None)

    @property
    def foreign_gpu_processes(self) -> int | None:
        values = self._foreign(lambda f: f.gpu_processes)
        return int(max(values)) if values else None

    @property
    def foreign_gpu_util_pct(self) -> float | None:
        values = self._foreign(lambda f: f.gpu_util_pct)
        return statistics.median(values) if values else None

    def _energies(self) -> list[float]:
        return [w.energy_wh_per_1k for w in self.windows]

    @property
    def energy_wh_per_1k(self) -> float:
        values = self._energies()
        return statistics.median(values) if values else 0.0

    @property
    def energy_wh_per_1k_net(self) -> float:
        values = [w.energy_wh_per_1k_net for w in self.windows]
        return statistics.median(values) if values else 0.0

    @property
    def energy_wh_per_1k_min(self) -> float:
        return min(self._energies(), default=0.0)

    @property
    def energy_wh_per_1k_max(self) -> float:
        return max(self._energies(), default=0.0)

    @property
    def energy_spread_wh_per_1k(self) -> float:
        """Max minus min over the windows: the range a reader sees beside the median."""
        return self.energy_wh_per_1k_max - self.energy_wh_per_1k_min

    @property
    def energy_cv(self) -> float:
        return coefficient_of_variation(self._energies())

    @property
    def noisy(self) -> bool:
        return self.energy_cv > self.noisy_cv

    @property
    def latency_ms_p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def latency_ms_p95(self) -> float:
        return percentile(self.latencies_ms, 95)

    @property
    def measured_s(self) -> float:
        return sum(w.duration_s for w in self.windows)


def coefficient_of_variation(values: list[float]) -> float:
    """Sample standard deviation over mean; 0 for fewer than two values or a zero mean."""
    if len(values) < 2:
        return 0.0
    mean = statistics.mean(values)
    return statistics.stdev(values) / mean if mean > 0 else 0.0


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method); no numpy needed."""
    if not values:
        return 0.0
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def measure_idle_power_w(meter: EnergyMeter, duration_s: float) -> float:
    """Idle power over `duration_s` (0 when not measured), never negative."""
    if duration_s <= 0:
        return 0.0
    return max(meter.idle_power_w(duration_s), 0.0)


def run_windows(
    call: Callable[[], Any],
    meter: EnergyMeter,
    *,
    inferences_per_call: int,
    protocol: Protocol,
    idle_power_w: float,
    sync: Callable[[], None] = lambda: None,
    on_window: Callable[[int], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    probe: ForeignLoadProbe | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Measurement:
    """Warm up, then measure `protocol.windows` windows of `call`; every window is kept."""
    if inferences_per_call <= 0:
        raise ValueError("inferences_per_call must be positive")
    idle_power_w = max(idle_power_w, 0.0)
    rounds = warm_until_steady([(call, protocol)], sync, clock)
    windows: list[Window] = []
    all_latencies: list[float] = []
    retries = _Retries(protocol, sleep)
    for index in range(protocol.windows):
        while True:
            window, latencies = measure_window(
                call, meter, inferences_per_call, protocol, idle_power_w, sync, clock, probe
            )
            if not retries.again([window]):
                break
        windows.append(window)
        all_latencies.extend(latencies)
        if on_window:
            on_window(index)
    return Measurement(
        windows,
        idle_power_w,
        all_latencies,
        protocol.noisy_cv,
        busy_kept=retries.busy_kept,
        remeasured=retries.used,
        warmup_rounds=rounds,
    )


class _Retries:
    """The run's budget of re-measurements for busy windows, with doubling back-off."""

    def __init__(self, protocol: Protocol, sleep: Callable[[float], None]) -> None:
        self.protocol = protocol
        self.sleep = sleep
        self.used = 0
        self.busy_kept = 0

    def again(self, windows: list[Window]) -> bool:
        """True when these windows must be measured again (after the back-off has passed);
        False when they are kept, counting them busy if they are."""
        p = self.protocol
        if not any(w.foreign.busy(p.busy_cpu_share, p.busy_gpu_util_pct) for w in windows):
            return False
        if self.used >= p.busy_retries:
            self.busy_kept += 1
            return False
        self.sleep(p.busy_backoff_s * 2**self.used)
        self.used += 1
        return True


def warm_until_steady(
    roles: list[tuple[Callable[[], Any], Protocol]],
    sync: Callable[[], None],
    clock: Callable[[], float] = time.perf_counter,
) -> int:
    """Warm-up windows of each role in turn until, for every role, the last two agree.

    Agreement: time per call within the role's `warmup_agreement` (relative to the larger).
    The first windows of a fresh model are slow (allocations, oneDNN primitives, caches),
    and a first pair measured before that settles is biased. At most `warmup_rounds` rounds;
    returns the rounds run (0 when the warm-up is switched off).
    """
    active = [(c, p) for c, p in roles if p.warmup_s > 0 or p.warmup_iterations > 0]
    if not active:
        return 0
    per_call: list[list[float]] = [[] for _ in active]
    limit = max(p.warmup_rounds for _, p in active)
    rounds = 0
    while rounds < limit:
        rounds += 1
        for (call, p), history in zip(active, per_call, strict=True):
            latencies = repeat_until(call, sync, p.warmup_s, max(p.warmup_iterations, 1), clock)
            history.append(statistics.mean(latencies))
        if rounds >= 2 and all(
            _agree(h[-2], h[-1], p.warmup_agreement)
            for (_, p), h in zip(active, per_call, strict=True)
        ):
            break
    return rounds


def _agree(a: float, b: float, tolerance: float) -> bool:
    largest = max(a, b)
    return largest <= 0 or abs(a - b) / largest <= tolerance


def measure_window(
    call: Callable[[], Any],
    meter: EnergyMeter,
    inferences_per_call: int,
    protocol: Protocol,
    idle_power_w: float,
    sync: Callable[[], None] = lambda: None,
    clock: Callable[[], float] = time.perf_counter,
    probe: ForeignLoadProbe | None = None,
) -> tuple[Window, list[float]]:
    """One metered window of `call`, and the latency of each call in it (ms); `probe`
    records what other processes took meanwhile."""
    sync()
    if probe:
        probe.start()
    meter.start()
    latencies = repeat_until(call, sync, protocol.window_s, protocol.window_iterations, clock)
    sync()
    reading = meter.stop()
    foreign = probe.stop() if probe else ForeignLoad()
    iterations = len(latencies)
    window = Window(
        duration_s=reading.duration_s,
        iterations=iterations,
        inferences=iterations * inferences_per_call,
        energy_j=reading.energy_j,
        idle_energy_j=max(idle_power_w, 0.0) * reading.duration_s,
        latency_ms_p50=percentile(latencies, 50),
        temperature_c=reading.temperature_c,
        sm_clock_mhz=reading.sm_clock_mhz,
        foreign=foreign,
    )
    return window, latencies


@dataclass(frozen=True)
class PairedMeasurement:
    """A variant measured in windows interleaved with windows of the baseline.

    A shared machine drifts: its speed changes over seconds, so a variant measured a minute
    after the baseline can look cheaper or dearer for no reason of its own. Interleaving
    (baseline, variant, variant, baseline, ...) puts each variant window next to a baseline
    window taken under the same conditions; the comparison uses those pairs.
    """

    variant: Measurement
    baseline: Measurement
    order: list[str]  # "baseline" | "variant", in the order the windows were measured

    @property
    def pairs(self) -> int:
        return len(self.variant.windows)

    def _ratios(self, value: Callable[[Window], float]) -> list[float]:
        """Variant / baseline of `value` for each pair whose baseline value is positive."""
        return [
            value(v) / value(b)
            for v, b in zip(self.variant.windows, self.baseline.windows, strict=True)
            if value(b) > 0
        ]

    @property
    def energy_ratio(self) -> float | None:
        """Median over pairs of variant energy / baseline energy (None if none measurable)."""
        ratios = self._ratios(lambda w: w.energy_wh_per_1k)
        return statistics.median(ratios) if ratios else None

    @property
    def latency_ratio(self) -> float | None:
        """Median over pairs of the windows' median latency, variant / baseline."""
        ratios = self._ratios(lambda w: w.latency_ms_p50)
        return statistics.median(ratios) if ratios else None

    @property
    def cheaper_pairs(self) -> int:
        """Pairs in which the variant's window used less energy per inference."""
        return sum(1 for r in self._ratios(lambda w: w.energy_wh_per_1k) if r < 1.0)


def run_paired_windows(
    variant_call: Callable[[], Any],
    baseline_call: Callable[[], Any],
    meter: EnergyMeter,
    *,
    variant_inferences_per_call: int,
    baseline_inferences_per_call: int,
    protocol: Protocol,
    idle_power_w: float,
    sync: Callable[[], None] = lambda: None,
    clock: Callable[[], float] = time.perf_counter,
    baseline_protocol: Protocol | None = None,
    decided: Callable[[list[float]], bool] | None = None,
    probe: ForeignLoadProbe | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PairedMeasurement:
    """Warm up both, then up to `protocol.windows` pairs in ABBA order (cancels a linear
    drift), stopping early once `decided(ratios)` holds after `protocol.fewest_pairs`.
    With a `probe`, a pair with a window under foreign load is measured again (back-off,
    bounded: `Protocol.busy_retries`); a busy pair kept after that makes it contended.

    `ratios` are variant / baseline energy per inference, one per pair measured so far.
    `baseline_protocol` (window length, minimum calls) applies to the baseline role's
    warm-up and windows; by default the same as the variant's. This is the one pair loop:
    variants beside the baseline, and (scheme v2) the baseline beside the reference model.
    """
    if variant_inferences_per_call <= 0 or baseline_inferences_per_call <= 0:
        raise ValueError("inferences_per_call must be positive")
    idle_power_w = max(idle_power_w, 0.0)
    baseline_protocol = baseline_protocol or protocol
    rounds = warm_until_steady(
        [(variant_call, protocol), (baseline_call, baseline_protocol)], sync, clock
    )
    retries = _Retries(protocol, sleep)
    calls = {
        "variant": (variant_call, variant_inferences_per_call, protocol),
        "baseline": (baseline_call, baseline_inferences_per_call, baseline_protocol),
    }
    windows: dict[str, list[Window]] = {"variant": [], "baseline": []}
    latencies: dict[str, list[float]] = {"variant": [], "baseline": []}
    order: list[str] = []
    for index in range(protocol.windows):
        pair = ("baseline", "variant") if index % 2 == 0 else ("variant", "baseline")
        while True:  # a pair with a busy window is measured again, within the budget
            measured = []
            for role in pair:
                call, inferences, role_protocol = calls[role]
                window, lat = measure_window(
                    call, meter, inferences, role_protocol, idle_power_w, sync, clock, probe
                )
                measured.append((role, window, lat))
            if not retries.again([w for _, w, _ in measured]):
                break
        for role, window, lat in measured:
            windows[role].append(window)
            latencies[role].extend(lat)
            order.append(role)
        ratios = energy_ratios(windows["variant"], windows["baseline"])
        if decided and index + 1 >= protocol.fewest_pairs and decided(ratios):
            break
    counts = {"busy_kept": retries.busy_kept, "remeasured": retries.used, "warmup_rounds": rounds}
    return PairedMeasurement(
        variant=Measurement(
            windows["variant"], idle_power_w, latencies["variant"], protocol.noisy_cv, **counts
        ),
        baseline=Measurement(
            windows["baseline"], idle_power_w, latencies["baseline"], protocol.noisy_cv, **counts
        ),
        order=order,
    )


def energy_ratios(variant: list[Window], baseline: list[Window]) -> list[float]:
    """Variant / baseline energy per inference of each pair whose baseline used energy."""
    return [
        v.energy_wh_per_1k / b.energy_wh_per_1k
        for v, b in zip(variant, baseline, strict=True)
        if b.energy_wh_per_1k > 0
    ]


def repeat_until(
    call: Callable[[], Any],
    sync: Callable[[], None],
    min_s: float,
    min_iterations: int,
    clock: Callable[[], float] = time.perf_counter,
) -> list[float]:
    """Run `call` until both the time and the count minimums are met; latencies in ms.

    `min_iterations` of 0 with `min_s` of 0 runs nothing (a warm-up can be switched off).
    """
    latencies: list[float] = []
    start = clock()
    while clock() - start < min_s or len(latencies) < min_iterations:
        t0 = clock()
        call()
        sync()
        latencies.append((clock() - t0) * 1000.0)
    return latencies

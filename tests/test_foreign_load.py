"""Foreign load on recorded counters: a fake /proc and a patched NVML; busy pairs measured
again, contended runs kept but not graded, the re-grading rule ignoring them,
--allow-busy-host marking the label everywhere, and threads from affinity and cgroup quota."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pynvml
import pytest
from typer.testing import CliRunner

from labeler.badges import badge_svg, shields_endpoint
from labeler.card import card_block
from labeler.cli import app
from labeler.grading import grade_catalog, grade_runs
from labels import Catalog
from labels.busy_host import busy_reason
from labels.eei import published_grade
from labels.scheme import load_scheme
from scanner.cpu_quota import cpu_allowance
from scanner.harness import Protocol, run_paired_windows, run_windows, warm_until_steady
from scanner.meters.fake import FakeMeter
from scanner.meters.foreign_load import (
    DEVICE_WIDE,
    PER_PROCESS,
    CpuForeignLoad,
    ForeignLoad,
    GpuForeignLoad,
    foreign_load_note,
    probe_for,
)
from scanner.scan import ScanSummary
from tests.test_scheme_v2 import T0, _published, _record, baseline_run

# -- a fake /proc ---------------------------------------------------------------------------


class FakeProc:
    """A /proc with /proc/stat (two CPUs) and a process tree: ours (pid 100, child 101) and
    a stranger (pid 200). Counters in ticks of 100 Hz."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cpu_busy = {0: 1000, 1: 1000}
        self.ticks = {100: 50, 101: 10, 200: 500}
        self.parents = {100: 1, 101: 100, 200: 1}
        self.write()

    def write(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        lines = [f"cpu  {sum(self.cpu_busy.values())} 0 0 9000 0 0 0 0 0 0"]
        # user nice system idle iowait irq softirq steal: busy split between user and steal
        for cpu, busy in self.cpu_busy.items():
            lines.append(f"cpu{cpu} {busy - 10} 0 0 4500 7 0 0 10 0 0")
        (self.root / "stat").write_text("\n".join(lines) + "\nintr 0\n")
        for pid, ticks in self.ticks.items():
            folder = self.root / str(pid)
            folder.mkdir(exist_ok=True)
            # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
            # cmajflt utime stime cutime cstime ...
            fields = ["S", str(self.parents[pid])] + ["0"] * 9 + [str(ticks), "0", "0", "0"]
            (folder / "stat").write_text(f"{pid} (py thon) {' '.join(fields)} 0 0\n")


class Clock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


def test_foreign_cpu_is_host_busy_minus_our_process_tree(tmp_path: Path) -> None:
    proc = FakeProc(tmp_path / "proc")
    clock = Clock()
    probe = CpuForeignLoad(proc.root, cpus={0, 1}, pid=100, ticks_per_s=100, clock=clock)
    assert probe.why_not() is None
    probe.start()
    # 2 s: our process 120 ticks, its child 60 (threads and children are ours), and the
    # CPUs 280 busier: 100 ticks of someone else's = 0.5 core over 2 s
    proc.ticks[100] += 120
    proc.ticks[101] += 60
    proc.ticks[200] += 100
    proc.cpu_busy[0] += 200
    proc.cpu_busy[1] += 80
    proc.write()
    clock.now += 2.0
    cores, share = probe.stop()
    assert cores == pytest.approx(0.5)
    assert share == pytest.approx(0.25)  # of the two CPUs we may run on


def test_only_the_cpus_we_may_run_on_count(tmp_path: Path) -> None:
    proc = FakeProc(tmp_path / "proc")
    clock = Clock()
    probe = CpuForeignLoad(proc.root, cpus={0}, pid=100, ticks_per_s=100, clock=clock)
    probe.start()
    proc.cpu_busy[1] += 200  # a stranger busy on the other CPU leaves us alone
    proc.write()
    clock.now += 2.0
    assert probe.stop() == (pytest.approx(0.0), pytest.approx(0.0))


def test_unreadable_proc_stat_is_not_measured_never_a_crash(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LABELER_FOREIGN_LOAD", "on")
    missing = tmp_path / "no-proc"
    probe = CpuForeignLoad(missing, cpus={0}, pid=100, ticks_per_s=100)
    assert "not measured" in (probe.why_not() or "")
    probe.start()
    assert probe.stop() == (None, None)
    note = foreign_load_note(missing)
    assert note and note.startswith("foreign CPU load not measured")
    meter = FakeMeter(power_w=10.0)  # a CPU meter: no GPU part either
    assert probe_for(meter, missing) == (None, note)


def test_the_scan_says_not_measured_once(
    tmp_path: Path, monkeypatch, fresh_catalog: Catalog
) -> None:
    import functools

    import scanner.scan as scan_module
    from scanner.hardware import detect_hardware

    monkeypatch.setenv("LABELER_FOREIGN_LOAD", "on")
    monkeypatch.setattr(
        scan_module, "foreign_load_note", functools.partial(foreign_load_note, tmp_path / "x")
    )
    options = scan_module.ScanOptions(executor="inprocess")
    summary = scan_module.scan([], fresh_catalog, options, hardware=detect_hardware("cpu"))
    assert summary.foreign_load_note.startswith("foreign CPU load not measured")
    assert summary.ok and summary.exit_status() == 0  # not measured is no failure


def test_switch_off_for_the_cost_comparison(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LABELER_FOREIGN_LOAD", "off")
    probe, note = probe_for(FakeMeter(power_w=1.0))
    assert probe is None and "switched off" in note


# -- GPU: a patched NVML ----------------------------------------------------------------------


def _patch_nvml(monkeypatch, running, utilisation, device_util=40) -> None:
    monkeypatch.setattr(pynvml, "nvmlDeviceGetComputeRunningProcesses", lambda h: running)
    monkeypatch.setattr(pynvml, "nvmlDeviceGetProcessUtilization", utilisation)
    monkeypatch.setattr(
        pynvml, "nvmlDeviceGetUtilizationRates", lambda h: SimpleNamespace(gpu=device_util)
    )


def test_gpu_per_process_utilisation_of_others(monkeypatch) -> None:
    running = [SimpleNamespace(pid=1), SimpleNamespace(pid=7)]
    samples = [
        SimpleNamespace(pid=1, smUtil=90, timeStamp=1),  # ours
        SimpleNamespace(pid=7, smUtil=20, timeStamp=1),
        SimpleNamespace(pid=7, smUtil=30, timeStamp=2),
    ]
    _patch_nvml(monkeypatch, running, lambda h, since: samples)
    gpu = GpuForeignLoad(pynvml, handle=object(), pid=1)
    gpu.start()
    load = gpu.stop()
    assert (load.gpu_processes, load.gpu_util_pct, load.gpu_method) == (1, 30.0, PER_PROCESS)
    assert load.busy(max_cpu_share=0.1, max_gpu_util_pct=5.0)


def test_gpu_without_per_process_figures_says_so_and_uses_device_wide(monkeypatch) -> None:
    def not_supported(handle, since):
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)

    _patch_nvml(monkeypatch, [SimpleNamespace(pid=1), SimpleNamespace(pid=9)], not_supported)
    load = GpuForeignLoad(pynvml, handle=object(), pid=1).stop()
    assert load.gpu_method == DEVICE_WIDE and load.gpu_device_util_pct == 40.0
    assert load.gpu_util_pct is None and load.gpu_processes == 1
    assert load.busy(0.1, 5.0)  # another process on the device is all we can see: busy
    _patch_nvml(monkeypatch, [SimpleNamespace(pid=1)], not_supported)
    assert not GpuForeignLoad(pynvml, handle=object(), pid=1).stop().busy(0.1, 5.0)


def test_gpu_with_no_samples_means_nobody_else_computed(monkeypatch) -> None:
    def not_found(handle, since):
        raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_FOUND)

    _patch_nvml(monkeypatch, [SimpleNamespace(pid=1)], not_found)
    load = GpuForeignLoad(pynvml, handle=object(), pid=1).stop()
    assert (load.gpu_util_pct, load.gpu_method) == (0.0, PER_PROCESS)


# -- the harness: busy pairs measured again ----------------------------------------------------


class ScriptedProbe:
    """A probe replaying recorded foreign CPU shares, one per window."""

    def __init__(self, shares: list[float]) -> None:
        self.shares = list(shares)
        self.windows = 0

    def start(self) -> None:
        pass

    def stop(self) -> ForeignLoad:
        self.windows += 1
        share = self.shares.pop(0) if self.shares else 0.0
        return ForeignLoad(cpu_cores=share * 2, cpu_share=share)


def _protocol(**changes) -> Protocol:
    values = dict(
        warmup_s=0.0,
        warmup_iterations=0,
        window_s=0.0,
        window_iterations=1,
        windows=2,
        sequential=False,
        busy_retries=2,
        busy_backoff_s=1.0,
    )
    return Protocol(**{**values, **changes})


def test_a_busy_pair_is_measured_again_after_a_back_off() -> None:
    slept: list[float] = []
    # pair 1: clean; pair 2: its second window busy, measured again, then clean
    probe = ScriptedProbe([0.0, 0.0, 0.0, 0.45, 0.01, 0.02])
    paired = run_paired_windows(
        lambda: None,
        lambda: None,
        FakeMeter(power_w=5.0),
        variant_inferences_per_call=1,
        baseline_inferences_per_call=1,
        protocol=_protocol(),
        idle_power_w=0.0,
        probe=probe,
        sleep=slept.append,
    )
    assert probe.windows == 6 and slept == [1.0]
    assert paired.pairs == 2 and len(paired.order) == 4  # the busy pair is not kept
    assert paired.variant.remeasured == 1 and not paired.variant.contended
    assert paired.variant.foreign_cpu_share_max == pytest.approx(0.01)
    assert paired.baseline.foreign_cpu_share_max == pytest.approx(0.02)


def test_when_clean_pairs_cannot_be_had_the_run_is_contended() -> None:
    slept: list[float] = []
    paired = run_paired_windows(
        lambda: None,
        lambda: None,
        FakeMeter(power_w=5.0),
        variant_inferences_per_call=1,
        baseline_inferences_per_call=1,
        protocol=_protocol(),
        idle_power_w=0.0,
        probe=ScriptedProbe([0.5] * 20),
        sleep=slept.append,
    )
    assert slept == [1.0, 2.0]  # bounded, doubling back-off
    assert paired.pairs == 2 and paired.baseline.contended and paired.variant.busy_kept == 2
    assert paired.variant.foreign_cpu_cores == pytest.approx(1.0)
    reason = busy_reason(paired.variant.foreign_cpu_cores)
    assert reason == "the host was busy: 1.0 cores went to other processes"
    assert busy_reason(0.47) == "the host was busy: 47 % of a core went to other processes"


def test_single_windows_are_measured_again_too() -> None:
    slept: list[float] = []
    measurement = run_windows(
        lambda: None,
        FakeMeter(power_w=5.0),
        inferences_per_call=1,
        protocol=_protocol(windows=2, busy_retries=1),
        idle_power_w=0.0,
        probe=ScriptedProbe([0.3, 0.0, 0.0]),
        sleep=slept.append,
    )
    assert slept == [1.0] and measurement.remeasured == 1 and not measurement.contended


def test_warm_up_runs_until_two_windows_agree() -> None:
    clock = Clock()
    costs = iter([5.0, 2.0, 1.2, 1.0, 1.0, 1.0, 1.0, 1.0])  # seconds per call: settles

    def call() -> None:
        clock.now += next(costs)

    protocol = Protocol(warmup_s=0.0, warmup_iterations=1, warmup_agreement=0.05)
    # 5, 2, 1.2, 1.0 (17 % from 1.2), 1.0: the fifth agrees with the fourth
    assert warm_until_steady([(call, protocol)], lambda: None, clock) == 5
    flat = Protocol(warmup_s=0.0, warmup_iterations=1, warmup_rounds=3)
    never = iter([1.0, 2.0, 4.0, 8.0])
    assert warm_until_steady([(lambda: None, flat)], lambda: None, Clock()) == 2

    def drifting() -> None:
        clock.now += next(never)

    assert warm_until_steady([(drifting, flat)], lambda: None, clock) == 3  # bounded


# -- grading: contended runs ------------------------------------------------------------------


def _contended(ratios, **changes):
    values = dict(contended=True, foreign_cpu_cores=0.47, foreign_cpu_share=0.235)
    values["reason"] = busy_reason(0.47)
    return baseline_run(ratios, **{**values, **changes})


def test_a_contended_run_is_not_graded_and_says_how_busy() -> None:
    label = grade_runs([_contended([0.3] * 5)], load_scheme("v2"))
    assert label.grade is None and label.measured_grade is None and label.best_grade is None
    assert label.reason == "the host was busy: 47 % of a core went to other processes"
    assert label.eei == pytest.approx(0.3)  # the figures are kept
    assert not label.contended


def test_allow_busy_host_grades_it_marked_contended() -> None:
    label = grade_runs([_contended([0.3] * 5, busy_host_allowed=True)], load_scheme("v2"))
    assert label.grade == "C" and label.contended
    assert label.foreign_cpu_cores == pytest.approx(0.47)


def test_published_grade_never_moves_on_a_contended_measurement() -> None:
    v2 = load_scheme("v2")
    # wholly outside A, as one busy night reads: a clean measurement would move it
    assert published_grade(v2, "A", 0.3, 0.35, "C") == "C"
    assert published_grade(v2, "A", 0.3, 0.35, "C", contended=True) == "A"
    assert published_grade(v2, None, 0.3, 0.35, "C", contended=True) == "C"


def test_regrading_keeps_the_published_grade_over_a_busy_night(fresh_catalog: Catalog) -> None:
    v2 = load_scheme("v2")
    _record(fresh_catalog, baseline_run([0.1, 0.11, 0.1, 0.1, 0.11], at=T0))
    grade_catalog(fresh_catalog, v2)
    assert _published(fresh_catalog).grade == "A"
    for days, allowed in ((1, False), (2, True)):
        at = T0 + timedelta(days=days)
        _record(fresh_catalog, _contended([0.3] * 5, at=at, busy_host_allowed=allowed))
        summary = grade_catalog(fresh_catalog, v2)
        label = _published(fresh_catalog)
        assert label.grade == "A" and label.reason.startswith("the host was busy")
        assert not label.contended  # the grade shown is the clean one
        assert summary.contended == 1
    # a clean measurement later moves it as usual
    _record(fresh_catalog, baseline_run([0.3] * 5, at=T0 + timedelta(days=3)))
    grade_catalog(fresh_catalog, v2)
    assert _published(fresh_catalog).grade == "C"


def test_contended_models_are_measured_again_by_the_next_scan(fresh_catalog: Catalog) -> None:
    _record(fresh_catalog, _contended([0.3] * 5, harness_version="3"))
    assert fresh_catalog.measured_revisions("cpu-x86-64", "3", "v2") == set()
    _record(fresh_catalog, baseline_run([0.3] * 5, at=T0 + timedelta(1), harness_version="3"))
    assert fresh_catalog.measured_revisions("cpu-x86-64", "3", "v2") == {("org/encoder", "r1")}


def test_scan_exit_status_for_contended_models() -> None:
    assert ScanSummary("s", benchmarked=2, contended=1).exit_status() == 3
    assert ScanSummary("s", benchmarked=2, contended=1).exit_status(allow_busy_host=True) == 0
    assert ScanSummary("s", failed=1, contended=1).exit_status() == 1
    assert ScanSummary("s", benchmarked=1).exit_status() == 0


def test_allow_busy_host_marks_the_label_in_catalog_badge_and_card(
    fresh_catalog: Catalog,
) -> None:
    _record(fresh_catalog, _contended([0.3] * 5, busy_host_allowed=True))
    grade_catalog(fresh_catalog, load_scheme("v2"))
    row = fresh_catalog.query("SELECT grade, contended FROM latest_labels").rows
    assert row == [("C", True)]
    label = _published(fresh_catalog)
    assert shields_endpoint(label.grade, contended=bool(label.contended))["message"] == (
        "C contended"
    )
    assert "C contended" in badge_svg(label.grade, contended=True)
    block = card_block(label, None)
    assert "Contended: measured while other processes kept the host busy" in block
    assert "47 % of a core" in block
    result = CliRunner().invoke(
        app, ["badge", "org/encoder", "--format", "json", "--catalog", str(fresh_catalog.path)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["message"] == "C est. contended"  # an estimate meter


# -- threads follow the CPUs we may use --------------------------------------------------------


def _cgroup(root: Path, v2_max: str | None = None, v1: tuple[int, int] | None = None) -> None:
    (root / "proc" / "self").mkdir(parents=True)
    if v2_max is not None:
        (root / "proc" / "self" / "cgroup").write_text("0::/job/step\n")
        folder = root / "sys" / "fs" / "cgroup" / "job"
        folder.mkdir(parents=True)
        (folder / "cpu.max").write_text(v2_max + "\n")
        (folder / "step").mkdir()
        (folder / "step" / "cpu.max").write_text("max 100000\n")
    if v1 is not None:
        (root / "proc" / "self" / "cgroup").write_text("4:cpu,cpuacct:/docker/abc\n")
        folder = root / "sys" / "fs" / "cgroup" / "cpu,cpuacct" / "docker" / "abc"
        folder.mkdir(parents=True)
        (folder / "cpu.cfs_quota_us").write_text(f"{v1[0]}\n")
        (folder / "cpu.cfs_period_us").write_text(f"{v1[1]}\n")


def test_thread_count_follows_a_cgroup_v2_quota(tmp_path: Path) -> None:
    _cgroup(tmp_path, v2_max="150000 100000")  # 1.5 CPUs on the parent cgroup
    allowance = cpu_allowance(tmp_path, affinity=lambda: set(range(8)), environ={})
    assert allowance.quota_cpus == pytest.approx(1.5) and allowance.usable_cpus == 2
    assert allowance.quota_source == "sys/fs/cgroup/job"


def test_thread_count_follows_a_cgroup_v1_quota_and_affinity(tmp_path: Path) -> None:
    _cgroup(tmp_path, v1=(400000, 100000))  # 4 CPUs
    assert cpu_allowance(tmp_path, lambda: set(range(16)), {}).usable_cpus == 4
    assert cpu_allowance(tmp_path, lambda: {2, 3}, {}).usable_cpus == 2  # pinned


def test_no_quota_means_the_affinity_mask(tmp_path: Path) -> None:
    _cgroup(tmp_path, v2_max="max 100000")
    allowance = cpu_allowance(tmp_path, affinity=lambda: {0, 1, 2}, environ={})
    assert allowance.quota_cpus is None and allowance.usable_cpus == 3
    assert cpu_allowance(tmp_path / "nowhere", lambda: {0}, {}).usable_cpus == 1


def test_one_warm_up_round_asks_no_agreement() -> None:
    """The AI Energy Score protocol warms up once, as theirs does."""
    protocol = Protocol(warmup_s=0.0, warmup_iterations=1, warmup_rounds=1)
    assert warm_until_steady([(lambda: None, protocol)], lambda: None, Clock()) == 1


def test_an_explicit_omp_num_threads_caps_the_thread_count(tmp_path: Path) -> None:
    """Ray sets OMP_NUM_THREADS to a task's CPUs: two one-CPU tasks on two cores must not
    each start two threads (they would wait on each other and count the spinning)."""
    _cgroup(tmp_path, v2_max="max 100000")
    four = lambda: {0, 1, 2, 3}  # noqa: E731
    ray_task = cpu_allowance(tmp_path, affinity=four, environ={"OMP_NUM_THREADS": "1"})
    assert (ray_task.omp_num_threads, ray_task.usable_cpus) == (1, 1)
    # a cap above the CPUs we have caps nothing; the quota still does
    assert cpu_allowance(tmp_path, four, {"OMP_NUM_THREADS": "8"}).usable_cpus == 4
    _cgroup(tmp_path / "quota", v2_max="200000 100000")
    assert cpu_allowance(tmp_path / "quota", four, {"OMP_NUM_THREADS": "3"}).usable_cpus == 2
    assert cpu_allowance(tmp_path / "quota", four, {"OMP_NUM_THREADS": "1"}).usable_cpus == 1
    # unset, empty, zero or not a number: no cap, as OpenMP itself ignores them
    for value in ("", "0", "-2", "two", "1.5"):
        allowance = cpu_allowance(tmp_path, four, {"OMP_NUM_THREADS": value})
        assert (allowance.omp_num_threads, allowance.usable_cpus) == (None, 4), value
    assert cpu_allowance(tmp_path, four, {}).omp_num_threads is None

"""scanner/benchmark.py's quality gate and variant bookkeeping, one function at a time on
small tensors and hand-made windows: no model is loaded or measured, so the mutation run
(docs/mutants.md) can run these per mutant. tests/test_benchmark_model.py checks the same end
to end, through a benchmark of a tiny model.
"""

from __future__ import annotations

import io
from datetime import datetime

import pytest
import torch

from labels.records import HardwareRecord, WindowRecord
from labels.run_status import RunStatus
from labels.scheme import QualityGate
from scanner.benchmark import (
    BenchmarkJob,
    QualityVerdict,
    _failure,
    _paired_window_records,
    _reason,
    _record_factory,
    _state_dict_mb,
    _tensor_bytes,
    _variant_size_mb,
    _window_record,
    _window_records,
    judge_quality,
)
from scanner.device import Device
from scanner.harness import Measurement, PairedMeasurement, Window
from scanner.tactics.base import BuiltVariant
from scanner.tasks.base import QualityResult

GATE = QualityGate("top1_agreement", 0.99)
EMBEDDINGS = QualityGate("top10_overlap", 0.9, {"spearman": 0.95})


# -- the quality gate ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "qualifies"),
    [(0.99, True), (1.0, True), (0.9899, False), (0.0, False), (float("nan"), False)],
)
def test_a_variant_qualifies_at_the_minimum_and_above(value: float, qualifies: bool) -> None:
    verdict = judge_quality(GATE, QualityResult("top1_agreement", value))
    assert verdict.qualifies is qualifies
    assert verdict.metric == "top1_agreement"
    assert verdict.value == value or not qualifies


def test_a_verdict_below_the_gate_records_why() -> None:
    verdict = judge_quality(GATE, QualityResult("top1_agreement", 0.5, {"cosine": 0.9}))
    assert verdict == QualityVerdict(
        values={"top1_agreement": 0.5, "cosine": 0.9},
        metric="top1_agreement",
        value=0.5,
        shortfalls=("top1_agreement 0.5000 < 0.99",),
    )
    assert verdict.note == "quality gate not met: top1_agreement 0.5000 < 0.99"
    passing = judge_quality(GATE, QualityResult("top1_agreement", 1.0))
    assert passing.note == "" and passing.shortfalls == ()


def test_every_metric_of_the_gate_is_judged_and_every_shortfall_named() -> None:
    quality = QualityResult("top10_overlap", 0.8, {"spearman": 0.5})
    verdict = judge_quality(EMBEDDINGS, quality)
    assert verdict.note == (
        "quality gate not met: top10_overlap 0.8000 < 0.9, spearman 0.5000 < 0.95"
    )
    missing = judge_quality(EMBEDDINGS, QualityResult("top10_overlap", 0.95))
    assert missing.shortfalls == ("spearman not measured",) and not missing.qualifies
    both = judge_quality(EMBEDDINGS, QualityResult("top10_overlap", 0.95, {"spearman": 0.96}))
    assert both.qualifies


def test_the_gated_metric_is_found_among_the_adapters_extra_figures() -> None:
    # the adapter's primary metric is another: the gate reads its own from the extras
    verdict = judge_quality(EMBEDDINGS, QualityResult("cosine", 0.2, {"top10_overlap": 0.95}))
    assert (verdict.metric, verdict.value) == ("top10_overlap", 0.95)
    assert verdict.values == {"cosine": 0.2, "top10_overlap": 0.95}


def test_an_adapter_without_the_gated_metric_is_judged_on_its_own() -> None:
    # a plugin with its own metric names: its primary metric stands in for the gate's
    verdict = judge_quality(GATE, QualityResult("my_score", 0.995))
    assert (verdict.metric, verdict.value, verdict.qualifies) == ("my_score", 0.995, True)
    low = judge_quality(GATE, QualityResult("my_score", 0.5))
    assert low.shortfalls == ("top1_agreement 0.5000 < 0.99",)


def test_the_stored_quality_adds_the_builds_own_figures_and_labelled_accuracy() -> None:
    verdict = judge_quality(GATE, QualityResult("top1_agreement", 1.0, {"cosine": 0.9}))
    assert verdict.stored_values({}, None) == {"top1_agreement": 1.0, "cosine": 0.9}
    stored = verdict.stored_values({"cosine": 0.8, "before_healing": 0.7}, 0.85)
    assert stored == {
        "top1_agreement": 1.0,
        "cosine": 0.8,  # what the build measured itself is kept over the adapter's figure
        "before_healing": 0.7,
        "labelled_accuracy": 0.85,
    }
    assert list(stored) == ["top1_agreement", "cosine", "before_healing", "labelled_accuracy"]
    assert verdict.stored_values({}, 0.0) == {**verdict.values, "labelled_accuracy": 0.0}
    assert verdict.values == {"top1_agreement": 1.0, "cosine": 0.9}  # not changed


# -- windows, in the order they were measured ---------------------------------------------------


def window(energy_j: float, **changes) -> Window:
    values = {
        "duration_s": 2.0,
        "iterations": 10,
        "inferences": 80,
        "energy_j": energy_j,
        "idle_energy_j": 1.0,
        "latency_ms_p50": 12.5,
        "temperature_c": 55.0,
        "sm_clock_mhz": 1400.0,
    }
    return Window(**{**values, **changes})


def test_a_window_record_keeps_every_figure_of_its_window() -> None:
    w = window(10.0)
    record = _window_record("run-1", 3, w, "rapl")
    assert record == WindowRecord(
        run_id="run-1",
        window_index=3,
        duration_s=2.0,
        iterations=10,
        inferences=80,
        energy_j=10.0,
        idle_energy_j=1.0,
        energy_wh_per_1k=w.energy_wh_per_1k,
        energy_wh_per_1k_net=w.energy_wh_per_1k_net,
        latency_ms_p50=12.5,
        power_w=5.0,
        energy_method="rapl",
        temperature_c=55.0,
        sm_clock_mhz=1400.0,
        paired_baseline=False,
        reference_window=False,
    )
    assert _window_record("r", 0, w, "nvml", True).paired_baseline is True
    assert _window_record("r", 0, w, "nvml", reference=True).reference_window is True


def test_unpaired_windows_are_numbered_in_order() -> None:
    measurement = Measurement([window(1.0), window(2.0), window(3.0)], idle_power_w=0.5)
    records = _window_records("run-1", measurement, "estimate")
    assert [(r.window_index, r.energy_j, r.paired_baseline) for r in records] == [
        (0, 1.0, False),
        (1, 2.0, False),
        (2, 3.0, False),
    ]
    assert {(r.run_id, r.energy_method) for r in records} == {("run-1", "estimate")}


def test_paired_windows_interleave_both_roles_as_they_were_measured() -> None:
    variant = Measurement([window(1.0), window(2.0)], idle_power_w=0.5)
    baseline = Measurement([window(10.0), window(20.0)], idle_power_w=0.5)
    paired = PairedMeasurement(variant, baseline, ["baseline", "variant", "variant", "baseline"])
    records = _paired_window_records("run-2", paired, "rapl")
    assert [(r.window_index, r.energy_j, r.paired_baseline) for r in records] == [
        (0, 10.0, True),
        (1, 1.0, False),
        (2, 2.0, False),
        (3, 20.0, True),
    ]
    assert {(r.run_id, r.energy_method) for r in records} == {("run-2", "rapl")}


# -- a variant's size -----------------------------------------------------------------------------


def test_a_variants_size_is_its_files_on_disk_else_its_state_dict() -> None:
    model = torch.nn.Linear(256, 256)  # 65,792 float32 parameters, about 0.25 MiB
    in_memory = _variant_size_mb(BuiltVariant(model))
    saved = io.BytesIO()
    torch.save(model.state_dict(), saved)
    assert in_memory == _state_dict_mb(model) == len(saved.getvalue()) / 2**20  # as saved
    assert in_memory == pytest.approx(65_792 * 4 / 2**20, rel=0.02)
    on_disk = BuiltVariant(model, disk_bytes=3 * 2**20)
    assert _variant_size_mb(on_disk) == 3.0
    assert _variant_size_mb(BuiltVariant(model, disk_bytes=0)) == 0.0


def test_a_compiled_models_size_is_its_original_modules() -> None:
    inner = torch.nn.Linear(128, 128)
    wrapper = torch.nn.Module()
    wrapper._orig_mod = inner  # what torch.compile's wrapper holds the model as
    wrapper.extra = torch.nn.Linear(512, 512)
    assert _state_dict_mb(wrapper) == _state_dict_mb(inner)


def test_a_half_precision_model_counts_half() -> None:
    full = _state_dict_mb(torch.nn.Linear(512, 512))
    half = _state_dict_mb(torch.nn.Linear(512, 512).half())
    assert half == pytest.approx(full / 2, rel=0.02)


class _Unpicklable(torch.nn.Module):
    """A model whose state dict torch.save cannot write: its size is summed by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1024, dtype=torch.float32))

    def state_dict(self, *args, **kwargs):
        return {"weight": self.weight.data, "not_a_tensor": lambda: None, "step": 3}


class _NoStateDict(torch.nn.Module):
    def state_dict(self, *args, **kwargs):
        raise RuntimeError("no state dict")


class _BadTensors(torch.nn.Module):
    def state_dict(self, *args, **kwargs):
        return {"weight": _NoBytes(), "lambda": lambda: None}


class _NoBytes(torch.Tensor):
    def numel(self) -> int:
        raise RuntimeError("no size")


def test_a_state_dict_torch_cannot_save_is_summed_from_its_tensors() -> None:
    assert _state_dict_mb(_Unpicklable()) == 1024 * 4 / 2**20
    assert _state_dict_mb(_NoStateDict()) is None
    assert _state_dict_mb(_BadTensors()) is None


def test_a_tensor_stores_its_elements_times_their_size() -> None:
    assert _tensor_bytes(torch.zeros(10, 3, dtype=torch.float32)) == 120
    assert _tensor_bytes(torch.zeros(7, dtype=torch.int8)) == 7
    assert _tensor_bytes(torch.zeros(0)) == 0
    # a Parameter is a subclass that stores its own data: counted as it is
    assert _tensor_bytes(torch.nn.Parameter(torch.zeros(4))) == 16


class _Packed(torch.Tensor):
    """A tensor subclass that stores its data in inner tensors (as torchao's layouts do)."""

    def __tensor_flatten__(self):
        return ["data_q", "scale"], None


def packed(data: torch.Tensor, scale: torch.Tensor) -> _Packed:
    outer = torch.zeros(data.shape, dtype=torch.float32).as_subclass(_Packed)
    outer.data_q, outer.scale = data, scale
    return outer


def test_a_packed_tensor_is_the_sum_of_its_inner_tensors() -> None:
    packed_tensor = packed(torch.zeros(16, dtype=torch.int8), torch.zeros(2, dtype=torch.float32))
    assert _tensor_bytes(packed_tensor) == 16 + 8  # not 16 float32 elements (64 bytes)
    assert _tensor_bytes(packed_tensor.data_q) == 16


# -- failures ------------------------------------------------------------------------------------


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_a_failures_reason_is_one_line_with_where_it_was_raised() -> None:
    exc = _raised(ValueError("bad shape\nsecond line"))
    line = exc.__traceback__.tb_lineno
    assert _reason(exc) == f"ValueError: bad shape (test_benchmark_bookkeeping.py:{line})"
    assert _reason(ValueError("never raised")) == "ValueError: never raised"
    assert _reason(RuntimeError("")) == "RuntimeError: "
    assert _reason(RuntimeError("  \n  ")) == "RuntimeError: "
    assert _reason(RuntimeError("x" * 600)) == ("RuntimeError: " + "x" * 600)[:500]


@pytest.mark.parametrize(
    "exc",
    [
        torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"),
        torch.OutOfMemoryError("[enforce fail] DefaultCPUAllocator: Out Of Memory"),
        MemoryError(),
    ],
)
def test_out_of_memory_is_named_so(exc: BaseException) -> None:
    assert _reason(_raised(exc)) == "out of memory"


def test_a_message_that_only_mentions_memory_is_not_out_of_memory() -> None:
    # recognised by the exception's type (issue 24), never by its text
    exc = _raised(RuntimeError("[enforce fail] DefaultCPUAllocator: Out Of Memory"))
    assert _reason(exc).startswith("RuntimeError: [enforce fail]")


# -- the run records of one model ------------------------------------------------------------------


HARDWARE = HardwareRecord("fp-1", "cpu-x86-64", "cpu", "cpu", "Xeon", 2, 8.0)
STARTED = datetime(2026, 12, 7, 12, 0, 0)


def job(**changes) -> BenchmarkJob:
    values = {
        "model_id": "org/tiny",
        "revision": "r1",
        "task": "text-classification",
        "path": "/models/org/tiny",
        "device": "cpu",
        "tactics": ["baseline"],
        "scan_id": "scan-9",
        "scheme_version": "v2",
        "hardware": {},
    }
    return BenchmarkJob(**{**values, **changes})


def test_every_record_of_a_model_carries_its_job_hardware_and_versions() -> None:
    make = _record_factory(job(), HARDWARE, STARTED, Device.parse("cpu"))
    first = make("dynamic-int8", RunStatus.OK, energy_wh_per_1k=0.5)
    second = make("baseline", RunStatus.OK, tactic="baseline", started_at=datetime(2026, 1, 1))
    assert first.run_id != second.run_id
    assert (first.scan_id, first.model_id, first.revision, first.task) == (
        "scan-9",
        "org/tiny",
        "r1",
        "text-classification",
    )
    assert (first.hardware_profile, first.hardware_fingerprint) == ("cpu-x86-64", "fp-1")
    assert (first.variant, first.tactic, first.status, first.reason) == (
        "dynamic-int8",
        "dynamic-int8",  # the tactic is the variant's name unless told
        RunStatus.OK,
        None,
    )
    assert (first.device, first.scheme_version, first.protocol) == ("cpu", "v2", "scheme")
    assert first.started_at == STARTED and second.started_at == datetime(2026, 1, 1)
    assert first.finished_at >= first.started_at
    assert first.energy_wh_per_1k == 0.5
    assert first.torch_version == torch.__version__ and first.transformers_version
    assert first.cuda_version is None  # on the CPU, whatever torch was built with
    assert first.harness_version


def test_a_cuda_run_records_the_cuda_build_and_its_protocol(monkeypatch) -> None:
    monkeypatch.setattr(torch.version, "cuda", "12.8")  # as a CUDA build of torch says
    on_gpu = _record_factory(
        job(device="cuda:0", protocol_name="energy-score"),
        HARDWARE,
        STARTED,
        Device.parse("cuda:0"),
    )
    record = on_gpu("baseline", RunStatus.OK)
    assert (record.cuda_version, record.device, record.protocol) == (
        "12.8",
        "cuda:0",
        "energy-score",
    )
    assert (
        _record_factory(job(), HARDWARE, STARTED, Device.parse("cpu"))(
            "b", RunStatus.OK
        ).cuda_version
        is None
    )


def test_a_failed_variant_is_one_record_with_its_reason(capsys) -> None:
    make = _record_factory(job(), HARDWARE, STARTED, Device.parse("cpu"))
    exc = _raised(RuntimeError("boom"))
    record = _failure(make, "static-int8", exc)
    assert (record.variant, record.tactic, record.status) == (
        "static-int8",
        "static-int8",
        RunStatus.FAILED,
    )
    assert record.reason == _reason(exc) and record.reason.startswith("RuntimeError: boom (")
    err = capsys.readouterr().err
    assert err.startswith("benchmark of static-int8 failed:\n")
    assert "Traceback" in err and "RuntimeError: boom" in err

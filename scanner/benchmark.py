"""Benchmark one model: its baseline and every applicable tactic, on one device.

This runs inside the per-model child process (see `scanner.executors`). It returns
catalog records and writes nothing itself: the driver alone writes the catalog.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import gc
import io
import json
import os
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from labels.batching import batch_sweep_to_json
from labels.records import HardwareRecord, RunRecord, RunResult, WindowRecord
from labels.run_status import RunStatus
from labels.scheme import QualityGate, Scheme, SchemeError
from labels.stopping import grade_decided, saving_decided
from labels.tactic_kinds import BASELINE
from labels.timestamps import utc_now
from scanner.batch_sweep import measure_batch_sweep
from scanner.cpu_quota import apply_thread_count, cpu_allowance
from scanner.device import Device, DeviceError
from scanner.energy_score import SCHEME
from scanner.hardware import software_versions
from scanner.harness import (
    HARNESS_VERSION,
    J_PER_WH,
    Measurement,
    PairedMeasurement,
    Protocol,
    Window,
    run_paired_windows,
    run_windows,
)
from scanner.meters.base import EnergyMeter, MeterUnavailable
from scanner.meters.foreign_load import ForeignLoadProbe, busy_reason, probe_for
from scanner.meters.select import select_meter
from scanner.out_of_memory import OUT_OF_MEMORY, is_out_of_memory
from scanner.protocols import BenchmarkProtocol, UnknownProtocol, protocol_named
from scanner.reference import (
    BuiltReference,
    build_reference,
    measure_beside_reference,
    reference_run_fields,
    reference_window_records,
)
from scanner.tactics.base import BuiltVariant, Tactic, TacticContext
from scanner.tactics.registry import get_tactic
from scanner.tasks.base import (
    Batch,
    LoadRefused,
    ModelLoadError,
    QualityResult,
    TaskAdapter,
    UnsupportedTask,
)
from scanner.tasks.eval_data import (
    EvalDataError,
    label_indices,
    labelled_accuracy,
    read_eval_data,
)
from scanner.tasks.registry import adapter_for


@dataclass(frozen=True)
class BenchmarkJob:
    """Everything a child process needs to benchmark one model (JSON-serialisable)."""

    model_id: str
    revision: str
    task: str
    path: str
    device: str
    tactics: list[str]
    scan_id: str
    scheme_version: str
    hardware: dict[str, Any]
    protocol: dict[str, Any] = field(default_factory=dict)
    allow_pickle: bool = False
    meter: str | None = None  # force an energy method
    eval_data: str | None = None  # labelled CSV/JSONL file: labelled accuracy per variant
    protocol_name: str = SCHEME  # a name in scanner.protocols.BENCHMARK_PROTOCOLS
    batch_sizes: list[int] = field(default_factory=list)  # the batching sweep, when asked
    allow_busy_host: bool = False  # grade a contended baseline anyway, marked contended

    @property
    def measuring(self) -> BenchmarkProtocol:
        """The protocol this job is measured by (UnknownProtocol for a name none has)."""
        return protocol_named(self.protocol_name)


@dataclass(frozen=True)
class LabelledEval:
    """Labelled inputs (already on the device) and their class indices."""

    batches: list[Batch]
    labels: torch.Tensor


@dataclass
class ModelBenchmark:
    results: list[RunResult]
    params: int | None = None
    not_applicable: dict[str, str] = field(default_factory=dict)


def benchmark_model(
    job: BenchmarkJob,
    scheme: Scheme,
    *,
    meter: EnergyMeter | None = None,
    on_progress: Callable[[str], None] | None = None,
) -> ModelBenchmark:
    """Measure the baseline, then each tactic; failures become records, never exceptions."""
    torch.manual_seed(0)
    allowance = cpu_allowance()
    threads = apply_thread_count(allowance)  # threads follow the CPUs we may use
    started = utc_now()
    hardware = HardwareRecord(**job.hardware)
    try:
        device = Device.parse(job.device)
    except DeviceError as exc:
        make = _record_factory(job, hardware, started, None)
        return ModelBenchmark([RunResult(make(BASELINE, RunStatus.FAILED, reason=str(exc)))])
    base_record = _record_factory(job, hardware, started, device)
    note = on_progress or (lambda _text: None)

    try:
        measuring = job.measuring
        adapter = adapter_for(job.task)
        workload = measuring.workload(scheme.workload(job.task))
        gate = scheme.quality_gate(job.task)
    except (UnsupportedTask, SchemeError) as exc:  # no adapter, or the scheme lacks the task
        return ModelBenchmark(
            [RunResult(base_record(BASELINE, RunStatus.SKIPPED, reason=str(exc)))]
        )
    except UnknownProtocol as exc:
        return ModelBenchmark([RunResult(base_record(BASELINE, RunStatus.FAILED, reason=str(exc)))])
    except Exception as exc:  # a broken adapter or plugin: a bug, with its traceback logged
        return ModelBenchmark([RunResult(_failure(base_record, BASELINE, exc))])

    path = Path(job.path)
    try:
        note("loading")
        model = adapter.load(path, job.device, allow_pickle=job.allow_pickle)
        if measuring.wants_fp32(job.task):
            model = model.float()
    except LoadRefused as exc:
        return ModelBenchmark(
            [RunResult(base_record(BASELINE, RunStatus.SKIPPED, reason=str(exc)))]
        )
    except ModelLoadError as exc:
        return ModelBenchmark([RunResult(base_record(BASELINE, RunStatus.FAILED, reason=str(exc)))])

    params = sum(p.numel() for p in model.parameters())
    meter_reasons: list[str] = []
    if meter is None:
        try:
            meter, meter_reasons = select_meter(job.device, prefer=job.meter)
        except MeterUnavailable as exc:
            reason = f"no energy meter: {exc}"
            return ModelBenchmark(
                [RunResult(base_record(BASELINE, RunStatus.FAILED, reason=reason))], params
            )
    overrides = measuring.harness_overrides(job.protocol)
    protocol = Protocol.for_device(job.device, **{"noisy_cv": scheme.noisy_cv, **overrides})
    sync = _sync_for(device)
    ctx = TacticContext(
        device=job.device,
        task=job.task,
        model_type=str(getattr(model.config, "model_type", "unknown")),
        compute_capability=_compute_capability(device),
    )
    provenance = {
        "software": software_versions(),
        "meter": meter.describe(),
        "meter_fallback_reasons": meter_reasons,
        "protocol": asdict(protocol),
        "workload": workload,
        "hardware": asdict(hardware),
        # the host's 1-minute load average: a loaded host moves the EEI too (stability.json)
        "host_load_1m": {"start": _load_1m()},
        "cpu_threads": {"threads": threads, **asdict(allowance)},
    }
    probe, probe_note = probe_for(meter)
    provenance["foreign_load"] = {
        "method": probe_method(probe),
        "not_measured": probe_note,
        "busy_cpu_share": protocol.busy_cpu_share,
        "busy_gpu_util_pct": protocol.busy_gpu_util_pct,
    }
    provenance.update(measuring.provenance(job.task, job.device, meter.method))
    other_processes = meter.other_processes()
    if other_processes is not None:
        provenance["other_gpu_processes"] = [asdict(p) for p in other_processes]

    results: list[RunResult] = []
    not_applicable: dict[str, str] = {}
    try:
        batch = adapter.reference_batch(path, model, workload).to(job.device)
        quality_batch = adapter.quality_batch(path, model, workload).to(job.device)
        provenance["reference_inputs"] = batch.source or "adapter"
        ctx = replace(ctx, example_inputs=_example_inputs(batch))
        labelled, eval_note = _prepare_eval(job, adapter, path, model, workload)
        if job.eval_data:
            provenance["eval_data"] = {
                "path": job.eval_data,
                "items": int(labelled.labels.numel()) if labelled else 0,
                "note": eval_note,
            }
        reference = _reference_for(scheme, job, measuring, adapter, workload, note)
        note("idle power")
        idle_power_w = meter.idle_power_w(protocol.idle_s) if protocol.idle_s > 0 else 0.0
        bench = VariantBench(
            model=model,
            ctx=ctx,
            adapter=adapter,
            batch=batch,
            quality_batch=quality_batch,
            meter=meter,
            protocol=protocol,
            sync=sync,
            device=device,
            idle_power_w=idle_power_w,
            quality_gate=gate,
            make_record=functools.partial(
                base_record, cpu_threads=threads, busy_host_allowed=job.allow_busy_host
            ),
            labelled=labelled,
            probe=probe,
            grade_decided=(
                functools.partial(
                    grade_decided, scheme, energy_multiple=reference.spec.energy_multiple
                )
                if reference
                else None
            ),
        )
        baseline_outputs: torch.Tensor | None = None
        tactics = job.tactics if measuring.measures_variants else []
        for name in [BASELINE, *[t for t in tactics if not get_tactic(t).is_baseline]]:
            tactic = get_tactic(name)
            try:
                applicability = tactic.applies_to(model, ctx)
            except Exception as exc:  # a broken check is a failed tactic, not a lost model
                results.append(RunResult(_failure(base_record, name, exc)))
                continue
            if not applicability.applies:
                not_applicable[name] = applicability.reason
                continue
            note(name)
            try:
                result, outputs = _measure_variant(
                    tactic,
                    bench,
                    baseline_outputs,
                    extra_note=eval_note if tactic.is_baseline else "",
                    reference=reference if tactic.is_baseline else None,
                )
            except Exception as exc:  # one tactic failing must not lose the others
                if tactic.is_baseline:
                    raise
                results.append(RunResult(_failure(base_record, name, exc)))
                continue
            finally:
                gc.collect()
                if device.is_cuda:
                    torch.cuda.empty_cache()
            if tactic.is_baseline:
                baseline_outputs = outputs
                reference = None  # only the baseline is measured beside it: free its memory
                if job.batch_sizes and measuring.sweeps_batch_sizes:
                    note("batch sizes")
                    sweep = measure_batch_sweep(
                        adapter,
                        path,
                        model,
                        workload,
                        job.batch_sizes,
                        meter,
                        device=job.device,
                        protocol=protocol,
                        idle_power_w=idle_power_w,
                        sync=sync,
                    )
                    result = RunResult(
                        _with(result.run, batch_sweep_json=batch_sweep_to_json(sweep)),
                        result.windows,
                    )
            results.append(result)
            if protocol.cooldown_s > 0:
                time.sleep(protocol.cooldown_s)
    except Exception as exc:
        return ModelBenchmark([RunResult(_failure(base_record, BASELINE, exc))], params)
    finally:
        meter.close()

    provenance["not_applicable"] = not_applicable
    provenance["host_load_1m"]["end"] = _load_1m()
    finished = [
        RunResult(_with(r.run, provenance_json=json.dumps(provenance, default=str)), r.windows)
        for r in results
    ]
    return ModelBenchmark(finished, params, not_applicable)


def _example_inputs(batch: Batch) -> dict[str, Any]:
    """At most two items of the reference batch, on the CPU: what a tactic that exports
    the model (ONNX) traces it with; the real inputs, so their names and dtypes match."""
    first = batch.split(2)[0] if batch.inferences > 0 else batch
    return {
        name: value.detach().cpu() if isinstance(value, torch.Tensor) else value
        for name, value in first.kwargs.items()
    }


def _load_1m() -> float | None:
    """The host's 1-minute load average, or None where the OS does not report one."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


@dataclass(frozen=True)
class VariantBench:
    """What measuring any variant of one model needs; the same for every tactic."""

    model: torch.nn.Module  # the baseline as loaded: each variant is built from a copy
    ctx: TacticContext
    adapter: TaskAdapter
    batch: Batch  # the scheme's reference workload, on the device
    quality_batch: Batch  # the items quality is judged on
    meter: EnergyMeter
    protocol: Protocol
    sync: Callable[[], None]
    device: Device
    idle_power_w: float
    quality_gate: QualityGate  # the scheme's: one metric's minimum, and any `also`
    make_record: Callable[..., RunRecord]
    labelled: LabelledEval | None = None
    # the grade is certain from these model/reference pair ratios (labels/stopping.py)
    grade_decided: Callable[[list[float]], bool] | None = None
    probe: ForeignLoadProbe | None = None  # foreign load per window (None: not measured)


@dataclass(frozen=True)
class QualityVerdict:
    """A variant's outputs judged by the scheme's quality gate: what the run records."""

    values: dict[str, float]  # every figure the adapter computed, by metric name
    metric: str  # the gated metric, or the adapter's own where it lacks the scheme's
    value: float
    shortfalls: tuple[str, ...]  # one line per metric under its minimum (or missing)

    @property
    def qualifies(self) -> bool:
        return not self.shortfalls

    @property
    def note(self) -> str:
        """The run's note when the gate is not met, else ''."""
        return f"quality gate not met: {', '.join(self.shortfalls)}" if self.shortfalls else ""

    def stored_values(
        self, build_quality: dict[str, float], accuracy: float | None
    ) -> dict[str, float]:
        """The run's `quality_json`: the gate's figures, then what the build judged itself
        (a healed variant's quality before healing, say), then labelled accuracy."""
        values = {**self.values, **build_quality}
        if accuracy is not None:
            values["labelled_accuracy"] = accuracy
        return values


def judge_quality(gate: QualityGate, quality: QualityResult) -> QualityVerdict:
    """The gate's verdict on an adapter's quality figures (labels/scheme.py's QualityGate)."""
    values = {quality.metric: quality.value, **quality.extra}
    return QualityVerdict(
        values=values,
        metric=gate.metric if gate.metric in values else quality.metric,
        value=gate.value_of(values, quality.value),
        shortfalls=tuple(gate.shortfalls(values, quality.value)),
    )


def _reference_for(
    scheme: Scheme,
    job: BenchmarkJob,
    measuring: BenchmarkProtocol,
    adapter: TaskAdapter,
    workload: dict[str, Any],
    note: Callable[[str], None],
) -> BuiltReference | None:
    """The task's reference model under a paired scheme (v2 on), else None (v1, and the
    energy-score protocol, whose runs are never graded)."""
    spec = scheme.reference_model(job.task)
    if spec is None or not measuring.pairs_with_reference:
        return None
    note("reference model")
    return build_reference(spec, adapter, workload, job.device)


def _measure_variant(
    tactic: Tactic,
    bench: VariantBench,
    baseline_outputs: torch.Tensor | None,
    *,
    extra_note: str = "",
    reference: BuiltReference | None = None,
) -> tuple[RunResult, torch.Tensor]:
    """Build the variant inside a metered window, measure it (paired with the baseline
    unless it is the baseline), and judge its outputs against the baseline's."""
    model, ctx, adapter, batch, meter = (
        bench.model,
        bench.ctx,
        bench.adapter,
        bench.batch,
        bench.meter,
    )
    protocol, sync, idle_power_w = bench.protocol, bench.sync, bench.idle_power_w
    started = utc_now()
    candidate = model if tactic.is_baseline else copy.deepcopy(model)
    _reset_peak_memory(bench.device)
    with torch.inference_mode():
        sync()
        meter.start()
        build_t0 = time.perf_counter()
        built = tactic.build(candidate, ctx)
        variant_batch = batch.cast(built.input_dtype)
        if tactic.warms_up_during_build:
            adapter.run(built.model, variant_batch)  # e.g. compilation happens here
        sync()
        build_s = time.perf_counter() - build_t0
        build_reading = meter.stop()

        # quality first: a variant outside the gate can stop its pairs early
        outputs = _outputs(adapter, built, bench.quality_batch.split(batch.inferences))
        labelled = bench.labelled
        accuracy = _labelled_accuracy(adapter, built, labelled) if labelled else None
        quality = adapter.quality(
            outputs if baseline_outputs is None else baseline_outputs, outputs
        )
        verdict = judge_quality(bench.quality_gate, quality)
        qualifies = verdict.qualifies
        variant_call = functools.partial(adapter.run, built.model, variant_batch)
        paired: PairedMeasurement | None = None
        beside_reference: PairedMeasurement | None = None
        if tactic.is_baseline and reference is not None:  # scheme v2: the grade's pairs
            beside_reference = measure_beside_reference(
                variant_call,
                batch.inferences,
                reference,
                meter,
                protocol=protocol,
                idle_power_w=idle_power_w,
                sync=sync,
                decided=bench.grade_decided,
                probe=bench.probe,
            )
            measurement = beside_reference.variant
        elif tactic.is_baseline:
            measurement = run_windows(
                variant_call,
                meter,
                inferences_per_call=batch.inferences,
                protocol=protocol,
                idle_power_w=idle_power_w,
                sync=sync,
                probe=bench.probe,
            )
        else:  # interleaved with the baseline, so drift cannot pass for a saving
            paired = run_paired_windows(
                variant_call,
                functools.partial(adapter.run, model, batch),
                meter,
                variant_inferences_per_call=batch.inferences,
                baseline_inferences_per_call=batch.inferences,
                protocol=protocol,
                idle_power_w=idle_power_w,
                sync=sync,
                decided=functools.partial(saving_decided, qualifies=qualifies),
                probe=bench.probe,
            )
            measurement = paired.variant
    peak_mem_mb = _peak_memory_mb(bench.device)
    quality_values = verdict.stored_values(built.build_quality, accuracy)
    notes = "; ".join(n for n in (built.notes, extra_note, verdict.note) if n)
    # a classifier's baseline keeps its top-1 classes: other models compare with them
    top1 = (
        adapter.top1_labels(built.model, outputs, bench.quality_batch)
        if tactic.is_baseline
        else None
    )
    run = bench.make_record(
        tactic.name,
        RunStatus.OK,
        reason=(
            contended_reason(measurement, beside_reference or paired)
            if measurement.contended
            else None
        ),
        **foreign_run_fields(measurement, beside_reference or paired, bench.probe),
        tactic=tactic.name,
        started_at=started,
        dtype=built.dtype,
        batch_size=batch.inferences,
        input_shape=batch.input_shape,
        windows=len(measurement.windows),
        energy_wh_per_1k=measurement.energy_wh_per_1k,
        energy_wh_per_1k_net=measurement.energy_wh_per_1k_net,
        energy_wh_per_1k_min=min(w.energy_wh_per_1k for w in measurement.windows),
        energy_wh_per_1k_max=max(w.energy_wh_per_1k for w in measurement.windows),
        energy_cv=measurement.energy_cv,
        noisy=measurement.noisy,
        latency_ms_p50=measurement.latency_ms_p50,
        latency_ms_p95=measurement.latency_ms_p95,
        peak_mem_mb=peak_mem_mb,
        idle_power_w=idle_power_w,
        quality_metric=verdict.metric,
        quality_value=verdict.value,
        quality_json=json.dumps(quality_values),
        qualifies=qualifies,
        build_s=0.0 if tactic.is_baseline else build_s,
        build_energy_wh=0.0 if tactic.is_baseline else build_reading.energy_j / J_PER_WH,
        size_mb=_variant_size_mb(built),
        build_disk_bytes=built.disk_bytes,
        notes=notes or None,
        energy_method=meter.method,
        paired_baseline_wh_per_1k=paired.baseline.energy_wh_per_1k if paired else None,
        paired_energy_ratio=paired.energy_ratio if paired else None,
        paired_latency_ratio=paired.latency_ratio if paired else None,
        paired_cheaper_windows=paired.cheaper_pairs if paired else None,
        **(reference_run_fields(reference.spec, beside_reference) if beside_reference else {}),
        top1_labels_json=json.dumps(top1, separators=(",", ":")) if top1 else None,
    )
    if beside_reference is not None:
        windows = reference_window_records(
            run.run_id, beside_reference, meter.method, _window_record
        )
    elif paired:
        windows = _paired_window_records(run.run_id, paired, meter.method)
    else:
        windows = _window_records(run.run_id, measurement, meter.method)
    del built, candidate
    return RunResult(run, windows), outputs


def _prepare_eval(
    job: BenchmarkJob,
    adapter: TaskAdapter,
    path: Path,
    model: torch.nn.Module,
    workload: dict[str, Any],
) -> tuple[LabelledEval | None, str]:
    """Load `--eval-data` once per model; a problem becomes a note, never a failed model."""
    if not job.eval_data:
        return None, ""
    try:
        examples = read_eval_data(job.eval_data)
        id2label = getattr(model.config, "id2label", None) or {}
        labels = torch.tensor(label_indices(examples, id2label), dtype=torch.long)
        texts = [e.text for e in examples]
        batches = [b.to(job.device) for b in adapter.eval_batches(path, model, texts, workload)]
    except (EvalDataError, UnsupportedTask) as exc:
        return None, f"eval data not used: {exc}"
    return LabelledEval(batches, labels), f"labelled accuracy on {len(examples)} items"


def _labelled_accuracy(adapter: TaskAdapter, built: Any, labelled: LabelledEval) -> float:
    return labelled_accuracy(_outputs(adapter, built, labelled.batches), labelled.labels)


def _outputs(adapter: TaskAdapter, built: Any, batches: list[Batch]) -> torch.Tensor:
    """The variant's outputs for `batches`, concatenated, as float32 on the CPU."""
    return torch.cat(
        [
            adapter.outputs(built.model, b.cast(built.input_dtype)).detach().float().cpu()
            for b in batches
        ]
    )


def _record_factory(
    job: BenchmarkJob, hardware: HardwareRecord, started: datetime, device: Device | None
) -> Callable[..., RunRecord]:
    versions = {
        "torch_version": torch.__version__,
        "transformers_version": _transformers_version(),
        "cuda_version": torch.version.cuda if device and device.is_cuda else None,
    }

    def make(
        variant: str,
        status: RunStatus,
        *,
        reason: str | None = None,
        tactic: str | None = None,
        **values: Any,
    ) -> RunRecord:
        return RunRecord(
            run_id=str(uuid.uuid4()),
            scan_id=job.scan_id,
            model_id=job.model_id,
            revision=job.revision,
            task=job.task,
            hardware_profile=hardware.profile,
            hardware_fingerprint=hardware.fingerprint,
            variant=variant,
            tactic=tactic or variant,
            status=status,
            reason=reason,
            device=job.device,
            harness_version=HARNESS_VERSION,
            scheme_version=job.scheme_version,
            protocol=job.protocol_name,
            started_at=values.pop("started_at", started),
            finished_at=utc_now(),
            **versions,
            **values,
        )

    return make


def _window_records(run_id: str, measurement: Measurement, method: str) -> list[WindowRecord]:
    return [_window_record(run_id, i, w, method) for i, w in enumerate(measurement.windows)]


def _paired_window_records(
    run_id: str, paired: PairedMeasurement, method: str
) -> list[WindowRecord]:
    """Both roles' windows, numbered in the order they were measured."""
    pending = {"variant": iter(paired.variant.windows), "baseline": iter(paired.baseline.windows)}
    return [
        _window_record(run_id, i, next(pending[role]), method, role == "baseline")
        for i, role in enumerate(paired.order)
    ]


def _window_record(
    run_id: str,
    index: int,
    w: Window,
    method: str,
    paired_baseline: bool = False,
    *,
    reference: bool = False,
) -> WindowRecord:
    return WindowRecord(
        run_id=run_id,
        window_index=index,
        duration_s=w.duration_s,
        iterations=w.iterations,
        inferences=w.inferences,
        energy_j=w.energy_j,
        idle_energy_j=w.idle_energy_j,
        energy_wh_per_1k=w.energy_wh_per_1k,
        energy_wh_per_1k_net=w.energy_wh_per_1k_net,
        latency_ms_p50=w.latency_ms_p50,
        power_w=w.power_w,
        energy_method=method,
        temperature_c=w.temperature_c,
        sm_clock_mhz=w.sm_clock_mhz,
        paired_baseline=paired_baseline,
        reference_window=reference,
        foreign_cpu_cores=w.foreign.cpu_cores,
        foreign_cpu_share=w.foreign.cpu_share,
        foreign_gpu_processes=w.foreign.gpu_processes,
        foreign_gpu_util_pct=w.foreign.gpu_util_pct,
    )


def contended_reason(measurement: Measurement, paired: PairedMeasurement | None) -> str:
    """How busy the host was over the busy windows kept, in words."""
    windows = measurement.windows + (paired.baseline.windows if paired else [])
    busiest = max(windows, key=lambda w: w.foreign.cpu_cores or 0.0)
    return busy_reason(busiest.foreign.cpu_cores, busiest.foreign.gpu_processes)


def probe_method(probe: ForeignLoadProbe | None) -> str | None:
    """What the foreign load was read from, e.g. "proc-stat+nvml-per-process"."""
    if probe is None:
        return None
    parts = (["proc-stat"] if probe.cpu else []) + (["nvml"] if probe.gpu else [])
    return "+".join(parts) or None


def foreign_run_fields(
    measurement: Measurement, paired: PairedMeasurement | None, probe: ForeignLoadProbe | None
) -> dict[str, Any]:
    """The run's foreign-load columns (m008) from all its kept windows, both roles' when
    paired (a busy reference window biases the ratio as much as a busy model window)."""
    windows = measurement.windows + (paired.baseline.windows if paired else [])
    both = Measurement(windows, measurement.idle_power_w)
    gpu_methods = {w.foreign.gpu_method for w in windows if w.foreign.gpu_method}
    method = probe_method(probe)
    if method and gpu_methods:
        method = method.replace("nvml", "+".join(sorted(gpu_methods)))
    return {
        "foreign_cpu_cores": both.foreign_cpu_cores,
        "foreign_cpu_share": both.foreign_cpu_share,
        "foreign_cpu_share_max": both.foreign_cpu_share_max,
        "foreign_gpu_processes": both.foreign_gpu_processes,
        "foreign_gpu_util_pct": both.foreign_gpu_util_pct,
        "foreign_load_method": method,
        "busy_remeasured": measurement.remeasured,
        "contended": measurement.contended,
    }


def _with(run: RunRecord, **changes: Any) -> RunRecord:
    return replace(run, **changes)


def _sync_for(device: Device) -> Callable[[], None]:
    if device.is_cuda:
        return torch.cuda.synchronize
    return lambda: None


def _compute_capability(device: Device) -> tuple[int, int] | None:
    if device.is_cuda and torch.cuda.is_available():
        return torch.cuda.get_device_capability(torch.device(str(device)))
    return None


def _reset_peak_memory(device: Device) -> None:
    if device.is_cuda:
        torch.cuda.reset_peak_memory_stats(torch.device(str(device)))
        return
    with contextlib.suppress(OSError):  # Linux: "5" resets the peak resident set (VmHWM)
        Path("/proc/self/clear_refs").write_text("5")


def _peak_memory_mb(device: Device) -> float | None:
    if device.is_cuda:
        return torch.cuda.max_memory_allocated(torch.device(str(device))) / 2**20
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _variant_size_mb(built: BuiltVariant) -> float | None:
    """The files it runs from, for a variant the build wrote to disk (ONNX), else its
    state dict."""
    if built.disk_bytes is not None:
        return built.disk_bytes / 2**20
    return _state_dict_mb(built.model)


def _state_dict_mb(model: torch.nn.Module) -> float | None:
    """Size of the variant's weights as torch.save writes them (packed int8 included).

    Pruned layers are smaller tensors, so they count smaller; masked pruning keeps dense
    zeros and counts the same. Where torch.save cannot pickle a tensor subclass (some
    torchao layouts), the size is the sum of the bytes of its inner tensors.
    """
    inner = getattr(model, "_orig_mod", model)
    try:
        state = inner.state_dict()
    except Exception:
        return None
    buffer = io.BytesIO()
    try:
        torch.save(state, buffer)
        return buffer.tell() / 2**20
    except Exception:
        pass
    try:
        return sum(_tensor_bytes(v) for v in state.values() if isinstance(v, torch.Tensor)) / 2**20
    except Exception:
        return None


def _tensor_bytes(tensor: torch.Tensor) -> int:
    """Bytes a tensor stores; a subclass (torchao) is the sum of its inner tensors."""
    flatten = getattr(type(tensor), "__tensor_flatten__", None)
    if flatten is not None and type(tensor) is not torch.Tensor:
        names, _context = tensor.__tensor_flatten__()
        return sum(_tensor_bytes(getattr(tensor, name)) for name in names)
    return tensor.numel() * tensor.element_size()


def _transformers_version() -> str | None:
    try:
        import transformers

        return transformers.__version__
    except ImportError:
        return None


def _failure(make_record: Callable[..., RunRecord], name: str, exc: BaseException) -> RunRecord:
    """The one failed-run record of the benchmark, for variant `name`.

    The traceback goes to stderr (the worker's log), so a bug in a tactic, an adapter or
    this harness can be found; the record keeps the one-line reason.
    """
    print(f"benchmark of {name} failed:", file=sys.stderr)
    traceback.print_exception(exc, file=sys.stderr)
    return make_record(name, RunStatus.FAILED, reason=_reason(exc), tactic=name)


def _reason(exc: BaseException) -> str:
    if is_out_of_memory(exc):
        return OUT_OF_MEMORY
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    location = f" ({Path(where.filename).name}:{where.lineno})" if where else ""
    return f"{type(exc).__name__}: {first}{location}"[:500]

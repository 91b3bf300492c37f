"""A scan: benchmark every discovered model that is new or changed, and record it all.

Incremental: a model whose revision, harness version and scheme version are already in
the catalog for this hardware is not benchmarked again (unless `force`). Each model is
written in one transaction when it finishes, so a scan killed at any point and run again
finishes the remaining models with no duplicate and no half-written rows.
"""

from __future__ import annotations

import dataclasses
import json
import math
import struct
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from labels.catalog import Catalog
from labels.records import HardwareRecord, ModelRecord, RunResult
from labels.run_status import RunStatus
from labels.scheme import DEFAULT_SCHEME_VERSION
from labels.tactic_kinds import is_baseline_variant
from scanner.benchmark import BenchmarkJob
from scanner.discovery.base import ModelRef
from scanner.energy_score import SCHEME
from scanner.executors.registry import make_executor
from scanner.hardware import detect_hardware
from scanner.harness import HARNESS_VERSION
from scanner.meters.foreign_load import foreign_load_note
from scanner.tactics.registry import default_tactic_names, get_tactic
from scanner.unmeasured import unmeasured_run


class ScanEvent(StrEnum):
    """What happened to one model, as the scan reports it to `on_event`."""

    START = "start"  # its benchmark begins
    UNCHANGED = "unchanged"  # already measured at this revision
    SKIPPED = "skipped"  # not usable (unsupported task, no safetensors, too large…)
    FAILED = "failed"  # tried and failed, or the Hub failed us
    DONE = "done"  # benchmarked and written
    CONTENDED = "contended"  # measured, but the host was too busy for a clean grade


ProgressCallback = Callable[[ScanEvent, ModelRef, str], None]


@dataclass(frozen=True)
class ScanOptions:
    device: str = "cpu"
    tactics: list[str] | None = None  # None: the default tactics for the device
    protocol: dict[str, float | int] = field(default_factory=dict)
    force: bool = False
    allow_pickle: bool = False
    timeout_s: float | None = 1800.0
    executor: str = "subprocess"
    address: str | None = None  # Ray cluster address
    max_params: int | None = None  # skip models with more parameters than this
    meter: str | None = None
    scheme_version: str = DEFAULT_SCHEME_VERSION
    eval_data: str | None = None  # labelled CSV/JSONL file: labelled accuracy per variant
    protocol_name: str = SCHEME  # a name in scanner.protocols.BENCHMARK_PROTOCOLS
    batch_sizes: list[int] = field(default_factory=list)  # the batching sweep (labels.batching)
    allow_busy_host: bool = False  # grade contended baselines anyway, marked contended


@dataclass
class ScanSummary:
    """How many models of a scan went each way; each model is counted once."""

    scan_id: str
    benchmarked: int = 0
    unchanged: int = 0
    skipped: int = 0
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    contended: int = 0  # benchmarked, but clean windows could not be had (a busy host)
    foreign_load_note: str | None = None  # why foreign load is not measured, said once

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def exit_status(self, allow_busy_host: bool = False) -> int:
        """1 when a model failed; else 3 when a model was contended and so not graded
        (measure it again on a quieter host, or pass --allow-busy-host); else 0."""
        if self.failed:
            return 1
        return 3 if self.contended and not allow_busy_host else 0


def scan(
    refs: Iterable[ModelRef],
    catalog: Catalog,
    options: ScanOptions,
    *,
    hardware: HardwareRecord | None = None,
    on_event: ProgressCallback | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> ScanSummary:
    """Benchmark what is new in `refs` and write each model to `catalog` as it finishes."""
    hardware = hardware or detect_hardware(options.device)
    tactics = options.tactics or default_tactic_names(options.device)
    for name in tactics:
        get_tactic(name)  # unknown names fail before any work starts
    summary = ScanSummary(scan_id=_new_scan_id(), foreign_load_note=foreign_load_note())
    event = on_event or (lambda _kind, _ref, _detail: None)
    refs_by_job: dict[str, ModelRef] = {}
    # One query for the whole listing: a rescan of thousands of models must not ask per model.
    measured = (
        set()
        if options.force
        else catalog.measured_revisions(
            hardware.profile, HARNESS_VERSION, options.scheme_version, options.protocol_name
        )
    )

    def pending_jobs() -> Iterable[BenchmarkJob]:
        for ref in refs:
            if should_stop():
                return
            if (ref.model_id, ref.revision) in measured:
                summary.unchanged += 1
                event(ScanEvent.UNCHANGED, ref, "already measured at this revision")
                continue
            if ref.skip_reason is None and ref.path is not None:
                ref = _over_max_params(ref, options.max_params)
            if ref.skip_reason and ref.skip_status is RunStatus.FAILED:
                # The Hub failed us, not the model: a failure to report, tried again next scan.
                _record_skipped(catalog, ref, hardware, summary, options, status=RunStatus.FAILED)
                event(ScanEvent.FAILED, ref, ref.skip_reason)
                continue
            if ref.skip_reason or ref.path is None:
                _record_skipped(catalog, ref, hardware, summary, options)
                event(ScanEvent.SKIPPED, ref, ref.skip_reason or "not fetched")
                continue
            job = BenchmarkJob(
                model_id=ref.model_id,
                revision=ref.revision,
                task=ref.task,
                path=str(ref.path),
                device=options.device,
                tactics=list(tactics),
                scan_id=summary.scan_id,
                scheme_version=options.scheme_version,
                hardware=dataclasses.asdict(hardware),
                protocol=dict(options.protocol),
                allow_pickle=options.allow_pickle,
                meter=options.meter,
                eval_data=options.eval_data,
                protocol_name=options.protocol_name,
                batch_sizes=list(options.batch_sizes),
                allow_busy_host=options.allow_busy_host,
            )
            refs_by_job[_job_key(job)] = ref
            event(ScanEvent.START, ref, "benchmarking")
            yield job

    executor = make_executor(options.executor, timeout_s=options.timeout_s, address=options.address)
    try:
        for job, result in executor.run_all(pending_jobs()):
            ref = refs_by_job[_job_key(job)]
            if too_many_params(result.params, options.max_params):
                # Weights without a safetensors header are counted only once loaded.
                ref = dataclasses.replace(
                    ref, skip_reason=max_params_reason(result.params, options.max_params)
                )
                _record_skipped(catalog, ref, hardware, summary, options)
                event(ScanEvent.SKIPPED, ref, ref.skip_reason or "too many parameters")
                continue
            catalog.record_model_results(model_record(ref, result.params), hardware, result.results)
            # Counted by what the baseline turned out to be: each model lands in exactly one of
            # benchmarked, skipped (no adapter, refused to load) or failed.
            baseline = next(
                (r.run for r in result.results if is_baseline_variant(r.run.variant)), None
            )
            if baseline is None or baseline.status == RunStatus.FAILED:
                reason = baseline.reason if baseline else "no baseline run"
                summary.failed += 1
                summary.failures.append((ref.model_id, reason or "failed"))
                event(ScanEvent.FAILED, ref, reason or "failed")
            elif baseline.status == RunStatus.SKIPPED:
                summary.skipped += 1
                event(ScanEvent.SKIPPED, ref, baseline.reason or "skipped")
            else:
                summary.benchmarked += 1
                if baseline.contended:
                    summary.contended += 1
                    event(ScanEvent.CONTENDED, ref, baseline.reason or "the host was busy")
                else:
                    event(ScanEvent.DONE, ref, f"{len(result.results)} variants")
    finally:
        executor.close()
    return summary


def too_many_params(params: int | None, max_params: int | None) -> bool:
    return params is not None and max_params is not None and params > max_params


def max_params_reason(params: int | None, max_params: int | None) -> str:
    return f"too big: {params:,} parameters, over the --max-params limit of {max_params:,}"


def safetensors_parameter_count(folder: Path) -> int | None:
    """Parameters in a folder's safetensors files, read from their headers alone.

    None when there are no safetensors files or a header cannot be read: the count then
    comes from the loaded model.
    """
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    try:
        for file in files:
            with file.open("rb") as handle:
                (header_len,) = struct.unpack("<Q", handle.read(8))
                header = json.loads(handle.read(header_len))
            for name, tensor in header.items():
                if name != "__metadata__":
                    total += math.prod(tensor["shape"])
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None
    return total


def _over_max_params(ref: ModelRef, max_params: int | None) -> ModelRef:
    """`ref` with a skip reason when it has more parameters than `max_params`."""
    if max_params is None:
        return ref
    known = ref.metadata.get("params")
    params = int(known) if known else None
    if params is None and ref.path is not None:
        params = safetensors_parameter_count(Path(ref.path))
    if too_many_params(params, max_params):
        return dataclasses.replace(ref, skip_reason=max_params_reason(params, max_params))
    return ref


def model_record(ref: ModelRef, params: int | None = None) -> ModelRecord:
    return ModelRecord(
        model_id=ref.model_id,
        revision=ref.revision,
        task=ref.task,
        source=ref.source,
        synthetic=ref.synthetic,
        library=ref.library,
        pipeline_tag=ref.pipeline_tag,
        license=ref.license,
        gated=ref.gated,
        downloads=ref.downloads,
        likes=ref.likes,
        params=params,
        weights_mb=ref.weights_mb,
        tags_json=json.dumps(list(ref.tags)),
        model_index_json=ref.model_index_json,
    )


def _record_skipped(
    catalog: Catalog,
    ref: ModelRef,
    hardware: HardwareRecord,
    summary: ScanSummary,
    options: ScanOptions,
    *,
    status: RunStatus = RunStatus.SKIPPED,
) -> None:
    run = unmeasured_run(
        scan_id=summary.scan_id,
        model_id=ref.model_id,
        revision=ref.revision,
        task=ref.task,
        hardware_profile=hardware.profile,
        hardware_fingerprint=hardware.fingerprint,
        device=options.device,
        scheme_version=options.scheme_version,
        status=status,
        reason=ref.skip_reason or "not fetched",
        protocol=options.protocol_name,
    )
    catalog.record_model_results(model_record(ref), hardware, [RunResult(run)])
    if status is RunStatus.FAILED:
        summary.failed += 1
        summary.failures.append((ref.model_id, run.reason or "failed"))
    else:
        summary.skipped += 1


def _job_key(job: object) -> str:
    return f"{job.model_id}@{job.revision}"  # type: ignore[attr-defined]


def _new_scan_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]

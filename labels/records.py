"""Typed rows of the catalog. Field names carry their units; each maps to one table column."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ModelRecord:
    """A model at one revision, as discovered (table `models`)."""

    model_id: str
    revision: str
    task: str
    source: str  # demo | local | hub
    synthetic: bool = False
    library: str | None = None
    pipeline_tag: str | None = None
    license: str | None = None
    gated: str | None = None  # None, "auto" or "manual"
    downloads: int | None = None
    likes: int | None = None
    params: int | None = None
    weights_mb: float | None = None
    tags_json: str = "[]"
    card_summary: str | None = None
    # the card's `model-index` results, normalised by `labels.model_index` (m006)
    model_index_json: str = "[]"


@dataclass(frozen=True)
class HardwareRecord:
    """One concrete machine; `profile` names the class that grades compare within."""

    fingerprint: str
    profile: str  # e.g. cpu-x86-64, gpu-h100-80gb
    kind: str  # cpu | gpu
    device_name: str
    cpu_model: str
    cpu_cores: int
    memory_gb: float
    gpu_driver: str | None = None
    gpu_power_limit_w: float | None = None
    gpu_memory_gb: float | None = None


@dataclass(frozen=True)
class RunRecord:
    """One variant of one model benchmarked once on one machine (table `runs`).

    `status` is `ok`, `failed` (an error while loading, building or measuring) or
    `skipped` (a rule kept us from running it: remote code, pickle weights, gated, too big).
    A failed or skipped model has one run with variant `baseline` and the reason.
    """

    run_id: str
    scan_id: str
    model_id: str
    revision: str
    task: str
    hardware_profile: str
    hardware_fingerprint: str
    variant: str
    tactic: str
    status: str
    reason: str | None = None
    energy_method: str | None = None
    device: str | None = None
    dtype: str | None = None
    batch_size: int | None = None
    input_shape: str | None = None
    harness_version: str = ""
    scheme_version: str = ""
    torch_version: str | None = None
    transformers_version: str | None = None
    cuda_version: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    windows: int = 0
    energy_wh_per_1k: float | None = None  # median over windows, gross
    energy_wh_per_1k_net: float | None = None  # median over windows, idle power subtracted
    energy_wh_per_1k_min: float | None = None
    energy_wh_per_1k_max: float | None = None
    energy_cv: float | None = None  # coefficient of variation over windows
    noisy: bool = False
    latency_ms_p50: float | None = None  # per batch
    latency_ms_p95: float | None = None
    peak_mem_mb: float | None = None
    idle_power_w: float | None = None
    quality_metric: str | None = None
    quality_value: float | None = None
    quality_json: str = "{}"
    qualifies: bool | None = None
    build_s: float | None = None
    build_energy_wh: float | None = None
    size_mb: float | None = None
    notes: str | None = None
    provenance_json: str = "{}"
    # Variants only: the windows were interleaved with baseline windows (harness 2).
    paired_baseline_wh_per_1k: float | None = None  # median of those baseline windows
    paired_energy_ratio: float | None = None  # median over pairs of variant / baseline
    paired_latency_ratio: float | None = None  # the same for the windows' median latency
    paired_cheaper_windows: int | None = None  # pairs in which the variant used less
    # Baselines under a paired scheme (v2 on): measured beside the task's reference model.
    reference_model: str | None = None  # the scheme's reference id, e.g. v2/bert-base-encoder
    reference_config_sha256: str | None = None  # sha256 of its config file
    reference_energy_wh_per_1k: float | None = None  # median of the reference's windows
    reference_ratios_json: str | None = None  # [E_model / E_reference] per pair, in order
    # "scheme" (graded) or "energy-score" (the AI Energy Score protocol, never graded)
    protocol: str = "scheme"
    # Baselines only, when asked (`--batch-sizes`): the batching sweep, see labels/batching.py
    batch_sweep_json: str | None = None
    # Classifier baselines (m006): {"labels": [class names by index], "top1": [the predicted
    # class name of each quality input, in order], "inputs": where those inputs came from}
    top1_labels_json: str | None = None
    # Build cost on disk (m007): bytes of the files the variant runs from (an ONNX model),
    # when its build wrote any; None for variants that live in memory only.
    build_disk_bytes: int | None = None
    # Foreign load (m008): what other processes took while the kept windows were measured.
    foreign_cpu_cores: float | None = None  # median over windows: cores' worth not ours
    foreign_cpu_share: float | None = None  # median share of the CPUs we may run on (0..1)
    foreign_cpu_share_max: float | None = None  # the busiest kept window's share
    foreign_gpu_processes: int | None = None  # most other compute processes on our GPU
    foreign_gpu_util_pct: float | None = None  # median of their SM utilisation (per-process)
    foreign_load_method: str | None = None  # e.g. "proc-stat", "proc-stat+nvml-per-process"
    busy_remeasured: int = 0  # busy windows (pairs) thrown away and measured again
    # clean windows could not be had: figures kept, not graded unless `busy_host_allowed`
    contended: bool = False
    busy_host_allowed: bool = False  # measured with --allow-busy-host: graded anyway
    cpu_threads: int | None = None  # torch's intra-op threads (the CPUs we may use)


@dataclass(frozen=True)
class WindowRecord:
    """One measured window of a run (table `measurements`)."""

    run_id: str
    window_index: int
    duration_s: float
    iterations: int
    inferences: int
    energy_j: float
    idle_energy_j: float
    energy_wh_per_1k: float
    energy_wh_per_1k_net: float
    latency_ms_p50: float
    power_w: float
    energy_method: str
    temperature_c: float | None = None
    sm_clock_mhz: float | None = None
    paired_baseline: bool = False  # a baseline window interleaved with a variant's windows
    reference_window: bool = False  # a reference-model window interleaved with the baseline's
    foreign_cpu_cores: float | None = None  # m008: cores' worth other processes took
    foreign_cpu_share: float | None = None  # ... as a share of the CPUs we may run on
    foreign_gpu_processes: int | None = None  # other compute processes on our GPU
    foreign_gpu_util_pct: float | None = None  # their SM utilisation (per-process NVML)


@dataclass(frozen=True)
class RunResult:
    """A run with its windows: written to the catalog together, in one transaction."""

    run: RunRecord
    windows: list[WindowRecord] = field(default_factory=list)


@dataclass(frozen=True)
class LabelRecord:
    """A grade for (model, revision, task, hardware profile) under one scheme version."""

    model_id: str
    revision: str
    task: str
    hardware: str
    scheme_version: str
    grade: str | None
    eei: float | None
    energy_wh_per_1k: float | None
    energy_method: str | None
    best_variant: str | None
    best_grade: str | None
    best_energy_wh_per_1k: float | None
    quality_retained: float | None
    quality_metric: str | None
    noisy: bool
    recommendations_json: str
    measured_at: datetime
    graded_at: datetime
    reason: str | None = None  # why a model is ungraded (no reference, failed, skipped)
    # Paired schemes (v2 on): the interval of the EEI and the re-grading rule.
    eei_low: float | None = None
    eei_high: float | None = None
    borderline: bool = False  # the interval crosses a class boundary
    reference_model: str | None = None
    reference_config_sha256: str | None = None
    measured_grade: str | None = (
        None  # this measurement's own grade (`grade` may keep an older one)
    )
    previous_grade: str | None = None  # the published grade before the last change, if any
    grade_changed_at: datetime | None = None  # measured_at of the measurement that changed it
    energy_j_per_token: float | None = None  # text generation: J per generated token
    # m008: the grade shown was decided on a contended measurement (--allow-busy-host)
    contended: bool = False
    foreign_cpu_cores: float | None = None  # the measurement's foreign CPU load (median)

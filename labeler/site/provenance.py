"""Provenance of a label as labelled values a person can read: device, meter, protocol,
software. The raw JSON the harness stored stays available behind a disclosure on the page,
for those who want every field; this module only decides what goes in the readable part.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from labels import HardwareRecord, RunRecord
from labels.tactic_kinds import is_baseline_variant


@dataclass(frozen=True)
class ProvenanceGroup:
    title: str
    items: tuple[tuple[str, str], ...]  # (name, value) as a person reads them


@dataclass(frozen=True)
class Provenance:
    groups: list[ProvenanceGroup]
    raw_json: str  # pretty-printed run provenance as stored, "" when none


def _flat(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {_flat(v)}" for k, v in value.items() if v not in (None, "", []))
    if isinstance(value, list | tuple):
        return ", ".join(_flat(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def _items(pairs: list[tuple[str, Any]]) -> tuple[tuple[str, str], ...]:
    return tuple((name, _flat(value)) for name, value in pairs if value not in (None, "", [], {}))


def build_provenance(runs: list[RunRecord], hardware: HardwareRecord | None) -> Provenance:
    """Group what the baseline run and its hardware record say into four labelled groups."""
    baseline = next((r for r in runs if is_baseline_variant(r.variant)), runs[0] if runs else None)
    if baseline is None and hardware is None:
        return Provenance([], "")
    extra: dict[str, Any] = {}
    raw = ""
    if baseline is not None:
        try:
            parsed = json.loads(baseline.provenance_json or "{}")
        except ValueError:
            parsed = None
            raw = baseline.provenance_json
        if isinstance(parsed, dict):
            extra = parsed
            raw = json.dumps(parsed, indent=2, sort_keys=True, default=str) if parsed else ""

    device: list[tuple[str, Any]] = []
    if hardware is not None:
        device += [
            ("Device", hardware.device_name),
            ("CPU", f"{hardware.cpu_model} ({hardware.cpu_cores} cores)"),
            ("Memory", f"{hardware.memory_gb:g} GB"),
            ("GPU driver", hardware.gpu_driver),
            (
                "GPU power limit",
                f"{hardware.gpu_power_limit_w:g} W" if hardware.gpu_power_limit_w else None,
            ),
        ]
    meter: list[tuple[str, Any]] = []
    protocol: list[tuple[str, Any]] = []
    software: list[tuple[str, Any]] = []
    host: list[tuple[str, Any]] = []
    if baseline is not None:
        host = _host_load(baseline, _as_dict(extra.get("foreign_load")))
        host += [(_label(k), v) for k, v in _as_dict(extra.get("cpu_threads")).items()]
        device.append(("Hardware fingerprint", baseline.hardware_fingerprint))
        meter.append(("Energy method", baseline.energy_method))
        meter += [(_label(k), v) for k, v in _as_dict(extra.get("meter")).items()]
        if extra.get("meter_fallback_reasons"):
            meter.append(("Fallback reasons", extra["meter_fallback_reasons"]))
        protocol += [
            ("Revision", baseline.revision),
            ("dtype", baseline.dtype),
            ("Batch size", baseline.batch_size),
            ("Input shape", baseline.input_shape),
            ("Measured windows", baseline.windows or None),
        ]
        protocol += [(_label(k), v) for k, v in _as_dict(extra.get("protocol")).items()]
        protocol += [(_label(k), v) for k, v in _as_dict(extra.get("workload")).items()]
        software += [
            ("Harness version", baseline.harness_version),
            ("torch", baseline.torch_version),
            ("transformers", baseline.transformers_version),
            ("CUDA", baseline.cuda_version),
        ]
        shown = {"torch", "transformers", "cuda"}
        software += [
            (k, v) for k, v in _as_dict(extra.get("software")).items() if k.lower() not in shown
        ]
        known = {
            "meter",
            "meter_fallback_reasons",
            "protocol",
            "workload",
            "software",
            "hardware",
            "not_applicable",
            "foreign_load",
            "cpu_threads",
        }
        # Anything else the harness recorded (python, os, eval data, ...) still gets shown.
        software += [(str(k), v) for k, v in sorted(extra.items()) if k not in known]
    groups = [
        ProvenanceGroup(title, _items(pairs))
        for title, pairs in [
            ("Device", device),
            ("Meter", meter),
            ("Protocol", protocol),
            ("Host load", host),
            ("Software", software),
        ]
    ]
    return Provenance([g for g in groups if g.items], raw)


def _host_load(run: RunRecord, foreign: dict[str, Any]) -> list[tuple[str, Any]]:
    """What else the host was doing while the baseline was measured (issue 23)."""
    cores, share = run.foreign_cpu_cores, run.foreign_cpu_share
    load = None
    if cores is not None:
        load = f"{cores:.2f} cores" + (
            f" ({share * 100:.0f} % of our CPUs)" if share is not None else ""
        )
    return [
        ("Foreign CPU load (median window)", load),
        (
            "Busiest kept window",
            f"{run.foreign_cpu_share_max * 100:.0f} %"
            if run.foreign_cpu_share_max is not None
            else None,
        ),
        ("Other GPU processes", run.foreign_gpu_processes),
        (
            "Their GPU utilisation",
            f"{run.foreign_gpu_util_pct:g} %" if run.foreign_gpu_util_pct is not None else None,
        ),
        (
            "Foreign load method",
            run.foreign_load_method or ("not measured" if foreign.get("not_measured") else None),
        ),
        ("Busy windows measured again", run.busy_remeasured or None),
        ("Contended", "yes: clean windows could not be had" if run.contended else None),
        ("CPU threads", run.cpu_threads),
    ]


_ROW = Markup("<div><dt>%s</dt><dd>%s</dd></div>")


@functools.lru_cache(maxsize=1024)
def group_rows(group: ProvenanceGroup) -> Markup:
    """A group's rows as HTML, each name and value escaped by markupsafe. Python rather than
    a template loop for a measured reason: the device, meter and software groups are the
    same for every model measured on one machine, so a build makes each once, not once per
    page (the loop was about a tenth of a model page's render CPU)."""
    return Markup("").join(_ROW % item for item in group.items)


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}

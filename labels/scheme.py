"""Label schemes: versioned, immutable TOML files under `labels/schemes/`.

A scheme fixes the reference workload per task, the yardstick of each task, the EEI
thresholds of the classes A-G and the quality a variant must keep. v1's yardstick is a
stored reference energy per (task, hardware profile); from v2 on it is a reference model
per task (a committed config, hashed) measured beside the model, so any hardware is graded.
A new calibration is a new file with a new version; a published file never changes.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labels.errors import LabelerError

SCHEMES_DIR = Path(__file__).parent / "schemes"
DEFAULT_SCHEME_VERSION = "v2"
GRADES = ("A", "B", "C", "D", "E", "F", "G")


class SchemeError(LabelerError):
    """A scheme file is missing or malformed."""


@dataclass(frozen=True)
class QualityGate:
    """The quality a variant must keep: `metric` at least `minimum`, and every metric in
    `also` at least its own minimum (scheme v2's embedding gate judges neighbours kept and
    the rank correlation of similarities together)."""

    metric: str
    minimum: float
    also: dict[str, float] = field(default_factory=dict)

    def value_of(self, values: Mapping[str, float], fallback: float) -> float:
        """The gated metric's value, or `fallback` (the adapter's own primary metric) when
        the adapter does not compute the scheme's metric (a plugin with its own names)."""
        value = values.get(self.metric)
        return float(value) if value is not None else fallback

    def shortfalls(self, values: Mapping[str, float], fallback: float) -> list[str]:
        """Why the gate is not met, one entry per metric under its minimum (or missing)."""
        short = []
        value = self.value_of(values, fallback)
        if not value >= self.minimum:
            short.append(f"{self.metric} {value:.4f} < {self.minimum:g}")
        for metric, minimum in self.also.items():
            other = values.get(metric)
            if other is None:
                short.append(f"{metric} not measured")
            elif not float(other) >= minimum:
                short.append(f"{metric} {float(other):.4f} < {minimum:g}")
        return short

    def passes(self, values: Mapping[str, float], fallback: float) -> bool:
        return not self.shortfalls(values, fallback)


@dataclass(frozen=True)
class Reference:
    task: str
    hardware: str
    energy_wh_per_1k: float
    basis: str


@dataclass(frozen=True)
class ReferenceModel:
    """v2 on: the model a task's models are measured beside, built from a committed config.

    The D/E boundary is `energy_multiple` times its measured energy (1 when the reference
    is itself the median popular model of the task).
    """

    task: str
    model_id: str
    config_path: Path
    config_sha256: str
    seed: int
    energy_multiple: float
    stands_for: str

    def config(self) -> dict[str, Any]:
        import json

        return json.loads(self.config_path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Scheme:
    version: str
    published: str
    description: str
    upper_eei: dict[str, float]  # class -> exclusive upper bound of its EEI; G has none
    workloads: dict[str, dict[str, Any]]
    quality_gates: dict[str, QualityGate]
    references: dict[tuple[str, str], Reference]
    noisy_cv: float
    reference_models: dict[str, ReferenceModel] = field(default_factory=dict)
    eei_confidence: float = 0.90

    @property
    def paired_reference(self) -> bool:
        """True when the scheme grades against a reference model measured beside the model."""
        return bool(self.reference_models)

    def reference_model(self, task: str) -> ReferenceModel | None:
        return self.reference_models.get(task)

    def has_references_for(self, hardware: str) -> bool:
        """Whether any task can be graded on `hardware` (always, with reference models)."""
        return self.paired_reference or any(h == hardware for _t, h in self.references)

    def grade_bounds(self, grade: str) -> tuple[float, float]:
        """The EEI range [low, high) of a class; G's high is infinity."""
        index = GRADES.index(grade)
        low = self.upper_eei[GRADES[index - 1]] if index > 0 else 0.0
        high = self.upper_eei[grade] if grade != GRADES[-1] else float("inf")
        return low, high

    def grade_for_eei(self, eei: float) -> str:
        """The class for an efficiency index: each step up halves the energy."""
        if eei < 0:
            raise ValueError(f"EEI cannot be negative: {eei}")
        for grade in GRADES[:-1]:
            if eei < self.upper_eei[grade]:
                return grade
        return GRADES[-1]

    def reference(self, task: str, hardware: str) -> Reference | None:
        return self.references.get((task, hardware))

    def workload(self, task: str) -> dict[str, Any]:
        if task not in self.workloads:
            raise SchemeError(f"scheme {self.version} has no reference workload for {task!r}")
        return dict(self.workloads[task])

    def quality_gate(self, task: str) -> QualityGate:
        if task not in self.quality_gates:
            raise SchemeError(f"scheme {self.version} has no quality gate for {task!r}")
        return self.quality_gates[task]

    @property
    def tasks(self) -> list[str]:
        return sorted(self.workloads)


def schemes_dir() -> Path:
    """`LABELER_SCHEMES_DIR` if set (a folder of your own schemes, or the tests' tiny
    reference models), else the schemes shipped in `labels/schemes/`."""
    override = os.environ.get("LABELER_SCHEMES_DIR")
    return Path(override) if override else SCHEMES_DIR


def available_schemes() -> list[str]:
    return sorted(p.stem for p in schemes_dir().glob("*.toml"))


def load_scheme(version: str = DEFAULT_SCHEME_VERSION, path: Path | None = None) -> Scheme:
    path = path or schemes_dir() / f"{version}.toml"
    if not path.is_file():
        raise SchemeError(f"no label scheme {version!r} (have: {', '.join(available_schemes())})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        upper = {g: float(data["thresholds"][g]) for g in GRADES[:-1]}
        bounds = [upper[g] for g in GRADES[:-1]]
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise SchemeError(f"scheme {path.name}: thresholds must increase from A to F")
        gates = {task: _quality_gate(task, g, path) for task, g in data["quality"].items()}
        references = {
            (r["task"], r["hardware"]): Reference(
                task=r["task"],
                hardware=r["hardware"],
                energy_wh_per_1k=float(r["energy_wh_per_1k"]),
                basis=str(r.get("basis", "")),
            )
            for r in data.get("reference", [])
        }
        reference_models = {
            task: _reference_model(task, r, path)
            for task, r in data.get("reference_model", {}).items()
        }
        return Scheme(
            version=str(data["version"]),
            published=str(data["published"]),
            description=str(data.get("description", "")),
            upper_eei=upper,
            workloads={task: dict(w) for task, w in data["workload"].items()},
            quality_gates=gates,
            references=references,
            noisy_cv=float(data.get("noisy_cv", 0.1)),
            reference_models=reference_models,
            eei_confidence=float(data.get("eei_confidence", 0.90)),
        )
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise SchemeError(f"scheme {path.name} is malformed: {exc}") from None


def _quality_gate(task: str, entry: dict[str, Any], scheme_path: Path) -> QualityGate:
    """`metric` and `min`, and optionally `also = { other_metric = minimum, ... }`."""
    also = entry.get("also", {})
    if not isinstance(also, dict):
        raise SchemeError(
            f"scheme {scheme_path.name}: quality.{task}.also must be a table of metric = minimum"
        )
    return QualityGate(
        metric=str(entry["metric"]),
        minimum=float(entry["min"]),
        also={str(metric): float(minimum) for metric, minimum in also.items()},
    )


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _reference_model(task: str, entry: dict[str, Any], scheme_path: Path) -> ReferenceModel:
    """A reference model entry, its config file present and unchanged (sha256 checked)."""
    config_path = scheme_path.parent / str(entry["config"])
    if not config_path.is_file():
        raise SchemeError(
            f"scheme {scheme_path.name}: reference config for {task} is missing: {config_path}"
        )
    expected = str(entry["config_sha256"])
    actual = file_sha256(config_path)
    if actual != expected:
        raise SchemeError(
            f"scheme {scheme_path.name}: reference config {entry['config']} does not match its "
            f"hash (expected {expected[:12]}, found {actual[:12]}); a changed reference is a "
            "new scheme version"
        )
    multiple = float(entry.get("energy_multiple", 1.0))
    if multiple <= 0:
        raise SchemeError(f"scheme {scheme_path.name}: energy_multiple of {task} must be > 0")
    return ReferenceModel(
        task=task,
        model_id=str(entry["id"]),
        config_path=config_path,
        config_sha256=expected,
        seed=int(entry.get("seed", 0)),
        energy_multiple=multiple,
        stands_for=str(entry.get("stands_for", "")),
    )

"""Label schemes: versioned, immutable TOML files under `labels/schemes/`.

A scheme fixes the reference workload per task, the reference energy per (task, hardware
profile), the EEI thresholds of the classes A-G and the quality a variant must keep. A new
calibration is a new file with a new version; a published file never changes.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labels.errors import LabelerError

SCHEMES_DIR = Path(__file__).parent / "schemes"
DEFAULT_SCHEME_VERSION = "v1"
GRADES = ("A", "B", "C", "D", "E", "F", "G")


class SchemeError(LabelerError):
    """A scheme file is missing or malformed."""


@dataclass(frozen=True)
class QualityGate:
    metric: str
    minimum: float


@dataclass(frozen=True)
class Reference:
    task: str
    hardware: str
    energy_wh_per_1k: float
    basis: str


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


def available_schemes() -> list[str]:
    return sorted(p.stem for p in SCHEMES_DIR.glob("*.toml"))


def load_scheme(version: str = DEFAULT_SCHEME_VERSION, path: Path | None = None) -> Scheme:
    path = path or SCHEMES_DIR / f"{version}.toml"
    if not path.is_file():
        raise SchemeError(f"no label scheme {version!r} (have: {', '.join(available_schemes())})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        upper = {g: float(data["thresholds"][g]) for g in GRADES[:-1]}
        bounds = [upper[g] for g in GRADES[:-1]]
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise SchemeError(f"scheme {path.name}: thresholds must increase from A to F")
        gates = {
            task: QualityGate(metric=str(g["metric"]), minimum=float(g["min"]))
            for task, g in data["quality"].items()
        }
        references = {
            (r["task"], r["hardware"]): Reference(
                task=r["task"],
                hardware=r["hardware"],
                energy_wh_per_1k=float(r["energy_wh_per_1k"]),
                basis=str(r.get("basis", "")),
            )
            for r in data.get("reference", [])
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
        )
    except (KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise SchemeError(f"scheme {path.name} is malformed: {exc}") from None

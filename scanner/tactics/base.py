"""What a tactic is, and the registry that names them.

A tactic states where it applies, builds a variant from a copy of the baseline model, and
says what it is. The benchmark measures the variant like the baseline, times and meters
the build, and judges its quality against the baseline.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class TacticContext:
    device: str  # cpu | cuda | cuda:N
    task: str
    model_type: str  # config.model_type, e.g. bert, vit, gpt2
    compute_capability: tuple[int, int] | None = None  # GPUs only

    @property
    def on_gpu(self) -> bool:
        return self.device.startswith("cuda")


@dataclass(frozen=True)
class Applicability:
    applies: bool
    reason: str = ""


APPLIES = Applicability(True)


@dataclass
class BuiltVariant:
    model: torch.nn.Module
    dtype: str = "float32"
    input_dtype: torch.dtype | None = None  # cast floating inputs (pixels) to this
    notes: str = ""


class Tactic(ABC):
    name: str = ""
    description: str = ""
    # On CPU some tactics are measured only when asked, since their build is slow here.
    default_on: tuple[str, ...] = ("cpu", "cuda")

    def applies_to(self, model: torch.nn.Module, ctx: TacticContext) -> Applicability:
        return APPLIES

    @abstractmethod
    def build(self, model: torch.nn.Module, ctx: TacticContext) -> BuiltVariant:
        """Return the variant; `model` is a private copy the tactic may change in place."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description}


_REGISTRY: dict[str, Tactic] = {}


def register(tactic: Tactic) -> Tactic:
    if tactic.name in _REGISTRY:
        raise ValueError(f"tactic {tactic.name!r} registered twice")
    _REGISTRY[tactic.name] = tactic
    return tactic


def all_tactics() -> dict[str, Tactic]:
    _import_tactics()
    return dict(_REGISTRY)


def get_tactic(name: str) -> Tactic:
    tactics = all_tactics()
    if name not in tactics:
        raise KeyError(f"unknown tactic {name!r} (known: {', '.join(sorted(tactics))})")
    return tactics[name]


def default_tactic_names(device: str) -> list[str]:
    kind = "cuda" if device.startswith("cuda") else "cpu"
    return [name for name, t in all_tactics().items() if kind in t.default_on]


def _import_tactics() -> None:
    from scanner.tactics import (  # noqa: F401  (modules register themselves)
        baseline,
        compile,
        dynamic_int8,
        half_precision,
        head_pruning,
        layer_pruning,
        pruning,
        sdpa,
        torchao_quant,
    )

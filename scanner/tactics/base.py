"""What a tactic is (the registry that names them is `scanner.tactics.registry`).

A tactic states where it applies, builds a variant from a copy of the baseline model, and
says what it is. The benchmark measures the variant like the baseline, times and meters
the build, and judges its quality against the baseline.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from labels.tactic_kinds import TacticKind
from scanner.device import Device


@dataclass(frozen=True)
class TacticContext:
    device: str  # cpu | cuda | cuda:N
    task: str
    model_type: str  # config.model_type, e.g. bert, vit, gpt2
    compute_capability: tuple[int, int] | None = None  # GPUs only
    # A few items of the reference inputs (on the CPU), for tactics that trace or export
    # the model (ONNX); None outside the benchmark, where such a tactic builds its own.
    example_inputs: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    @property
    def on_gpu(self) -> bool:
        return Device.parse(self.device).is_cuda


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
    # Bytes the build wrote to disk that the variant runs from (an ONNX file); None when
    # the variant lives in memory only and its size is that of its state dict.
    disk_bytes: int | None = None
    # quality figures the build measured itself (e.g. before and after healing), stored
    # with the run's quality values; the gate never reads them
    build_quality: dict[str, float] = field(default_factory=dict)


class Tactic(ABC):
    name: str = ""
    description: str = ""
    # On CPU some tactics are measured only when asked, since their build is slow here.
    default_on: tuple[str, ...] = ("cpu", "cuda")
    # What kind of optimisation it is; a shipped tactic's kind is also listed by name in
    # `labels.tactic_kinds`, for code that reads stored runs without importing tactics.
    kind: TacticKind = TacticKind.OTHER
    # The variant's first call still builds (compilation): it runs inside the metered build,
    # so that work counts as build cost and not as the first window's energy.
    warms_up_during_build: bool = False

    @property
    def is_baseline(self) -> bool:
        """The model as published: measured on its own (not paired with itself), no build
        cost."""
        return self.kind is TacticKind.BASELINE

    def applies_to(self, model: torch.nn.Module, ctx: TacticContext) -> Applicability:
        return APPLIES

    @abstractmethod
    def build(self, model: torch.nn.Module, ctx: TacticContext) -> BuiltVariant:
        """Return the variant; `model` is a private copy the tactic may change in place."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "kind": str(self.kind)}

"""torch.compile in default mode. Compiling is part of the cost: the benchmark meters it."""

from __future__ import annotations

import torch

from labels.tactic_kinds import TacticKind
from scanner.tactics.base import (
    APPLIES,
    Applicability,
    BuiltVariant,
    Tactic,
    TacticContext,
)
from scanner.tasks.registry import GENERATION_TASKS


class Compile(Tactic):
    kind = TacticKind.COMPILATION
    name = "compile"
    description = "torch.compile (inductor, default mode); build cost includes compilation."
    warms_up_during_build = True

    def applies_to(self, model: torch.nn.Module, ctx: TacticContext) -> Applicability:
        if ctx.task in GENERATION_TASKS:
            return Applicability(False, "generate() recompiles per length; not measured in v1")
        if ctx.task == "automatic-speech-recognition":  # issue 10b: Whisper generates too
            return Applicability(False, "generate() runs the uncompiled module; not measured")
        return APPLIES

    def build(self, model: torch.nn.Module, ctx: TacticContext) -> BuiltVariant:
        # compilation happens lazily on the first call: the benchmark runs one call
        # inside the metered build so compile time is counted as build cost
        compiled = torch.compile(model)
        return BuiltVariant(compiled, notes="compiled on first call (counted in build cost)")


COMPILE = Compile()

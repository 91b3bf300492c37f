"""The model as published: fp32, eager, the reference every variant is compared with."""

from __future__ import annotations

import torch

from labels.tactic_kinds import BASELINE as BASELINE_NAME
from labels.tactic_kinds import TacticKind
from scanner.tactics.base import BuiltVariant, Tactic, TacticContext


class Baseline(Tactic):
    kind = TacticKind.BASELINE
    name = BASELINE_NAME
    description = "The model as published (float32, eager mode)."

    def build(self, model: torch.nn.Module, ctx: TacticContext) -> BuiltVariant:
        return BuiltVariant(model)


BASELINE = Baseline()

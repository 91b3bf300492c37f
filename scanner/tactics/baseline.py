"""The model as published: fp32, eager, the reference every variant is compared with."""

from __future__ import annotations

import torch

from scanner.tactics.base import BuiltVariant, Tactic, TacticContext


class Baseline(Tactic):
    name = "baseline"
    description = "The model as published (float32, eager mode)."
    is_baseline = True

    def build(self, model: torch.nn.Module, ctx: TacticContext) -> BuiltVariant:
        return BuiltVariant(model)


BASELINE = Baseline()

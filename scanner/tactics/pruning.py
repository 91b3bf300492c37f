"""Magnitude pruning of linear weights, global and per layer, at 25 % and 50 %.

These are masked (unstructured) pruning: the zeros stay in dense tensors, so no kernel
skips them and no energy is saved. We measure them anyway because the research found
global pruning at 25 % viable for quality; the measured energy shows the missing gain.
Structured pruning that removes compute lives in `layer_pruning`.
"""

from __future__ import annotations

import torch
from torch.nn.utils import prune

from labels.tactic_kinds import TacticKind
from scanner.tactics.base import (
    APPLIES,
    Applicability,
    BuiltVariant,
    Tactic,
    TacticContext,
)

MASKED_NOTE = (
    "masked pruning: zeros stay in dense tensors, so no energy is saved unless kernels skip zeros"
)


def _linear_layers(model: torch.nn.Module) -> list[torch.nn.Linear]:
    return [m for m in model.modules() if isinstance(m, torch.nn.Linear)]


class MagnitudePruning(Tactic):
    kind = TacticKind.PRUNING

    def __init__(self, scope: str, amount: float) -> None:
        self.scope = scope
        self.amount = amount
        self.name = f"prune-{scope}-{int(amount * 100)}"
        self.description = (
            f"{scope.capitalize()} L1 magnitude pruning of {int(amount * 100)} % of nn.Linear "
            "weights (masked, unstructured)."
        )
        default = scope == "global" and amount == 0.25
        self.default_on = ("cpu", "cuda") if default else ()

    def applies_to(self, model: torch.nn.Module, ctx: TacticContext) -> Applicability:
        if not _linear_layers(model):
            return Applicability(False, "the model has no nn.Linear layers")
        return APPLIES

    def build(self, model: torch.nn.Module, ctx: TacticContext) -> BuiltVariant:
        layers = _linear_layers(model)
        if self.scope == "global":
            prune.global_unstructured(
                [(layer, "weight") for layer in layers],
                pruning_method=prune.L1Unstructured,
                amount=self.amount,
            )
        else:
            for layer in layers:
                prune.l1_unstructured(layer, "weight", amount=self.amount)
        for layer in layers:
            prune.remove(layer, "weight")  # bake the mask in: plain dense weights with zeros
        return BuiltVariant(model, notes=MASKED_NOTE)


PRUNE_GLOBAL_25 = MagnitudePruning("global", 0.25)
PRUNE_GLOBAL_50 = MagnitudePruning("global", 0.5)
PRUNE_LOCAL_25 = MagnitudePruning("local", 0.25)
PRUNE_LOCAL_50 = MagnitudePruning("local", 0.5)

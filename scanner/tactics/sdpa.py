"""Switch attention to PyTorch's scaled_dot_product_attention (SDPA) where transformers can.

The baseline is the model as transformers loads it by default. transformers 5 already
picks SDPA by default for every architecture that supports it, so this tactic applies only
to a model that was loaded with another implementation (typically "eager", for
architectures or settings without SDPA support); otherwise it says there is nothing to do.
"""

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


def attention_implementation(model: torch.nn.Module) -> str | None:
    config = getattr(model, "config", None)
    return getattr(config, "_attn_implementation", None) if config is not None else None


class SdpaAttention(Tactic):
    kind = TacticKind.ATTENTION
    name = "sdpa"
    description = 'attn_implementation="sdpa": fused scaled_dot_product_attention kernels.'
    default_on = ()

    def applies_to(self, model: torch.nn.Module, ctx: TacticContext) -> Applicability:
        current = attention_implementation(model)
        if current is None:
            return Applicability(False, "not a transformers model with a selectable attention")
        if current == "sdpa":
            return Applicability(False, "the model already runs SDPA (transformers' default)")
        if not getattr(model, "_supports_sdpa", False):
            return Applicability(
                False, f"transformers has no SDPA attention for model type {ctx.model_type!r}"
            )
        if not hasattr(model, "set_attn_implementation"):
            return Applicability(False, "this transformers version cannot switch attention")
        return APPLIES

    def build(self, model: torch.nn.Module, ctx: TacticContext) -> BuiltVariant:
        before = attention_implementation(model)
        model.set_attn_implementation("sdpa")
        return BuiltVariant(model, notes=f"attention switched from {before} to sdpa")


SDPA = SdpaAttention()

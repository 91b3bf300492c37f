"""Layer pruning: drop whole encoder layers, which removes their compute.

Unlike masked pruning this makes every forward call shorter, so it saves energy on any
hardware; the price is quality, which the benchmark measures against the baseline. The
sentence-BERT line of work found that dropping the top layers of an encoder keeps much of
its embedding quality. Applies to encoders whose layers are a `ModuleList` at a known place
(BERT-like `encoder.layer`, DistilBERT `transformer.layer`, ViT `layers` in transformers 5).
"""

from __future__ import annotations

import math

import torch

from labels.tactic_kinds import TacticKind
from scanner.tactics.base import (
    APPLIES,
    Applicability,
    BuiltVariant,
    Tactic,
    TacticContext,
)

# where encoder layers live, relative to the base model, and the config field that counts them
LAYER_PATHS = (("encoder", "layer"), ("transformer", "layer"), ("", "layers"))
LAYER_COUNT_FIELDS = ("num_hidden_layers", "n_layers")


def encoder_layers(model: torch.nn.Module) -> tuple[torch.nn.Module, str] | None:
    """The module holding the encoder's `ModuleList` of layers, and that attribute's name."""
    base = getattr(model, "base_model", model)
    for owner_name, list_name in LAYER_PATHS:
        owner = getattr(base, owner_name, None) if owner_name else base
        layers = getattr(owner, list_name, None) if owner is not None else None
        if isinstance(layers, torch.nn.ModuleList) and len(layers) > 0:
            return owner, list_name
    return None


def layers_to_keep(count: int, strategy: str, fraction: float) -> list[int]:
    """Indices of the layers kept: the bottom ones (`top`), or every other one (`alternate`)."""
    if strategy == "alternate":
        return list(range(0, count, 2))
    dropped = math.floor(count * fraction + 1e-9)
    return list(range(max(count - dropped, 1)))


class LayerPruning(Tactic):
    kind = TacticKind.LAYER_DROPPING

    def __init__(self, strategy: str, fraction: float, default: bool) -> None:
        self.strategy = strategy
        self.fraction = fraction
        percent = round(fraction * 100)
        if strategy == "top":
            self.name = f"layer-drop-top-{percent}"
            self.description = (
                f"Drop the top {percent} % of encoder layers (structured: removes their compute)."
            )
        else:
            self.name = "layer-drop-alternate"
            self.description = "Keep every other encoder layer (structured: halves the layers)."
        self.default_on = ("cpu", "cuda") if default else ()

    def applies_to(self, model: torch.nn.Module, ctx: TacticContext) -> Applicability:
        if ctx.task == "text-generation":
            return Applicability(False, "decoder layers of a generative model are not dropped")
        found = encoder_layers(model)
        if found is None:
            return Applicability(
                False,
                f"no encoder layer list found for model type {ctx.model_type!r} "
                "(supported: encoder.layer, transformer.layer, layers)",
            )
        owner, list_name = found
        count = len(getattr(owner, list_name))
        if len(layers_to_keep(count, self.strategy, self.fraction)) >= count:
            return Applicability(False, f"the encoder has {count} layer(s): none would be dropped")
        return APPLIES

    def build(self, model: torch.nn.Module, ctx: TacticContext) -> BuiltVariant:
        found = encoder_layers(model)
        if found is None:
            raise ValueError("no encoder layers to drop")
        owner, list_name = found
        layers = getattr(owner, list_name)
        keep = layers_to_keep(len(layers), self.strategy, self.fraction)
        setattr(owner, list_name, torch.nn.ModuleList(layers[i] for i in keep))
        config = getattr(model, "config", None)
        if config is not None:
            for field_name in LAYER_COUNT_FIELDS:
                if isinstance(getattr(config, field_name, None), int):
                    setattr(config, field_name, len(keep))
            layer_types = getattr(config, "layer_types", None)
            if isinstance(layer_types, list) and len(layer_types) == len(layers):
                config.layer_types = [layer_types[i] for i in keep]
        return BuiltVariant(
            model,
            notes=f"kept encoder layers {keep} of {len(layers)} (structured: less compute)",
        )


LAYER_DROP_TOP_33 = LayerPruning("top", 1 / 3, default=True)
LAYER_DROP_TOP_50 = LayerPruning("top", 0.5, default=False)
LAYER_DROP_ALTERNATE = LayerPruning("alternate", 0.5, default=False)

"""What kind of optimisation each tactic is, and which variant is the baseline, by name.

A tactic object (`scanner.tactics`) declares its `kind`; a stored run only keeps the
tactic's name. Code that reads the catalog (grading, the site) cannot import the scanner
and torch, so the kinds of the shipped tactics are listed here, and a test checks that each
registered tactic declares the kind this table gives it. A name no one listed (a plugin's
tactic) is of kind `OTHER`: deciding by a name's spelling ("prun" in it) is what this
table replaces.
"""

from __future__ import annotations

from enum import StrEnum

BASELINE = "baseline"  # the variant and tactic name of the model as published


class TacticKind(StrEnum):
    BASELINE = "baseline"  # the model as published
    PRUNING = "pruning"  # weights or attention heads removed or masked to zero
    LAYER_DROPPING = "layer-dropping"  # whole layers removed, not healed
    DISTILLATION = "distillation"  # layers removed, then healed by distillation
    QUANTIZATION = "quantization"  # int8 or float8 weights or activations
    PRECISION = "precision"  # the whole model in a half-precision float
    COMPILATION = "compilation"  # the same model through a compiler
    ATTENTION = "attention"  # a different attention kernel
    RUNTIME = "runtime"  # exported and run by another runtime (ONNX Runtime)
    OTHER = "other"  # a tactic this table does not know (a plugin's)


TACTIC_KINDS: dict[str, TacticKind] = {
    BASELINE: TacticKind.BASELINE,
    "compile": TacticKind.COMPILATION,
    "dynamic-int8": TacticKind.QUANTIZATION,
    "fp16": TacticKind.PRECISION,
    "bf16": TacticKind.PRECISION,
    "head-prune-25": TacticKind.PRUNING,
    "layer-drop-top-33": TacticKind.LAYER_DROPPING,
    "layer-drop-top-50": TacticKind.LAYER_DROPPING,
    "layer-drop-alternate": TacticKind.LAYER_DROPPING,
    "layer-drop-top-50-distilled": TacticKind.DISTILLATION,
    "layer-drop-alternate-distilled": TacticKind.DISTILLATION,
    "prune-global-25": TacticKind.PRUNING,
    "prune-global-50": TacticKind.PRUNING,
    "prune-local-25": TacticKind.PRUNING,
    "prune-local-50": TacticKind.PRUNING,
    "sdpa": TacticKind.ATTENTION,
    "torchao-int8-weight-only": TacticKind.QUANTIZATION,
    "torchao-int8-dynamic": TacticKind.QUANTIZATION,
    "torchao-float8": TacticKind.QUANTIZATION,
    "onnx-fp32": TacticKind.RUNTIME,
    "onnx-int8-dynamic": TacticKind.RUNTIME,
    "onnx-fp16": TacticKind.RUNTIME,
}


def tactic_kind(name: str) -> TacticKind:
    """The kind of the tactic called `name`; `OTHER` for a name not listed."""
    return TACTIC_KINDS.get(name, TacticKind.OTHER)


def is_baseline_variant(variant: str | None) -> bool:
    """Whether a stored run's variant (or tactic) name is the model as published."""
    return variant == BASELINE

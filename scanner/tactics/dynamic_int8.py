"""Dynamic int8 quantization of linear layers on CPU.

torch 2.13 deprecates `torch.ao.quantization.quantize_dynamic` in favour of torchao's
`quantize_`, but on CPU torchao's `Int8DynamicActivationInt8WeightConfig` runs in eager
mode without a fused kernel and measured about 19x slower than the fp32 baseline on
MiniLM here, while `quantize_dynamic` (fbgemm kernels) measured 2.3x faster. So on CPU we
keep the deprecated API, which is the one that saves energy; on GPU see `torchao_int8`.
"""

from __future__ import annotations

import warnings

import torch

from labels.tactic_kinds import TacticKind
from scanner.tactics.base import (
    APPLIES,
    Applicability,
    BuiltVariant,
    Tactic,
    TacticContext,
)


class DynamicInt8(Tactic):
    kind = TacticKind.QUANTIZATION
    name = "dynamic-int8"
    description = (
        "Dynamic int8 quantization of nn.Linear (per-channel weight scales, per-batch "
        "activation scales; "
        "torch.ao.quantization.quantize_dynamic, fbgemm kernels)."
    )
    default_on = ("cpu",)

    def applies_to(self, model: torch.nn.Module, ctx: TacticContext) -> Applicability:
        if ctx.on_gpu:
            return Applicability(False, "dynamic int8 kernels run on CPU only; see torchao-int8-*")
        if "fbgemm" not in torch.backends.quantized.supported_engines:
            return Applicability(False, "this torch build has no fbgemm quantized engine")
        if not any(isinstance(m, torch.nn.Linear) for m in model.modules()):
            return Applicability(False, "the model has no nn.Linear layers")
        return APPLIES

    def build(self, model: torch.nn.Module, ctx: TacticContext) -> BuiltVariant:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=DeprecationWarning)
            warnings.simplefilter("ignore", category=UserWarning)
            quantized = torch.ao.quantization.quantize_dynamic(
                model,
                {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig},
                dtype=torch.qint8,
            )
        return BuiltVariant(quantized, dtype="int8-dynamic")


DYNAMIC_INT8 = DynamicInt8()

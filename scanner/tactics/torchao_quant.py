"""torchao quantization on GPU: int8 weight-only, int8 dynamic, and float8.

torchao's `quantize_` is the API that replaces `torch.ao.quantization.quantize_dynamic`
(deprecated in torch 2.13). On GPU it has fused kernels, so it is what we measure there.
On CPU it does not serve us: `Int8DynamicActivationInt8WeightConfig` measured about 19x
slower than fp32 on MiniLM on our 2-core CPU and `Int8WeightOnlyConfig` about equal, so
CPU keeps `quantize_dynamic` (see `dynamic_int8`) and these tactics say they do not apply.

torchao's GPU kernels target bf16 activations, so each variant first casts the model to
bf16 and then quantizes its linear layers; compare it with the `bf16` row to see what the
quantization adds on top of the cast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from labels.tactic_kinds import TacticKind
from scanner.tactics.base import (
    APPLIES,
    Applicability,
    BuiltVariant,
    Tactic,
    TacticContext,
)

FLOAT8_MIN_CAPABILITY = (8, 9)  # Ada and Hopper have float8 tensor cores
CPU_REASON = {
    "int8-weight-only": "torchao int8 weight-only measured no faster than fp32 on CPU here; "
    "GPU only (CPU uses dynamic-int8)",
    "int8-dynamic": "torchao int8 dynamic measured ~19x slower than fp32 on CPU here (no fused "
    "kernel); GPU only (CPU uses dynamic-int8, torch.ao quantize_dynamic)",
    "float8": "float8 matmuls need a GPU with compute capability 8.9 or newer",
}


def _config(kind: str) -> Any:
    from torchao.quantization import (
        Float8DynamicActivationFloat8WeightConfig,
        Int8DynamicActivationInt8WeightConfig,
        Int8WeightOnlyConfig,
        PerRow,
    )

    if kind == "int8-weight-only":
        return Int8WeightOnlyConfig()
    if kind == "int8-dynamic":
        return Int8DynamicActivationInt8WeightConfig()
    return Float8DynamicActivationFloat8WeightConfig(granularity=PerRow())


def _linear_filter(kind: str) -> Callable[[torch.nn.Module, str], bool]:
    def keep(module: torch.nn.Module, _fqn: str) -> bool:
        if not isinstance(module, torch.nn.Linear):
            return False
        if kind == "float8":  # float8 matmuls need both dimensions divisible by 16
            return module.in_features % 16 == 0 and module.out_features % 16 == 0
        return True

    return keep


class TorchaoQuantization(Tactic):
    kind = TacticKind.QUANTIZATION

    def __init__(self, kind: str, description: str) -> None:
        self.config_kind = kind
        self.name = f"torchao-{kind}"
        self.description = description
        self.default_on = ("cuda",)

    def applies_to(self, model: torch.nn.Module, ctx: TacticContext) -> Applicability:
        if not ctx.on_gpu:
            return Applicability(False, CPU_REASON[self.config_kind])
        if self.config_kind == "float8" and (
            ctx.compute_capability is None or ctx.compute_capability < FLOAT8_MIN_CAPABILITY
        ):
            found = ".".join(map(str, ctx.compute_capability or ())) or "unknown"
            return Applicability(
                False, f"float8 needs compute capability 8.9 or newer (this GPU: {found})"
            )
        if ctx.compute_capability is not None and ctx.compute_capability < (8, 0):
            return Applicability(False, "torchao's bf16 kernels need compute capability 8.0+")
        try:
            import torchao  # noqa: F401
        except ImportError:
            return Applicability(False, "torchao is not installed")
        if not any(_linear_filter(self.config_kind)(m, "") for m in model.modules()):
            return Applicability(False, "no nn.Linear layer this quantization can take")
        return APPLIES

    def build(self, model: torch.nn.Module, ctx: TacticContext) -> BuiltVariant:
        from torchao.quantization import quantize_

        model = model.to(torch.bfloat16)
        quantize_(model, _config(self.config_kind), filter_fn=_linear_filter(self.config_kind))
        return BuiltVariant(
            model,
            dtype=f"bf16+{self.config_kind}",
            input_dtype=torch.bfloat16,
            notes=f"torchao quantize_ ({type(_config(self.config_kind)).__name__}) on bf16 weights",
        )


INT8_WEIGHT_ONLY = TorchaoQuantization(
    "int8-weight-only",
    "torchao Int8WeightOnlyConfig: int8 weights, bf16 activations (GPU).",
)
INT8_DYNAMIC = TorchaoQuantization(
    "int8-dynamic",
    "torchao Int8DynamicActivationInt8WeightConfig: int8 weights and per-token "
    "dynamic int8 activations (GPU).",
)
FLOAT8 = TorchaoQuantization(
    "float8",
    "torchao Float8DynamicActivationFloat8WeightConfig (per-row): float8 weights and "
    "activations (GPU, compute capability 8.9+).",
)

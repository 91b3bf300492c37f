"""Half precision (fp16, bf16). On GPU by default; bf16 on CPU only when asked for,
since most CPUs without AMX run it slower than fp32 and the measurement must show it."""

from __future__ import annotations

import torch

from scanner.tactics.base import (
    APPLIES,
    Applicability,
    BuiltVariant,
    Tactic,
    TacticContext,
)


class HalfPrecision(Tactic):
    def __init__(self, dtype: torch.dtype, label: str) -> None:
        self.dtype = dtype
        self.label = label
        self.name = label
        self.description = f"Weights and activations in {label}."
        self.default_on = ("cuda",)

    def applies_to(self, model: torch.nn.Module, ctx: TacticContext) -> Applicability:
        if ctx.on_gpu:
            if (
                self.dtype is torch.bfloat16
                and ctx.compute_capability
                and ctx.compute_capability < (8, 0)
            ):
                return Applicability(False, "bf16 needs compute capability 8.0 or newer")
            return APPLIES
        if self.dtype is torch.float16:
            return Applicability(False, "fp16 matrix kernels are slow on CPU; GPU only")
        return APPLIES

    def build(self, model: torch.nn.Module, ctx: TacticContext) -> BuiltVariant:
        notes = ""
        if not ctx.on_gpu:
            notes = (
                "bf16 on CPU is opt-in: faster only where the CPU has bf16 matrix units "
                "(AMX, AVX512-BF16); the measured latency decides"
            )
        return BuiltVariant(
            model.to(self.dtype), dtype=self.label, input_dtype=self.dtype, notes=notes
        )


FP16 = HalfPrecision(torch.float16, "fp16")
BF16 = HalfPrecision(torch.bfloat16, "bf16")

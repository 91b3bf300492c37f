"""Half precision (fp16, bf16). On GPU by default. On CPU, bf16 by default only where the
CPU has bf16 matrix instructions (AMX or AVX-512 BF16 on x86, the bf16 feature on Arm):
elsewhere it is emulated, several times slower than fp32, and runs only when asked for, so
that the measurement can show it. fp16 never runs on CPU (no fast kernels)."""

from __future__ import annotations

import functools
from pathlib import Path

import torch

from labels.tactic_kinds import TacticKind
from scanner.tactics.base import (
    APPLIES,
    Applicability,
    BuiltVariant,
    Tactic,
    TacticContext,
)

# What /proc/cpuinfo calls the instructions that multiply bf16 matrices natively, best first:
# x86's AMX tiles and AVX-512 BF16 dot products ("flags"), Arm's BFloat16 ("Features").
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16", "bf16")


def cpu_bf16_units(cpuinfo: Path = Path("/proc/cpuinfo")) -> str | None:
    """The first of BF16_CPU_FLAGS this CPU lists, or None (none of them, or no cpuinfo)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            flags.update(value.split())
    return next((flag for flag in BF16_CPU_FLAGS if flag in flags), None)


@functools.cache
def _host_bf16_units() -> str | None:
    return cpu_bf16_units()


class HalfPrecision(Tactic):
    kind = TacticKind.PRECISION

    def __init__(self, dtype: torch.dtype, label: str) -> None:
        self.dtype = dtype
        self.label = label
        self.name = label
        self.description = f"Weights and activations in {label}."

    @property
    def default_on(self) -> tuple[str, ...]:  # type: ignore[override]
        if self.dtype is torch.bfloat16 and _host_bf16_units():
            return ("cpu", "cuda")
        return ("cuda",)

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
            units = _host_bf16_units()
            notes = (
                f"bf16 on a CPU with bf16 matrix instructions ({units})"
                if units
                else "bf16 on a CPU without bf16 matrix instructions (AMX, AVX-512 BF16): "
                "emulated, asked for; the measured latency decides"
            )
        return BuiltVariant(
            model.to(self.dtype), dtype=self.label, input_dtype=self.dtype, notes=notes
        )


FP16 = HalfPrecision(torch.float16, "fp16")
BF16 = HalfPrecision(torch.bfloat16, "bf16")

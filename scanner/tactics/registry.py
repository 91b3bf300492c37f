"""The tactics this project ships, by name, and the `labeler.tactics` entry-point group.

Importing this module does not import torch: names come from the table and the entry
points; a tactic is imported when it is first used.

Adding a built-in tactic is a new module and one line here; a third-party package declares
an entry point `name = "package.module:INSTANCE"` in the group `labeler.tactics` instead
(see docs/extending.md). Listing order is measuring order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labels.tactic_kinds import BASELINE
from scanner.device import Device, DeviceKind
from scanner.registry import Registry

if TYPE_CHECKING:
    from scanner.tactics.base import Tactic

BUILTIN_TACTICS = {
    BASELINE: "scanner.tactics.baseline:BASELINE",
    "compile": "scanner.tactics.compile:COMPILE",
    "dynamic-int8": "scanner.tactics.dynamic_int8:DYNAMIC_INT8",
    "fp16": "scanner.tactics.half_precision:FP16",
    "bf16": "scanner.tactics.half_precision:BF16",
    "head-prune-25": "scanner.tactics.head_pruning:HEAD_PRUNE_25",
    "layer-drop-top-33": "scanner.tactics.layer_pruning:LAYER_DROP_TOP_33",
    "layer-drop-top-50": "scanner.tactics.layer_pruning:LAYER_DROP_TOP_50",
    "layer-drop-alternate": "scanner.tactics.layer_pruning:LAYER_DROP_ALTERNATE",
    # layer dropping healed by distillation (issue 11): minutes of training, so not default
    "layer-drop-top-50-distilled": "scanner.tactics.layer_healing:LAYER_DROP_TOP_50_DISTILLED",
    "layer-drop-alternate-distilled": (
        "scanner.tactics.layer_healing:LAYER_DROP_ALTERNATE_DISTILLED"
    ),
    "prune-global-25": "scanner.tactics.pruning:PRUNE_GLOBAL_25",
    "prune-global-50": "scanner.tactics.pruning:PRUNE_GLOBAL_50",
    "prune-local-25": "scanner.tactics.pruning:PRUNE_LOCAL_25",
    "prune-local-50": "scanner.tactics.pruning:PRUNE_LOCAL_50",
    "sdpa": "scanner.tactics.sdpa:SDPA",
    "torchao-int8-weight-only": "scanner.tactics.torchao_quant:INT8_WEIGHT_ONLY",
    "torchao-int8-dynamic": "scanner.tactics.torchao_quant:INT8_DYNAMIC",
    "torchao-float8": "scanner.tactics.torchao_quant:FLOAT8",
    # issue 11: ONNX Runtime variants
    "onnx-fp32": "scanner.tactics.onnx_runtime:ONNX_FP32",
    "onnx-int8-dynamic": "scanner.tactics.onnx_runtime:ONNX_INT8_DYNAMIC",
    "onnx-fp16": "scanner.tactics.onnx_runtime:ONNX_FP16",
}


TACTICS: Registry[Tactic] = Registry(
    "tactic",
    "labeler.tactics",
    BUILTIN_TACTICS,
    interface="scanner.tactics.base:Tactic",
    instances=True,
    name_attribute="name",
)


def tactic_names() -> list[str]:
    """Every tactic name, built-in and plugin, without importing any tactic (or torch)."""
    return TACTICS.names()


def all_tactics() -> dict[str, Tactic]:
    return TACTICS.all()


def get_tactic(name: str) -> Tactic:
    return TACTICS.get(name)


def default_tactic_names(device: str) -> list[str]:
    kind = DeviceKind.CUDA if Device.parse(device).is_cuda else DeviceKind.CPU
    return [name for name, t in all_tactics().items() if kind in t.default_on]

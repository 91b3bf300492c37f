"""Each tactic's kind is a field it declares, and the table stored runs are read with agrees."""

from __future__ import annotations

import pytest

from labels.tactic_kinds import (
    BASELINE,
    TACTIC_KINDS,
    TacticKind,
    is_baseline_variant,
    tactic_kind,
)
from scanner.tactics.base import Tactic
from scanner.tactics.registry import BUILTIN_TACTICS, get_tactic


def test_the_table_lists_every_shipped_tactic() -> None:
    assert set(TACTIC_KINDS) == set(BUILTIN_TACTICS)


@pytest.mark.parametrize("name", sorted(BUILTIN_TACTICS))
def test_each_shipped_tactic_declares_the_kind_the_table_gives_it(name: str) -> None:
    tactic = get_tactic(name)
    assert isinstance(tactic.kind, TacticKind)
    assert tactic.kind is TACTIC_KINDS[name]
    assert tactic.is_baseline is (name == BASELINE)


def test_kinds_of_stored_names() -> None:
    assert tactic_kind("prune-global-50") is TacticKind.PRUNING
    assert tactic_kind("head-prune-25") is TacticKind.PRUNING
    assert tactic_kind("layer-drop-top-33") is TacticKind.LAYER_DROPPING
    assert tactic_kind("layer-drop-top-50-distilled") is TacticKind.DISTILLATION
    assert tactic_kind("torchao-float8") is TacticKind.QUANTIZATION
    assert tactic_kind("onnx-int8-dynamic") is TacticKind.RUNTIME
    # a plugin's name says nothing, however it is spelt
    assert tactic_kind("my-pruning-plugin") is TacticKind.OTHER


def test_baseline_by_name_and_by_kind() -> None:
    assert is_baseline_variant(BASELINE)
    assert not any(is_baseline_variant(v) for v in ("fp16", "Baseline", "", None))

    class Plugin(Tactic):
        name = "plugin"

        def build(self, model, ctx):  # noqa: ANN001, ANN201
            return None

    assert Plugin().kind is TacticKind.OTHER and not Plugin().is_baseline

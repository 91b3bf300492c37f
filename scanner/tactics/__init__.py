"""Tactics: ways to build a cheaper variant of a model, one module per tactic, and a registry."""

from scanner.tactics.base import (
    Applicability,
    BuiltVariant,
    Tactic,
    TacticContext,
    all_tactics,
    default_tactic_names,
    get_tactic,
)

__all__ = [
    "Applicability",
    "BuiltVariant",
    "Tactic",
    "TacticContext",
    "all_tactics",
    "default_tactic_names",
    "get_tactic",
]

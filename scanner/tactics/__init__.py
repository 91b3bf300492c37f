"""Tactics: ways to build a cheaper variant of a model, one module per tactic, and a registry.

The registry's names are importable without torch; the interface classes (which need torch)
are loaded on first access, so `from scanner.tactics import tactic_names` stays cheap.
"""

from scanner.registry import lazy_attributes
from scanner.tactics.registry import (
    TACTICS,
    all_tactics,
    default_tactic_names,
    get_tactic,
    tactic_names,
)

_INTERFACE = ("Applicability", "BuiltVariant", "Tactic", "TacticContext")

__getattr__ = lazy_attributes(__name__, "scanner.tactics.base", _INTERFACE)


__all__ = [
    "TACTICS",
    "Applicability",
    "BuiltVariant",
    "Tactic",
    "TacticContext",
    "all_tactics",
    "default_tactic_names",
    "get_tactic",
    "tactic_names",
]

"""Tactics: ways to build a cheaper variant of a model, one module per tactic, and a registry.

The registry's names are importable without torch; the interface classes (which need torch)
are loaded on first access, so `from scanner.tactics import tactic_names` stays cheap.
"""

from typing import Any

from scanner.tactics.registry import (
    TACTICS,
    all_tactics,
    default_tactic_names,
    get_tactic,
    tactic_names,
)

_INTERFACE = ("Applicability", "BuiltVariant", "Tactic", "TacticContext")


def __getattr__(name: str) -> Any:
    if name in _INTERFACE:
        from scanner.tactics import base  # torch: only when the interface is asked for

        return getattr(base, name)
    raise AttributeError(f"module 'scanner.tactics' has no attribute {name!r}")


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

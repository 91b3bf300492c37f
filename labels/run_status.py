"""The outcome of one run, typed, so no code decides it by reading a message.

Stored in `runs.status` as its string value (`ok`, `skipped`, `failed`); a `StrEnum`
compares equal to those strings, so rows read back from the catalog need no conversion.
A tactic that does not apply is not a run: it is listed in the run's provenance instead.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    OK = "ok"  # measured
    SKIPPED = "skipped"  # deliberately not measured (unsupported task, refused weights)
    FAILED = "failed"  # tried and broke (load error, crash, timeout, Hub failure)

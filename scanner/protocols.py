"""How a model is measured: the label scheme's way (graded) or the AI Energy Score's.

`benchmark_model` asks the job's protocol what to do (which workload, which harness
settings, whether variants are measured, whether the baseline is paired with the reference
model) instead of comparing the protocol's name at each step; a new protocol is a new
class here, not a new branch there. Jobs carry the protocol by name (`BenchmarkJob` travels
as JSON); `protocol_named` turns it into the object. No torch import: the CLI lists them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from labels.errors import LabelerError
from scanner.energy_score import (
    ENERGY_SCORE,
    PROTOCOLS,
    SCHEME,
    describe_energy_score,
    energy_score_protocol,
    energy_score_workload,
    wants_fp32,
)


class UnknownProtocol(LabelerError):
    """A protocol name that no protocol answers to."""


class BenchmarkProtocol:
    """The label scheme's protocol; `EnergyScoreProtocol` changes what differs."""

    name: ClassVar[str] = SCHEME
    # its baseline is measured beside the scheme's reference model, so its runs are graded
    pairs_with_reference: ClassVar[bool] = True
    # the tactics' variants are measured too, not the baseline alone
    measures_variants: ClassVar[bool] = True
    # a batch-size sweep (`--batch-sizes`) is measured after the baseline, when asked
    sweeps_batch_sizes: ClassVar[bool] = True

    @property
    def description(self) -> str:
        return PROTOCOLS[self.name]

    def workload(self, scheme_workload: dict[str, Any]) -> dict[str, Any]:
        """The workload measured, from the scheme's reference workload for the task."""
        return scheme_workload

    def harness_overrides(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """The harness settings (`scanner.harness.Protocol`) from the user's overrides."""
        return overrides

    def wants_fp32(self, task: str) -> bool:
        """Whether the model is measured in float32 whatever dtype it was published in."""
        return False

    def provenance(self, task: str, device: str, energy_method: str) -> dict[str, Any]:
        """Entries the run's provenance adds for the protocol; none beyond the scheme's own
        workload and harness settings."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class EnergyScoreProtocol(BenchmarkProtocol):
    """The AI Energy Score's: batch 1, 1,000 queries, fp32, the baseline alone, not graded
    (`scanner.energy_score` says what and why)."""

    name: ClassVar[str] = ENERGY_SCORE
    pairs_with_reference: ClassVar[bool] = False
    measures_variants: ClassVar[bool] = False
    sweeps_batch_sizes: ClassVar[bool] = False

    def workload(self, scheme_workload: dict[str, Any]) -> dict[str, Any]:
        return energy_score_workload(scheme_workload)

    def harness_overrides(self, overrides: dict[str, Any]) -> dict[str, Any]:
        return energy_score_protocol(overrides)

    def wants_fp32(self, task: str) -> bool:
        return wants_fp32(task)

    def provenance(self, task: str, device: str, energy_method: str) -> dict[str, Any]:
        return {"energy_score": describe_energy_score(task, device, energy_method)}


SCHEME_PROTOCOL = BenchmarkProtocol()
ENERGY_SCORE_PROTOCOL = EnergyScoreProtocol()
BENCHMARK_PROTOCOLS: dict[str, BenchmarkProtocol] = {
    p.name: p for p in (SCHEME_PROTOCOL, ENERGY_SCORE_PROTOCOL)
}


def protocol_named(name: str) -> BenchmarkProtocol:
    """The protocol called `name`; UnknownProtocol lists the known ones."""
    try:
        return BENCHMARK_PROTOCOLS[name]
    except KeyError:
        known = ", ".join(BENCHMARK_PROTOCOLS)
        raise UnknownProtocol(f"unknown protocol {name!r} ({known})") from None

"""The protocol objects `benchmark_model` asks: what each measures, by behaviour, not name."""

from __future__ import annotations

import pytest

from scanner.benchmark import BenchmarkJob
from scanner.energy_score import ENERGY_SCORE, NEW_TOKENS, QUERIES, SCHEME
from scanner.protocols import (
    BENCHMARK_PROTOCOLS,
    ENERGY_SCORE_PROTOCOL,
    SCHEME_PROTOCOL,
    UnknownProtocol,
    protocol_named,
)

WORKLOAD = {"batch_size": 8, "sequence_length": 128, "new_tokens": 32}


def test_each_protocol_is_found_by_its_name() -> None:
    assert protocol_named(SCHEME) is SCHEME_PROTOCOL
    assert protocol_named(ENERGY_SCORE) is ENERGY_SCORE_PROTOCOL
    assert set(BENCHMARK_PROTOCOLS) == {SCHEME, ENERGY_SCORE}
    job = BenchmarkJob("m", "r", "t", "p", "cpu", [], "s", "v2", {}, protocol_name=ENERGY_SCORE)
    assert job.measuring is ENERGY_SCORE_PROTOCOL


def test_an_unknown_protocol_names_the_known_ones() -> None:
    with pytest.raises(UnknownProtocol, match=r"unknown protocol 'nope' \(scheme, energy-score\)"):
        protocol_named("nope")


def test_the_scheme_protocol_measures_the_schemes_workload_and_every_variant() -> None:
    p = SCHEME_PROTOCOL
    assert (p.pairs_with_reference, p.measures_variants, p.sweeps_batch_sizes) == (
        True,
        True,
        True,
    )
    assert p.workload(dict(WORKLOAD)) == WORKLOAD
    overrides = {"windows": 3, "window_s": 0.5}
    assert p.harness_overrides(overrides) == overrides
    assert not p.wants_fp32("text-classification")
    assert p.provenance("text-classification", "cpu", "rapl") == {}
    assert "graded" in p.description


def test_the_energy_score_protocol_measures_the_baseline_alone_at_batch_one() -> None:
    p = ENERGY_SCORE_PROTOCOL
    assert (p.pairs_with_reference, p.measures_variants, p.sweeps_batch_sizes) == (
        False,
        False,
        False,
    )
    assert p.workload(dict(WORKLOAD)) == {**WORKLOAD, "batch_size": 1, "new_tokens": NEW_TOKENS}
    harness = p.harness_overrides({"windows": 3, "window_s": 9.0})
    assert (harness["windows"], harness["window_s"], harness["window_iterations"]) == (
        3,
        0.0,
        QUERIES,
    )
    assert p.wants_fp32("text-classification") and not p.wants_fp32("text-generation")
    described = p.provenance("text-classification", "cuda:1", "nvml")["energy_score"]
    assert described["energy_scope"] == "GPU only"
    assert p.provenance("text-generation", "cpu", "rapl")["energy_score"]["energy_scope"] == (
        "CPU (rapl)"
    )
    assert "not graded" in p.description

"""The one place numbers are written for the site, the CLI and the card."""

from __future__ import annotations

import pytest

from labeler.figures import achievable_sentence, format_change, format_energy, format_percent


@pytest.mark.parametrize(
    ("fraction", "digits", "text"),
    [
        (-0.41, 0, "\u221241 %"),
        (0.034, 0, "+3 %"),
        (-0.1234, 1, "\u221212.3 %"),
        (None, 0, "\u2013"),
    ],
)
def test_signed_changes_use_a_real_minus_sign(fraction, digits, text):
    assert format_change(fraction, digits) == text


def test_energy_and_percent():
    assert format_energy(0.012345) == "0.0123"
    assert format_energy(1234.5) == "1,234"
    assert format_energy(None) == "\u2013"
    assert format_percent(0.996) == "99.6 %"


def test_the_achievable_sentence_leaves_out_what_is_unknown():
    full = achievable_sentence("C", "A", "dynamic-int8", -0.41, 0.996, "agreement")
    assert full == "C \u2192 A with dynamic-int8, \u221241 % energy, 99.6 % agreement"
    assert achievable_sentence("D", "B", "fp16", None, None, "") == "D \u2192 B with fp16"

"""Badges: golden SVGs, contrast of every grade colour, shields endpoint JSON, snippets."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labeler.badges import (
    GRADE_COLOURS,
    badge_snippets,
    badge_svg,
    contrast_ratio,
    grade_colour,
    grade_text_colour,
    shields_endpoint,
)
from tests.site_catalog import HOSTILE_ID

GOLDEN = Path(__file__).parent / "golden"
SHIELDS_KEYS = {
    "schemaVersion",
    "label",
    "message",
    "color",
    "labelColor",
    "isError",
    "namedLogo",
    "logoSvg",
    "logoColor",
    "logoWidth",
    "logoPosition",
    "style",
    "cacheSeconds",
}


@pytest.mark.parametrize(
    ("name", "grade", "estimated"),
    [
        ("badge_C.svg", "C", False),
        ("badge_A_estimated.svg", "A", True),
        ("badge_none.svg", None, False),
    ],
)
def test_badge_matches_golden_file(name: str, grade: str | None, estimated: bool) -> None:
    svg = badge_svg(grade, estimated=estimated)
    golden = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(svg, encoding="utf-8")
    assert svg == golden.read_text(encoding="utf-8"), "run with UPDATE_GOLDEN=1 to accept"


@pytest.mark.parametrize("grade", [*GRADE_COLOURS, None])
def test_badge_is_well_formed_svg_with_title_and_aria_label(grade: str | None) -> None:
    root = ET.fromstring(badge_svg(grade))
    title = root.find("{http://www.w3.org/2000/svg}title")
    assert title is not None and title.text == root.get("aria-label")
    assert root.get("role") == "img"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert (grade or "n/a") in texts


def test_estimated_badge_says_so_in_words() -> None:
    svg = badge_svg("C", estimated=True)
    assert 'aria-label="energy label: C (estimated)"' in svg
    assert ">C est.<" in svg


@pytest.mark.parametrize("grade", [*GRADE_COLOURS, None])
def test_letter_on_grade_colour_meets_wcag_aa(grade: str | None) -> None:
    assert contrast_ratio(grade_colour(grade), grade_text_colour(grade)) >= 4.5


def test_grade_colours_run_from_green_to_red() -> None:
    assert list(GRADE_COLOURS) == list("ABCDEFG")
    red, green = (int(GRADE_COLOURS["A"][i : i + 2], 16) for i in (1, 3))
    assert green > red  # A is green
    red, green = (int(GRADE_COLOURS["G"][i : i + 2], 16) for i in (1, 3))
    assert red > green  # G is red


def test_hostile_label_text_is_escaped_in_svg() -> None:
    svg = badge_svg("C", label="<script>alert(1)</script>\"'")
    assert "<script>" not in svg
    ET.fromstring(svg)


def test_shields_endpoint_holds_only_keys_shields_accepts() -> None:
    data = shields_endpoint("C", estimated=True, best_grade="A")
    assert set(data) <= SHIELDS_KEYS
    assert data["schemaVersion"] == 1
    assert data["message"] == "C \u2192 A est."
    assert data["color"] == GRADE_COLOURS["C"].lstrip("#")
    assert shields_endpoint("B", best_grade="B")["message"] == "B"
    ungraded = shields_endpoint(None)
    assert ungraded["message"] == "n/a" and ungraded["color"] == "6b6b6b"


def test_snippets_link_badge_to_model_page() -> None:
    snippets = badge_snippets("org/model", "https://labels.example.org/")
    assert snippets["markdown"] == (
        "[![energy label of org/model](https://labels.example.org/badges/org/model.svg)]"
        "(https://labels.example.org/models/org--model.html)"
    )
    assert 'src="https://labels.example.org/badges/org/model.svg"' in snippets["html"]
    assert (
        "img.shields.io/endpoint?url=https%3A%2F%2Flabels.example.org%2Fbadges"
        in (snippets["shields"])
    )


def test_snippets_for_hostile_id_are_inert() -> None:
    snippets = badge_snippets(HOSTILE_ID, "https://labels.example.org")
    for text in snippets.values():
        assert "<script>" not in text
    assert "&lt;script&gt;" in snippets["html"]
    # The URL parts come from sanitised path segments only.
    url = snippets["markdown"].split("](")[1].split(")")[0]
    assert all(ch.isalnum() or ch in ":/._-" for ch in url)

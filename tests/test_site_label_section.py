"""The label sections of a model page are Python; the other pages' chips are a Jinja macro.
Both must write the same chip, and a hostile value must stay inert in the Python one."""

from __future__ import annotations

import itertools

import pytest

import labeler.site
from labeler.site_label_section import _e, copy_snippet, grade_chip


@pytest.mark.parametrize("grade", ["A", "D", "G", None, ""])
def test_python_grade_chip_matches_the_jinja_macro(grade: str | None) -> None:
    macro = labeler.site._environment().get_template("_macros.html.j2").module.grade_chip
    for flags in itertools.product([False, True], repeat=3):
        assert grade_chip(grade, *flags) == str(macro(grade, *flags))


def test_values_are_escaped_as_jinja_does() -> None:
    assert _e("<a href=\"x\">'&'</a>") == "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    assert _e(None) == "None" and _e(3) == "3" and type(_e("plain")) is str
    snippet = copy_snippet("md-x", "Markdown", "</textarea><script>alert(1)</script>")
    assert "<script>" not in snippet and "&lt;/textarea&gt;&lt;script&gt;" in snippet

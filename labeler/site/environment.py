"""The one Jinja environment every page renders through, and its filters and globals.

It autoescapes, so a value from the catalog is escaped wherever a template writes it, and
it is made once per version of the templates in a process: templates compile on first use,
and worker processes forked after that inherit them compiled. A compiled template is also
kept on disk (`bytecode_cache`) so a new process (the nightly CLI) skips Jinja's parser.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from labeler.badges import GRADE_COLOURS, grade_colour, grade_text_colour
from labeler.card import QUALITY_WORDS
from labeler.costs import format_money
from labeler.figures import format_change, format_date, format_energy, format_percent
from labeler.site.provenance import group_rows
from labeler.slugs import safe_segment
from labels.scheme import GRADES

SITE_SOURCE = Path(__file__).resolve().parent.parent.parent / "site"
_ENVIRONMENTS: dict[str, jinja2.Environment] = {}


def script_json(data: Any) -> Markup:
    """JSON that is safe inside a <script> element: `<`, `>` and `&` become \\u escapes.

    Script contents are not entity-decoded by the browser, so HTML escaping would corrupt
    the data; these escapes keep `</script>` in a model id from closing the element.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def task_page_name(task: str) -> str:
    return f"{safe_segment(task)}.html"


def environment(sources_hash: str = "") -> jinja2.Environment:
    """The Jinja environment, made once per version of the templates in a process."""
    if sources_hash and sources_hash in _ENVIRONMENTS:
        return _ENVIRONMENTS[sources_hash]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(SITE_SOURCE / "templates")),
        autoescape=True,
        auto_reload=False,  # templates never change during a build; skip a stat per render
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters.update(
        energy=format_energy,
        percent=format_percent,
        change=format_change,
        day=format_date,
        script_json=script_json,
        grade_colour=grade_colour,
        grade_text=grade_text_colour,
        task_file=task_page_name,
        money=format_money,
        provenance_rows=group_rows,
    )
    env.globals.update(
        grades=GRADES,
        quality_words=QUALITY_WORDS,
        grade_css=_grade_css(),
        label_bars=_label_bars(),
    )
    env.globals["grade_chip"] = _remembered_chip(env)
    if sources_hash:
        _ENVIRONMENTS.clear()
        _ENVIRONMENTS[sources_hash] = env
    return env


def _remembered_chip(env: jinja2.Environment) -> Callable[..., Markup]:
    """The `grade_chip` macro of `_macros.html.j2` (the one definition of the chip on the
    server), its output remembered per grade and flags: a page calls it up to a dozen times
    with a handful of distinct arguments, and a macro call costs more than the chip."""
    macro = env.get_template("_macros.html.j2").module.grade_chip  # type: ignore[attr-defined]

    @functools.lru_cache(maxsize=64)
    def chip(
        grade: str | None, estimated: bool, noisy: bool, borderline: bool, contended: bool
    ) -> Markup:
        return macro(grade, estimated, noisy, borderline, contended)

    def grade_chip(
        grade: str | None,
        estimated: Any = False,
        noisy: Any = False,
        borderline: Any = False,
        contended: Any = False,
    ) -> Markup:
        return chip(grade, bool(estimated), bool(noisy), bool(borderline), bool(contended))

    return grade_chip


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates in the user's temporary folder, keyed by each template's source
    (Jinja checks it), so a stale entry is never used; none where that folder is not ours."""
    try:
        return jinja2.FileSystemBytecodeCache()
    except (OSError, RuntimeError):  # Jinja refuses a folder another user owns
        return None


def _label_bars(row_h: int = 28) -> Markup:
    """The A-G arrows of the label graphic: the same on every page, so drawn once here."""
    parts = []
    for i, grade in enumerate(GRADES):
        y, w = 46 + i * row_h, 64 + i * 20
        parts.append(
            f'<polygon points="14,{y} {14 + w},{y} {26 + w},{y + 11} {14 + w},{y + 22} '
            f'14,{y + 22}" fill="{grade_colour(grade)}"/>'
            f'<text x="24" y="{y + 17}" font-size="16" font-weight="700" '
            f'fill="{grade_text_colour(grade)}">{grade}</text>'
        )
    return Markup("\n  ".join(parts))


def _grade_css() -> Markup:
    rules = [
        f".grade-{g}{{background:{c};color:{grade_text_colour(g)}}}"
        for g, c in GRADE_COLOURS.items()
    ]
    rules.append(f".grade-na{{background:{grade_colour(None)};color:{grade_text_colour(None)}}}")
    return Markup("".join(rules))


__all__ = ["SITE_SOURCE", "environment", "script_json", "task_page_name"]

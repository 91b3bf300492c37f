"""Model pages render from autoescaped templates: a hostile value from the catalog stays
inert wherever it lands, and the grade chip has one server-side definition."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest

from labeler.site import build_site, environment
from labeler.site.model_page import LabelSection, ModelPage
from labeler.slugs import model_slug
from labels import Catalog, RunResult
from tests.site_catalog import CPU, MINILM_ID, _label, _run, fill_catalog

HOSTILE = "<script>alert('x')</script>&\""


def test_every_template_autoescapes() -> None:
    env = environment()
    for name in env.list_templates(extensions=["j2"]):
        assert env.autoescape is True or env.autoescape(name), name
        source = env.loader.get_source(env, name)[0]
        assert "|safe" not in source.replace(" ", ""), f"{name} marks a value safe by hand"


@pytest.mark.parametrize("grade", ["A", "D", "G", None, ""])
def test_the_grade_chip_macro(grade: str | None) -> None:
    macro = environment().get_template("_macros.html.j2").module.grade_chip
    for estimated, noisy, borderline in itertools.product([False, True], repeat=3):
        text = str(macro(grade, estimated, noisy, borderline))
        letter = grade or "n/a"
        assert text.startswith(f'<span class="grade grade-{grade or "na"}" ')
        assert f">{letter}</span>" in text
        assert ("flag-est" in text) is estimated and ("flag-noisy" in text) is noisy
        assert ("flag-borderline" in text) is borderline


def test_model_page_data_are_typed_and_frozen() -> None:
    for cls in (LabelSection, ModelPage):
        assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen


def test_hostile_text_in_every_run_and_label_field_stays_inert(tmp_path: Path) -> None:
    """A run's reason, notes, tactic and variant and a label's reason come from the catalog
    (a plugin tactic, an error message): each is escaped on the model page."""
    catalog: Catalog = fill_catalog(tmp_path / "c.duckdb")
    minilm = next(m for m in catalog.models() if m.model_id == MINILM_ID)
    run = _run(
        minilm,
        CPU,
        f"v-{HOSTILE}",
        f"t-{HOSTILE}",
        status="failed",
        reason=f"r-{HOSTILE}",
        notes=f"n-{HOSTILE}",
    )
    catalog.record_model_results(minilm, CPU, [RunResult(run, [])])
    catalog.write_labels([_label(minilm, CPU, grade=None, reason=f"l-{HOSTILE}")])
    build_site(catalog, tmp_path / "site", workers=1)
    page = (tmp_path / "site" / "models" / f"{model_slug(MINILM_ID)}.html").read_text()
    assert "<script>alert" not in page
    for prefix in ("v-", "t-", "r-", "n-", "l-"):
        assert f"{prefix}&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#34;" in page

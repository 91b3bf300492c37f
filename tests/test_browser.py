"""The built site in headless Chromium, opened from file:// as a visitor would."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from benchmarks.site_scale import fill_synthetic_catalog
from labeler.screenshots import CHROMIUM_ARGS, chromium_path, take_screenshots
from labeler.site import build_site, environment
from labeler.slugs import model_slug
from tests.site_catalog import DISTILBERT_ID, HOSTILE_ID, MINILM_ID, VIT_ID, fill_catalog

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        chromium_path() is None, reason="Chromium not installed at /usr/bin/chromium"
    ),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("browser-site")
    build_site(fill_catalog(root / "catalog.duckdb"), root / "site", site_url="https://l.example")
    return root / "site"


@pytest.fixture
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Watched:
    """A page with its console errors and dialogs recorded."""

    def __init__(self, browser: object, **context_args: object) -> None:
        self.context = browser.new_context(**context_args)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def on_dialog(dialog: object) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        self.page.on("dialog", on_dialog)

    def body_ids(self) -> list[str]:
        return self.page.locator("#labels-body td.model a").all_inner_texts()


@pytest.fixture
def watched(browser: object) -> Iterator[Watched]:
    w = Watched(browser)
    yield w
    w.context.close()


def test_index_loads_without_console_errors(site: Path, watched: Watched) -> None:
    watched.page.goto((site / "index.html").as_uri())
    assert watched.page.locator("#labels-body tr").count() == 6
    assert "Showing 1\u20136 of 6 labels" in watched.page.locator("#table-status").inner_text()
    assert watched.errors == []


def test_the_scripts_grade_chip_is_the_macros(site: Path, watched: Watched) -> None:
    """The index and compare scripts draw chips with labelFormat.chip (static/format.js):
    the same markup as the grade_chip macro of the server-rendered pages."""
    macro = environment().get_template("_macros.html.j2").module.grade_chip
    watched.page.goto((site / "index.html").as_uri())
    for grade, flags in itertools.product(["A", "E", None], itertools.product([0, 1], repeat=4)):
        drawn = watched.page.evaluate(
            "([g, e, n, b, c]) => { const d = document.createElement('div');"
            " d.appendChild(window.labelFormat.chip(g, e, n, b, c)); return d.innerHTML; }",
            [grade, *flags],
        )
        assert drawn == str(macro(grade, *map(bool, flags)))


def test_sorting_changes_row_order(site: Path, watched: Watched) -> None:
    watched.page.goto((site / "index.html").as_uri())
    before = watched.body_ids()
    watched.page.click("button.sort[data-key=id]")
    ascending = watched.body_ids()
    assert ascending == sorted(ascending, key=str.lower) and ascending != before
    watched.page.click("button.sort[data-key=id]")
    assert watched.body_ids() == ascending[::-1]
    header = watched.page.locator("th[data-key=id]")
    assert header.get_attribute("aria-sort") == "descending"
    watched.page.click("button.sort[data-key=e]")
    energies = watched.page.locator("#labels-body td.num:nth-child(4)").all_inner_texts()
    numbers = [float(e) for e in energies if e != "\u2013"]
    assert numbers == sorted(numbers)


def test_filters_and_search_narrow_rows(site: Path, watched: Watched) -> None:
    watched.page.goto((site / "index.html").as_uri())
    watched.page.select_option("#filter-hardware", "gpu-h100-80gb")
    assert watched.body_ids() == [MINILM_ID]
    watched.page.select_option("#filter-hardware", "")
    watched.page.select_option("#filter-grade", "-")
    assert len(watched.body_ids()) == 2
    watched.page.select_option("#filter-grade", "")
    watched.page.select_option("#filter-task", "text-classification")
    assert len(watched.body_ids()) == 2
    watched.page.select_option("#filter-task", "")
    watched.page.fill("#search", "minilm")
    assert watched.body_ids() == [MINILM_ID, MINILM_ID]
    watched.page.fill("#search", "no-such-model")
    assert "No labels match" in watched.page.locator("#labels-body").inner_text()
    assert watched.errors == []


def test_keyboard_sorting_with_enter(site: Path, watched: Watched) -> None:
    watched.page.goto((site / "index.html").as_uri())
    watched.page.focus("button.sort[data-key=id]")
    watched.page.keyboard.press("Enter")
    ids = watched.body_ids()
    assert ids == sorted(ids, key=str.lower)


def test_model_page_shows_label_and_copy_button_copies(site: Path, browser: object) -> None:
    w = Watched(browser, permissions=["clipboard-read", "clipboard-write"])
    try:
        w.page.goto((site / "models" / f"{model_slug(MINILM_ID)}.html").as_uri())
        label = w.page.locator("svg.eu-label").first
        assert label.is_visible()
        assert "Energy label: class C" in label.locator("title").text_content()
        button = w.page.locator("button.copy-button").first
        expected = w.page.locator("textarea").first.input_value()
        button.click()
        w.page.wait_for_function("document.querySelector('.copy-status').textContent.length > 0")
        assert w.page.locator(".copy-status").first.inner_text() == "Copied."
        assert w.page.evaluate("navigator.clipboard.readText()") == expected
        assert expected.startswith("[![energy label of sentence-transformers/all-MiniLM-L6-v2]")
        assert w.errors == []
    finally:
        w.context.close()


def test_hostile_model_renders_inert(site: Path, watched: Watched) -> None:
    watched.page.goto((site / "index.html").as_uri())
    watched.page.fill("#search", "evil")
    assert watched.body_ids() == [HOSTILE_ID]
    watched.page.click("#labels-body td.model a")
    watched.page.wait_for_load_state("load")
    assert watched.page.locator("h1").inner_text() == HOSTILE_ID
    assert "<script>alert(1)</script>" in watched.page.locator(".card-summary").inner_text()
    assert watched.page.locator("script:not([src])").count() == 0
    assert watched.dialogs == []
    assert watched.errors == []


def test_pagination_with_many_models(tmp_path: Path, watched: Watched) -> None:
    build_site(fill_synthetic_catalog(tmp_path / "c.duckdb", 250), tmp_path / "site")
    watched.page.goto((tmp_path / "site" / "index.html").as_uri())
    assert watched.page.locator("#labels-body tr").count() == 100
    first_page = watched.body_ids()
    watched.page.click("#page-next")
    assert watched.page.locator("#page-info").inner_text() == "Page 2 of 3"
    assert watched.body_ids() != first_page
    watched.page.click("#page-next")
    assert watched.page.locator("#labels-body tr").count() == 50
    assert watched.errors == []


def test_take_screenshots(site: Path, tmp_path: Path) -> None:
    shots = take_screenshots(site, tmp_path / "shots")
    assert [p.name for p in shots] == [
        "index.png",
        "model.png",
        "index_phone.png",
        "compare.png",
        "compare_phone.png",
    ]
    for shot in shots:
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


AXE_JS = Path(__file__).resolve().parent.parent / ".venv/npm/node_modules/axe-core/axe.min.js"


def _compare_url(site: Path, *ids: str, **extra: str) -> str:
    query = urlencode([("m", i) for i in ids] + list(extra.items()))
    return (site / "compare.html").as_uri() + "?" + query


def test_compare_page_puts_models_side_by_side(site: Path, watched: Watched) -> None:
    watched.page.goto(_compare_url(site, DISTILBERT_ID, HOSTILE_ID))
    watched.page.wait_for_selector("#compare-result:not([hidden])")
    heads = watched.page.locator("#compare-head th a.model-link").all_inner_texts()
    assert sorted(heads) == sorted([DISTILBERT_ID, HOSTILE_ID])
    rows = watched.page.locator("#compare-body th").all_inner_texts()
    assert rows[:3] == ["Grade", "Achievable", "Energy (Wh / 1k inferences)"]
    assert {"Latency p50 (ms per batch)", "Size (MB)", "Quality retained"} <= set(rows)
    ratios = watched.page.locator("#compare-ratios").inner_text()
    assert "uses the least energy of these models" in ratios
    assert re.search(r"uses (\d+(\.\d)?× the energy of|about the same energy as)", ratios)
    assert "text-classification on cpu-x86-64" in watched.page.locator("#compare-h").inner_text()
    assert watched.dialogs == [] and watched.errors == []


def test_compare_state_is_in_the_url_and_from_index_ticks(site: Path, watched: Watched) -> None:
    watched.page.goto((site / "index.html").as_uri())
    watched.page.select_option("#filter-task", "text-classification")
    boxes = watched.page.locator("#labels-body input[type=checkbox]")
    assert boxes.count() == 2
    boxes.nth(0).focus()
    watched.page.keyboard.press("Space")
    boxes.nth(1).check()
    assert "2 ticked" in watched.page.locator("#compare-status").inner_text()
    watched.page.focus("#compare-go")
    watched.page.keyboard.press("Enter")
    watched.page.wait_for_url("**/compare.html?*")
    watched.page.wait_for_selector("#compare-result:not([hidden])")
    assert watched.page.locator("#compare-head th a.model-link").count() == 2
    shared = watched.page.url
    # The same address opened afresh shows the same comparison: the state is the URL.
    again = watched.context.new_page()
    again.goto(shared)
    again.wait_for_selector("#compare-result:not([hidden])")
    assert again.locator("#compare-head th a.model-link").count() == 2
    assert watched.errors == []


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        (("no-such/model", "other/missing"), "No label for"),
        ((MINILM_ID, VIT_ID), "no task and hardware in common"),
        ((HOSTILE_ID,), "Add 1 to 3 more models"),
    ],
)
def test_compare_explains_unknown_and_mixed_models(
    site: Path, watched: Watched, ids: tuple[str, ...], expected: str
) -> None:
    watched.page.goto(_compare_url(site, *ids))
    message = watched.page.locator("#compare-message")
    message.filter(has_text=expected).wait_for()
    assert watched.errors == [] and watched.dialogs == []
    assert watched.page.locator("script:not([src]):not([type='application/json'])").count() == 0


def _no_horizontal_overflow(page: object, selector: str) -> list[tuple[int, int]]:
    return page.eval_on_selector_all(
        selector,
        "els => els.filter(e => e.scrollWidth > e.clientWidth + 1)"
        ".map(e => [e.scrollWidth, e.clientWidth])",
    )


def test_model_page_layout_at_1280_and_on_a_phone(site: Path, browser: object) -> None:
    url = (site / "models" / f"{model_slug(MINILM_ID)}.html").as_uri()
    desk = Watched(browser, viewport={"width": 1280, "height": 900})
    phone = Watched(browser, viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        desk.page.goto(url)
        assert desk.page.locator("table.variants").count() == 2
        assert _no_horizontal_overflow(desk.page, ".table-wrap:has(table.variants)") == []
        assert desk.page.locator("table.variants th", has_text="Quality").first.is_visible()
        phone.page.goto(url)
        assert _no_horizontal_overflow(phone.page, ".table-wrap:has(table.variants)") == []
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
        # The label graphic and the grade come first on a phone.
        label_box = phone.page.locator("svg.eu-label").first.bounding_box()
        grade_box = phone.page.locator(".verdict .grade").first.bounding_box()
        tags_box = phone.page.locator(".model-meta").bounding_box()
        assert label_box["y"] < 844 and grade_box["y"] + grade_box["height"] < 844
        assert label_box["y"] < tags_box["y"]
        # Provenance: labelled groups, raw JSON behind a disclosure.
        groups = desk.page.locator(".provenance-group h4").all_inner_texts()
        assert groups[:4] == ["Device", "Meter", "Protocol", "Software"]
        raw = desk.page.locator("details.raw-provenance").first
        assert not raw.locator("pre").is_visible()
        raw.locator("summary").click()
        assert '"python": "3.11.9"' in raw.locator("pre").inner_text()
        assert desk.errors == [] and phone.errors == []
    finally:
        desk.context.close()
        phone.context.close()


@pytest.mark.skipif(not AXE_JS.is_file(), reason="axe-core not installed (make axe)")
def test_accessibility_has_no_serious_violations(site: Path, watched: Watched) -> None:
    pages = [
        (site / "index.html").as_uri(),
        (site / "models" / f"{model_slug(MINILM_ID)}.html").as_uri(),
        # lists DistilBERT under "Cheaper models for the same task"
        (site / "models" / f"{model_slug(HOSTILE_ID)}.html").as_uri(),
        (site / "tasks" / "feature-extraction.html").as_uri(),
        _compare_url(site, DISTILBERT_ID, HOSTILE_ID),
    ]
    for url in pages:
        watched.page.goto(url)
        if "compare.html" in url:
            watched.page.wait_for_selector("#compare-result:not([hidden])")
        watched.page.add_script_tag(path=str(AXE_JS))
        violations = watched.page.evaluate(
            "async () => (await axe.run(document, {preload: false})).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', '))"
        )
        assert violations == [], (url, violations)
    assert watched.errors == []

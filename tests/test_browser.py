"""The built site in headless Chromium, opened from file:// as a visitor would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.site_scale import fill_synthetic_catalog
from labeler.screenshots import CHROMIUM_ARGS, chromium_path, take_screenshots
from labeler.site import build_site
from labeler.slugs import model_slug
from tests.site_catalog import HOSTILE_ID, MINILM_ID, fill_catalog

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
    assert [p.name for p in shots] == ["index.png", "model.png", "index_phone.png"]
    for shot in shots:
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

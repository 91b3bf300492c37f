"""Screenshots of a built site in headless Chromium, for the demo and the README.

Playwright is imported only when a screenshot is taken, so the labeler works without it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from labels.errors import LabelerError

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]


class ScreenshotError(LabelerError):
    """Screenshots cannot be taken here (no browser); the message says how to fix it."""


def chromium_path() -> str | None:
    """The Chromium binary to drive: `LABELER_CHROMIUM` if set, else the Debian package's."""
    path = os.environ.get("LABELER_CHROMIUM") or DEFAULT_CHROMIUM
    return path if Path(path).exists() else None


def take_screenshots(site_dir: Path, out_dir: Path, *, width_px: int = 1280) -> list[Path]:
    """Save index.png, the first model page as model.png, a phone-width index_phone.png and,
    when two models share a task and hardware, the compare page (compare.png, phone too).

    Pages are opened from file:// exactly as a visitor who downloaded the site would.
    """
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise ScreenshotError(
            f"Chromium not found at {DEFAULT_CHROMIUM} (install it with "
            "`apt-get install chromium`, or set LABELER_CHROMIUM)"
        )
    site_dir, out_dir = Path(site_dir).resolve(), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    shots: list[tuple[Path, str, int]] = [(site_dir / "index.html", "index.png", width_px)]
    model_page = _best_model_page(site_dir)
    if model_page is not None:
        shots.append((model_page, "model.png", width_px))
    shots.append((site_dir / "index.html", "index_phone.png", 390))
    compare = _compare_query(site_dir)
    if compare is not None:
        shots.append((site_dir / "compare.html", "compare.png", width_px))
        shots.append((site_dir / "compare.html", "compare_phone.png", 390))
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            for page_path, name, width in shots:
                page = browser.new_page(viewport={"width": width, "height": 900})
                query = compare if page_path.name == "compare.html" else ""
                page.goto(page_path.as_uri() + (f"?{query}" if query else ""))
                page.wait_for_load_state("load")
                target = out_dir / name
                page.screenshot(path=str(target), full_page=True)
                page.close()
                written.append(target)
        finally:
            browser.close()
    return written


def _compare_query(site_dir: Path) -> str | None:
    """A compare query for up to three of the index's first models sharing a task and
    hardware profile, best grade first; None when no two models share one."""
    import html
    from urllib.parse import urlencode

    index = (site_dir / "index.html").read_text(encoding="utf-8")
    boxes = re.findall(
        r'name="m" value="([^"]*)" form="compare-form" data-task="([^"]*)" '
        r'data-hw="([^"]*)"',
        index,
    )
    groups: dict[tuple[str, str], list[str]] = {}
    for model_id, task, hardware in boxes:
        ids = groups.setdefault((html.unescape(task), html.unescape(hardware)), [])
        if html.unescape(model_id) not in ids:
            ids.append(html.unescape(model_id))
    for (task, hardware), ids in groups.items():
        if len(ids) >= 2:
            return urlencode([("m", m) for m in ids[:3]] + [("task", task), ("hw", hardware)])
    return None


def _best_model_page(site_dir: Path) -> Path | None:
    """The first model in the index's order (the best grade), preferring a real model over a
    synthetic one; else any model page."""
    index = (site_dir / "index.html").read_text(encoding="utf-8")
    found = re.findall(r'<td class="model"><a href="(models/[^"]+\.html)">', index)
    found = [href for href in found if (site_dir / href).is_file()]
    real = [href for href in found if not href.startswith("models/synthetic--")]
    if real or found:
        return site_dir / (real or found)[0]
    pages = sorted((site_dir / "models").glob("*.html"))
    return pages[0] if pages else None

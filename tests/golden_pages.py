"""Golden pages: the site of a fixed catalog, kept byte for byte in tests/golden/pages/.

`tests/test_golden_pages.py` builds the site of `tests/site_catalog.py` and compares the
index, a model page, a task page, the compare page and a badge with the files kept here, so
any change to what a visitor gets is seen in review as a diff of those files. After a change
that is meant to show, accept it with

    .venv/bin/python -m tests.golden_pages --update     (or `make golden`)

and commit the files it rewrites. The build date and the prices are fixed; everything else
comes from the catalog, whose dates are fixed too.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path

from labeler.carbon import DEFAULT_GRID
from labeler.costs import Prices
from labeler.site import build_site
from labeler.slugs import badge_stem, model_slug
from tests.site_catalog import MINILM_ID, fill_catalog

GOLDEN_DIR = Path(__file__).resolve().parent / "golden" / "pages"
SITE_URL = "https://labels.example.org"
BUILT_ON = date(2026, 11, 25)
# site path -> the golden file's name (flat: one folder, readable names)
PAGES = {
    "index.html": "index.html",
    f"models/{model_slug(MINILM_ID)}.html": "model.html",
    "tasks/feature-extraction.html": "task.html",
    "compare.html": "compare.html",
    f"badges/{badge_stem(MINILM_ID)}.svg": "badge.svg",
}


def build_pages(work_dir: Path) -> dict[str, bytes]:
    """Build the fixed catalog's site under `work_dir`; the golden pages' bytes by name."""
    catalog = fill_catalog(work_dir / "catalog.duckdb")
    site = work_dir / "site"
    build_site(
        catalog,
        site,
        site_url=SITE_URL,
        workers=1,
        prices=Prices(),
        grid=DEFAULT_GRID,
        built_on=BUILT_ON,
    )
    return {name: (site / rel).read_bytes() for rel, name in PAGES.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--update", action="store_true", help="rewrite the golden files from today's code"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="golden-pages-") as tmp:
        pages = build_pages(Path(tmp))
    differ = [
        name
        for name, data in pages.items()
        if not (GOLDEN_DIR / name).is_file() or (GOLDEN_DIR / name).read_bytes() != data
    ]
    if not args.update:
        for name in differ:
            print(f"differs: tests/golden/pages/{name}")
        return 1 if differ else 0
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    for name in differ:
        (GOLDEN_DIR / name).write_bytes(pages[name])
        print(f"rewrote tests/golden/pages/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The index, a model page, a task page, the compare page and a badge of a fixed catalog are
byte for byte the committed files in tests/golden/pages/ (see tests/golden_pages.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden_pages import GOLDEN_DIR, PAGES, build_pages


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    return build_pages(tmp_path_factory.mktemp("golden"))


@pytest.mark.parametrize("name", sorted(PAGES.values()))
def test_page_is_byte_for_byte_the_golden_file(pages: dict[str, bytes], name: str) -> None:
    golden = GOLDEN_DIR / name
    assert golden.is_file(), "make the golden files: python -m tests.golden_pages --update"
    assert pages[name] == golden.read_bytes(), (
        f"{name} differs from tests/golden/pages/{name}; if the change is meant, accept it "
        "with `python -m tests.golden_pages --update` (or `make golden`) and commit the diff"
    )


def test_a_second_build_makes_the_same_bytes(tmp_path: Path, pages: dict[str, bytes]) -> None:
    """Nothing in the golden pages depends on the time or the machine of the build."""
    assert build_pages(tmp_path) == pages

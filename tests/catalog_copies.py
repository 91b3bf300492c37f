"""Catalogs that tests fill once a process and then copy.

Every write to a catalog publishes a copy of its file for readers (labels/snapshots.py), so a
catalog filled through the public API takes about 0.5 s on a 2-core host; copying a filled one
takes a few ms. Under `make mutants` this matters: each mutant's tests run in a fresh process,
and pytest builds a module's fixtures again each time its tests are interleaved with others'.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from labels import Catalog

Fill = Callable[[Path], Catalog]


def copy_of(fill: Fill, path: Path) -> Catalog:
    """A catalog at `path` as `fill` writes one: the first call in a process runs `fill`, the
    later ones copy its published file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_filled_once(fill), path)
    return Catalog(path)


@functools.cache
def _filled_once(fill: Fill) -> Path:
    """The published file of the one catalog `fill` writes in this process, removed when the
    process exits."""
    folder = Path(tempfile.mkdtemp(prefix="test-catalog-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return fill(folder / "catalog.duckdb").path

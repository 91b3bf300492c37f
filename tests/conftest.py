"""Shared fixtures: an isolated home per test and real DuckDB catalogs on disk.

Nothing heavy is imported here: torch and transformers load only in the tests that build
or benchmark models, so the catalog and grading tests stay fast.
"""

from __future__ import annotations

import gc
import importlib.metadata
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from labels import Catalog


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cuda_available() -> str:
    """Asked of the NVIDIA driver through NVML: importing torch here would add seconds to
    every run, including the runs that never touch a model."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # no library, no driver, no GPU: all mean no CUDA here
        return "no"
    try:
        count = pynvml.nvmlDeviceGetCount()
        names = [
            pynvml.nvmlDeviceGetName(pynvml.nvmlDeviceGetHandleByIndex(i)) for i in range(count)
        ]
    finally:
        pynvml.nvmlShutdown()
    return f"yes ({', '.join(map(str, names))})" if count else "no"


def pytest_report_header(config: pytest.Config) -> list[str]:
    versions = ", ".join(
        f"{name} {_version(name)}"
        for name in ("torch", "transformers", "duckdb", "huggingface_hub")
    )
    return [versions, f"CUDA available: {_cuda_available()}"]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Under mutation testing (mutmut sets MUTANT_UNDER_TEST), move everything imported so
    far out of the garbage collector's sight.

    mutmut forks every mutant's test run from one process that has collected the tests, and
    so imported torch and transformers (tests/test_model_loading.py). Each pytest run ends
    with a full `gc.collect()`, which walked that whole heap and, in a forked child, copied
    every page it touched: 1 s of CPU and 5 s of wall time per mutant on a loaded 2-core
    host, most of the time a mutant took. Frozen objects are never collected (nor copied),
    which costs nothing in a process that exits after one run (docs/mutants.md).
    """
    if "MUTANT_UNDER_TEST" in os.environ:
        gc.freeze()


@pytest.fixture(scope="session")
def tiny_schemes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v1 and v2 as shipped, but v2's reference models tiny (see tests/tiny_schemes.py)."""
    from tests.tiny_schemes import write_tiny_schemes

    return write_tiny_schemes(tmp_path_factory.mktemp("schemes"))


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_schemes_dir: Path) -> Path:
    """Every test gets its own labeler home and catalog, the Hub stays unreachable, and
    scheme v2 measures tiny reference models (tests of the real ones load them by path)."""
    home = tmp_path / "labeler-home"
    home.mkdir()
    monkeypatch.setenv("LABELER_SCHEMES_DIR", str(tiny_schemes_dir))
    monkeypatch.setenv("LABELER_HOME", str(home))
    monkeypatch.setenv("LABELER_CATALOG", str(home / "catalog.duckdb"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    # The test machine is shared: a scan here would be contended at random. Foreign load is
    # tested on recorded counters (tests/test_foreign_load.py), and switched on where asked.
    monkeypatch.setenv("LABELER_FOREIGN_LOAD", "off")
    return home


@pytest.fixture
def catalog_path(tmp_path: Path) -> Path:
    """Where a test's catalog file lives; not created until something opens it."""
    return tmp_path / "catalog.duckdb"


@pytest.fixture
def fresh_catalog(catalog_path: Path) -> Iterator[Catalog]:
    """A migrated, empty catalog on a real DuckDB file."""
    yield Catalog(catalog_path, lock_timeout_s=2.0)

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

# The test machine is shared, so a real scan here would be contended at random: foreign load
# is tested on recorded counters (tests/test_foreign_load.py) and switched on where a test
# asks. Set for the whole session, not only per test, because processes that outlive one
# test (the module's Ray cluster and its workers) are started before function fixtures run.
os.environ["LABELER_FOREIGN_LOAD"] = "off"


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
    """Move everything imported so far out of the garbage collector's sight.

    A benchmark ends each variant with a full `gc.collect()` (scanner/benchmark.py), which in
    this process walks the whole heap of torch, transformers and every collected test
    module: about 0.3 s of CPU a call on a 2-core host, paid by every in-process scan of
    every test. Frozen objects are never collected, which costs nothing in a process that
    exits after one run.

    Under mutation testing it matters twice: mutmut forks every mutant's test run from one
    process that has collected the tests, and each run ends with a full `gc.collect()` that,
    in a forked child, copied every page it touched: 1 s of CPU and 5 s of wall time per
    mutant on a loaded 2-core host, most of the time a mutant took (docs/mutants.md).
    """
    gc.freeze()


@pytest.fixture(scope="module", autouse=True)
def _freeze_what_earlier_modules_left() -> None:
    """Freeze again as each test module starts: torch and transformers load much of
    themselves lazily (a model class on first use), after collection. What the earlier
    modules left for garbage is collected first, so only live objects are frozen; one that
    becomes cyclic garbage later stays in memory until the run ends, which a test run can
    afford (module fixtures are made after the freeze, so they are still collected)."""
    gc.collect()
    gc.freeze()


@pytest.fixture(scope="session", autouse=True)
def tiny_model_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each tiny model kind is built once a session; tests get copies (tests/tiny_models.py)."""
    from tests.tiny_models import keep_builds_in

    store = tmp_path_factory.mktemp("tiny-model-store")
    keep_builds_in(store)
    return store


@pytest.fixture(scope="session")
def tiny_bert(tiny_model_store: Path) -> Path:
    """The tiny BERT classifier with its tokenizer, in Hub layout; read it, copy it to change
    it (`tests.tiny_models.copy_model`)."""
    from tests.tiny_models import TINY_BERT, build_tiny_model

    return build_tiny_model(TINY_BERT, tiny_model_store / "shared" / "tiny-bert")


@pytest.fixture(scope="session")
def tiny_schemes_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v1 and v2 as shipped, but v2's reference models tiny (see tests/tiny_schemes.py)."""
    from tests.tiny_schemes import write_tiny_schemes

    return write_tiny_schemes(tmp_path_factory.mktemp("schemes"))


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray cluster for one test module (its daemons would cost CPU if kept longer).

    Ray is an optional extra: without it the test skips on a laptop but fails in CI (`CI`
    set), where a skip would hide a broken executor."""
    import importlib.util
    import signal

    if importlib.util.find_spec("ray") is None:
        if os.environ.get("CI"):
            raise ImportError("ray is not installed but CI is set: install the extra, '.[ray]'")
        pytest.skip("ray is not installed (pip install '.[ray]')")
    import ray

    sigterm = signal.getsignal(signal.SIGTERM)  # ray.init installs its own, for good
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()
        signal.signal(signal.SIGTERM, sigterm)


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

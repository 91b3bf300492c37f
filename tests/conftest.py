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
from tests import mutant_order

# The test machine is shared, so a real scan here would be contended at random: foreign load
# is tested on recorded counters (tests/test_foreign_load.py) and switched on where a test
# asks. Set for the whole session, not only per test, because processes that outlive one
# test (the module's Ray cluster and its workers) are started before function fixtures run.
os.environ["LABELER_FOREIGN_LOAD"] = "off"


def _share_the_cpus_among_xdist_workers() -> None:
    """`make test` runs the suite in one pytest-xdist worker per CPU. Each worker's torch
    (and ONNX Runtime, child processes and Ray tasks, which inherit it) then gets its share
    of the CPUs through OMP_NUM_THREADS, which scanner/cpu_quota.py honours: two workers with
    two threads each on two cores would wait on each other's threads in every operator.
    Set before torch is imported, which reads it once."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers > 1 and "OMP_NUM_THREADS" not in os.environ:
        from scanner.cpu_quota import cpu_allowance

        cpus = cpu_allowance().usable_cpus  # the affinity mask, capped by a cgroup quota
        os.environ["OMP_NUM_THREADS"] = str(max(1, cpus // workers))


_share_the_cpus_among_xdist_workers()


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


def _is_heavy(item: pytest.Item) -> bool:
    """A test of seconds: marked `slow`, or driving Chromium."""
    return any(item.get_closest_marker(name) for name in ("slow", "browser"))


def _uses_ray(item: pytest.Item | None) -> bool:
    return item is not None and "local_ray" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The order that lets `make test` split the suite well over pytest-xdist's workers (one
    per CPU, `--dist loadfile`: each test file is one unit of work, run on one worker, so its
    module fixtures are built once): the files come in order of cost, so the workers finish
    together rather than one waiting on a long test at the end.

    - First the files on a Ray cluster (tests/test_ray.py): their tests share one cluster,
      started by the first and stopped after the last (starting one takes 8-10 s on 2 cores,
      and an idle one costs 0.14 of a core);
    - then the files that hold a `slow` or `browser` test;
    - then the rest. The sort is stable: each file keeps its order.

    A mutant's run under `make mutants` instead runs its cheapest tests first
    (tests/mutant_order.py).
    """
    if mutant_order.running_a_mutant():
        mutant_order.cheapest_first(items, mutant_order.read())
        return
    ray_files = {item.path for item in items if _uses_ray(item)}
    heavy_files = {item.path for item in items if _is_heavy(item)}
    items.sort(
        key=lambda item: 0 if item.path in ray_files else 1 if item.path in heavy_files else 2
    )


# Each test's seconds in mutmut's stats run, setup and teardown included (tests/mutant_order.py).
_stats_run = mutant_order.StatsRecorder()


def pytest_sessionstart(session: pytest.Session) -> None:
    _stats_run.start()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _stats_run.add(report)


def pytest_sessionfinish(session: pytest.Session) -> None:
    _stats_run.finish()


# The running local Ray cluster's saved SIGTERM handler (ray.init installs its own).
_ray_cluster: dict[str, object] = {}


@pytest.fixture
def local_ray() -> None:
    """A local Ray cluster, started by the first Ray test and stopped after the last of them
    (`pytest_runtest_teardown`): they run one after another (above).

    Ray is an optional extra: without it the test skips on a laptop but fails in CI (`CI`
    set), where a skip would hide a broken executor."""
    import importlib.util
    import signal

    if importlib.util.find_spec("ray") is None:
        if os.environ.get("CI"):
            raise ImportError("ray is not installed but CI is set: install the extra, '.[ray]'")
        pytest.skip("ray is not installed (pip install '.[ray]')")
    import ray

    if not _ray_cluster:
        _ray_cluster["sigterm"] = signal.getsignal(signal.SIGTERM)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Stop the local Ray cluster after the last Ray test in a row."""
    if _ray_cluster and not _uses_ray(nextitem):
        import signal

        import ray

        ray.shutdown()
        signal.signal(signal.SIGTERM, _ray_cluster.pop("sigterm"))  # type: ignore[arg-type]


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


@pytest.fixture
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's consoles 250 columns wide for one test. rich fixes a console's width when the
    console is made if COLUMNS is set then (as it is in a pytest-xdist worker), so a COLUMNS
    handed to CliRunner alone would not reach it there."""
    from labeler import cli

    for console in (cli.out, cli.err):
        monkeypatch.setattr(console, "_width", 250)

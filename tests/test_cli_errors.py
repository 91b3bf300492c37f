"""Failure modes the CLI used to print as tracebacks: each is now one `error:` line, exit 2.

A card with an unmatched marker (CardError), and `card --push` without write rights against
the loopback Hub (an HTTP 401/403 mapped to one `HubError` line).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from labeler.card import START_MARKER
from labeler.cli import app
from labels.errors import HubError, LabelerError, hub_error
from tests import hub_server
from tests.hub_server import LoopbackHub
from tests.site_catalog import MINILM_ID, fill_catalog

loopback_hub = hub_server.loopback_hub


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def labelled_catalog(tmp_path) -> Path:
    path = tmp_path / "catalog.duckdb"
    fill_catalog(path)
    return path


def assert_one_error_line(result, *, contains: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    assert contains in lines[0], lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_card_with_an_unmatched_marker_is_one_line_and_the_card_is_kept(
    runner, tmp_path, labelled_catalog
):
    readme = tmp_path / "README.md"
    text = f"# my model\n\n{START_MARKER}\nhalf a block, no end marker\n"
    readme.write_text(text, encoding="utf-8")
    result = runner.invoke(
        app, ["card", MINILM_ID, "--readme", str(readme), "--catalog", str(labelled_catalog)]
    )
    assert_one_error_line(result, contains="unmatched energy-label marker")
    assert readme.read_text(encoding="utf-8") == text


@pytest.mark.parametrize(
    ("token", "status"), [(None, "401"), ("hf_reader", "403")], ids=["no-token", "read-token"]
)
def test_card_push_without_write_rights_is_one_line(
    runner, labelled_catalog, loopback_hub: LoopbackHub, monkeypatch, token, status
):
    loopback_hub.add_model(MINILM_ID, {"README.md": b"# MiniLM\n"})
    if token:
        monkeypatch.setenv("HF_TOKEN", token)
    result = runner.invoke(app, ["card", MINILM_ID, "--push", "--catalog", str(labelled_catalog)])
    assert_one_error_line(result, contains=f"({status})")
    assert MINILM_ID in result.stderr
    commits = [r for r in loopback_hub.requests if r.method == "POST"]
    assert commits, "the push reached the Hub's write endpoints"


def test_card_push_to_a_missing_repository_is_one_line(
    runner, labelled_catalog, loopback_hub: LoopbackHub
):
    result = runner.invoke(app, ["card", MINILM_ID, "--push", "--catalog", str(labelled_catalog)])
    assert_one_error_line(result, contains="no model")


class _Response:
    def __init__(self, status_code: int) -> None:
        self.status_code = status_code


class _HttpError(Exception):
    def __init__(self, status_code: int) -> None:
        super().__init__(f"{status_code} Client Error\nmore detail")
        self.response = _Response(status_code)


@pytest.mark.parametrize("status", [401, 403, 404, 429, 500])
def test_hub_http_errors_map_to_one_labeler_error(status):
    error = hub_error(_HttpError(status), "org/model")
    assert isinstance(error, HubError) and isinstance(error, LabelerError)
    assert error.status == status
    assert f"({status})" in error.one_line() or f"HTTP {status}" in error.one_line()
    assert "org/model" in error.one_line() and "\n" not in error.one_line()

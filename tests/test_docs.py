"""Docs that cannot drift: every command and every catalog table or view is documented."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
import typer.main

from labeler.cli import app
from labels.migrations import migrate

DOCS = Path(__file__).resolve().parents[1] / "docs"
COMMANDS = typer.main.get_command(app).commands


def _relations() -> dict[str, list[str]]:
    con = duckdb.connect()
    try:
        migrate(con)
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "ORDER BY table_name, ordinal_position"
        ).fetchall()
    finally:
        con.close()
    relations: dict[str, list[str]] = {}
    for table, column in rows:
        relations.setdefault(table, []).append(column)
    return relations


RELATIONS = _relations()


@pytest.fixture(scope="module")
def cli_md() -> str:
    return (DOCS / "cli.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def catalog_md() -> str:
    return (DOCS / "catalog.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_is_documented_with_help(cli_md, name):
    assert re.search(rf"^## labeler {re.escape(name)}$", cli_md, re.MULTILINE), name
    assert (COMMANDS[name].help or "").strip(), f"{name} has no help text"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_is_documented(cli_md, name):
    section = cli_md.split(f"## labeler {name}\n", 1)[1].split("\n## ", 1)[0]
    for param in COMMANDS[name].params:
        for opt in param.opts:
            if opt.startswith("--") and opt != "--help":
                assert f"`{opt}`" in section, f"{name} {opt}"


@pytest.mark.parametrize("relation", sorted(RELATIONS))
def test_table_or_view_is_documented(catalog_md, relation):
    assert re.search(rf"^### {re.escape(relation)}$", catalog_md, re.MULTILINE), relation


@pytest.mark.parametrize("relation", sorted(RELATIONS))
def test_every_column_is_documented(catalog_md, relation):
    section = catalog_md.split(f"### {relation}\n", 1)[1].split("\n### ", 1)[0]
    for column in RELATIONS[relation]:
        assert f"| `{column}` |" in section, f"{relation}.{column}"

"""Migrations: applied once, in order, each in one transaction with its record."""

from __future__ import annotations

import duckdb
import pytest

from labels import Catalog
from labels import migrations as migrations_module
from labels.migrations import MIGRATIONS, applied_migrations, migrate

ALL_NAMES = [name for name, _ in MIGRATIONS]


def _applied(path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT name FROM _migrations ORDER BY name").fetchall()]
    finally:
        con.close()


def test_empty_file_gets_every_migration(catalog_path):
    con = duckdb.connect(str(catalog_path))
    try:
        assert migrate(con) == ALL_NAMES
        assert applied_migrations(con) == sorted(ALL_NAMES)
    finally:
        con.close()


def test_reopening_applies_nothing(catalog_path):
    Catalog(catalog_path)
    con = duckdb.connect(str(catalog_path))
    try:
        before = con.execute("SELECT name, applied_at FROM _migrations").fetchall()
        assert migrate(con) == []
        assert con.execute("SELECT name, applied_at FROM _migrations").fetchall() == before
    finally:
        con.close()
    Catalog(catalog_path)  # a second open is just as quiet
    assert _applied(catalog_path) == sorted(ALL_NAMES)


def test_file_from_an_earlier_release_gets_only_the_new_migrations(catalog_path, monkeypatch):
    Catalog(catalog_path)  # made by the current list of migrations
    calls: list[str] = []

    def m999_add_notes_table(con: duckdb.DuckDBPyConnection) -> None:
        calls.append("m999")
        con.execute("CREATE TABLE scan_notes (scan_id VARCHAR, note VARCHAR)")

    monkeypatch.setattr(
        migrations_module,
        "MIGRATIONS",
        [*MIGRATIONS, ("m999_add_notes_table", m999_add_notes_table)],
    )
    con = duckdb.connect(str(catalog_path))
    try:
        assert migrate(con) == ["m999_add_notes_table"]
        assert migrate(con) == []
        assert con.execute("SELECT count(*) FROM scan_notes").fetchone() == (0,)
    finally:
        con.close()
    assert calls == ["m999"]
    assert _applied(catalog_path) == sorted([*ALL_NAMES, "m999_add_notes_table"])


def test_catalog_open_runs_new_migrations(catalog_path, monkeypatch):
    Catalog(catalog_path)

    def m998_extra(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE extra (x INTEGER)")

    monkeypatch.setattr(migrations_module, "MIGRATIONS", [*MIGRATIONS, ("m998_extra", m998_extra)])
    Catalog(catalog_path)
    assert "m998_extra" in _applied(catalog_path)


def test_failing_migration_rolls_back_and_records_nothing(catalog_path, monkeypatch):
    Catalog(catalog_path)

    def m997_half_done(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE half_done (x INTEGER)")
        con.execute("INSERT INTO half_done VALUES (1)")
        con.execute("SELECT * FROM no_such_table")  # fails after doing some work

    monkeypatch.setattr(
        migrations_module, "MIGRATIONS", [*MIGRATIONS, ("m997_half_done", m997_half_done)]
    )
    con = duckdb.connect(str(catalog_path))
    try:
        with pytest.raises(duckdb.Error):
            migrate(con)
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        assert "half_done" not in tables
        assert "m997_half_done" not in applied_migrations(con)
    finally:
        con.close()
    assert _applied(catalog_path) == sorted(ALL_NAMES)


def test_first_migration_failing_on_an_empty_file_leaves_no_schema(catalog_path, monkeypatch):
    def m001_broken(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TABLE models (model_id VARCHAR)")
        raise RuntimeError("boom")

    monkeypatch.setattr(migrations_module, "MIGRATIONS", [("m001_broken", m001_broken)])
    con = duckdb.connect(str(catalog_path))
    try:
        with pytest.raises(RuntimeError):
            migrate(con)
        tables = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        assert "models" not in tables
        assert applied_migrations(con) == []
    finally:
        con.close()


def test_migration_names_are_unique_and_ordered():
    assert len(set(ALL_NAMES)) == len(ALL_NAMES)
    assert sorted(ALL_NAMES) == ALL_NAMES
    assert all(name.startswith("m") and name[1:4].isdigit() for name in ALL_NAMES)

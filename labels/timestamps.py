"""The one clock of the catalog: naive UTC, which is how DuckDB `TIMESTAMP` columns store time."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now in UTC without a timezone, as every timestamp in the catalog is stored."""
    return datetime.now(UTC).replace(tzinfo=None)

"""The energy-label catalog: a DuckDB file with migrations, typed records and queries.

Only duckdb and the standard library are imported here, and lazily: `import labels` is
cheap in a user's script, works without torch, and `labels.records` or `labels.scheme`
work even where duckdb is not installed (a GPU worker that only measures).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Catalog": "labels.catalog",
    "CatalogError": "labels.catalog",
    "CatalogCorruptError": "labels.catalog",
    "CatalogLockedError": "labels.catalog",
    "default_catalog_path": "labels.catalog",
    "export_csv": "labels.catalog",
    "export_parquet": "labels.catalog",
    "HardwareRecord": "labels.records",
    "LabelRecord": "labels.records",
    "LatestLabel": "labels.latest_label",
    "Recommendation": "labels.recommendation",
    "recommendations_from_json": "labels.recommendation",
    "recommendations_to_json": "labels.recommendation",
    "ModelRecord": "labels.records",
    "RunRecord": "labels.records",
    "RunResult": "labels.records",
    "WindowRecord": "labels.records",
    "Scheme": "labels.scheme",
    "SchemeError": "labels.scheme",
    "load_scheme": "labels.scheme",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'labels' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__

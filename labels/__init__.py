"""The energy-label catalog: a DuckDB file with migrations, typed records and queries.

Only duckdb and the standard library are imported here, so that `import labels` stays
cheap in a user's script and works without torch.
"""

from labels.catalog import (
    Catalog,
    CatalogError,
    CatalogLockedError,
    default_catalog_path,
    export_csv,
    export_parquet,
)
from labels.records import (
    HardwareRecord,
    LabelRecord,
    ModelRecord,
    RunRecord,
    RunResult,
    WindowRecord,
)
from labels.scheme import Scheme, SchemeError, load_scheme

__all__ = [
    "Catalog",
    "CatalogError",
    "CatalogLockedError",
    "HardwareRecord",
    "LabelRecord",
    "ModelRecord",
    "RunRecord",
    "RunResult",
    "Scheme",
    "SchemeError",
    "WindowRecord",
    "default_catalog_path",
    "export_csv",
    "export_parquet",
    "load_scheme",
]

"""A scan from the user's choices to the models it will measure, everything checked first.

The order matters to a user: bad options, then a bad, damaged or newer catalog, fail before
any download, and a new catalog is created only once discovery has found something to
scan. `plan_scan` does that; the caller runs the plan with `scanner.scan.scan` (the CLI
wraps it in a progress bar).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from labels.catalog import Catalog, catalog_exists, check_catalog_folder, default_catalog_path
from scanner.discovery.base import ModelRef
from scanner.discovery.selection import ModelSelection, discover_models
from scanner.scan import ScanOptions
from scanner.scan_checks import check_protocol, check_scan_options, eval_data_path


@dataclass(frozen=True)
class ScanPlan:
    """The models to scan, the catalog they go to, and the checked options."""

    refs: list[ModelRef]
    catalog: Catalog
    options: ScanOptions


def checked_options(options: ScanOptions, tasks: tuple[str, ...] = ()) -> ScanOptions:
    """`options` once every check passed, its labelled-data file as a full path."""
    check_scan_options(
        options.scheme_version, tasks, options.executor, options.tactics, options.device
    )
    check_protocol(options.protocol_name, options.tactics)
    eval_data = eval_data_path(None if options.eval_data is None else Path(options.eval_data))
    return dataclasses.replace(options, eval_data=eval_data)


def plan_scan(
    selection: ModelSelection, options: ScanOptions, catalog_path: Path | None = None
) -> ScanPlan:
    """Check the options and the catalog, then discover the models (downloads start here)."""
    options = checked_options(options, selection.tasks)
    path = catalog_path or default_catalog_path()
    check_catalog_folder(path)
    existing = Catalog(path) if catalog_exists(path) else None
    refs = discover_models(selection)
    return ScanPlan(refs, existing or Catalog(path, create=True), options)

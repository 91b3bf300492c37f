"""Typed CLI options shared by several commands, defined once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

CatalogOpt = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        help="DuckDB catalog file [default: $LABELER_CATALOG or build/catalog.duckdb].",
        show_default=False,
    ),
]
DeviceOpt = Annotated[
    str, typer.Option("--device", help="Where to benchmark: cpu, cuda or cuda:N.")
]
TaskOpt = Annotated[
    list[str] | None,
    typer.Option("--task", help="Pipeline tag to scan (repeatable), e.g. text-classification."),
]
SiteOutOpt = Annotated[Path, typer.Option("--out", help="Folder the site is written to.")]
SiteUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--site-url",
        envvar="LABELER_SITE_URL",
        help="Public URL of the published site, for links in badges and cards.",
    ),
]
SchemeOpt = Annotated[
    str, typer.Option("--scheme", help="Label scheme version: v2 (default) or v1.")
]
TopOpt = Annotated[int, typer.Option("--top", min=1, help="Models per task (hub).")]
TacticOpt = Annotated[
    list[str] | None, typer.Option("--tactic", help="Tactic to measure (repeatable).")
]
WindowsOpt = Annotated[
    int | None, typer.Option("--windows", min=1, help="Measured windows per variant.")
]
WindowSecondsOpt = Annotated[
    float | None, typer.Option("--window-s", min=0.0, help="Minimum seconds a window.")
]
ExecutorOpt = Annotated[
    str, typer.Option("--executor", help="subprocess (default), inprocess or ray.")
]

"""Typed CLI options shared by several commands, defined once.

The lists of tasks, tactics and executors in the help come from their registries (plugins
included), read without importing torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scanner.executors.registry import executor_names
from scanner.tactics.registry import tactic_names
from scanner.tasks.registry import task_names

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
    typer.Option("--task", help=f"Pipeline tag to scan (repeatable): {', '.join(task_names())}."),
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
    list[str] | None,
    typer.Option("--tactic", help=f"Tactic to measure (repeatable): {', '.join(tactic_names())}."),
]
WindowsOpt = Annotated[
    int | None, typer.Option("--windows", min=1, help="Measured windows per variant.")
]
WindowSecondsOpt = Annotated[
    float | None, typer.Option("--window-s", min=0.0, help="Minimum seconds a window.")
]
ExecutorOpt = Annotated[
    str,
    typer.Option("--executor", help=f"Where models run: {', '.join(executor_names())}."),
]

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
FixedPairsOpt = Annotated[
    bool,
    typer.Option(
        "--fixed-pairs",
        help="Always measure --windows pairs of windows (the fixed protocol); by default a "
        "pair loop stops once the grade or the saving is decided (docs/methodology.md).",
    ),
]
AllowBusyHostOpt = Annotated[
    bool,
    typer.Option(
        "--allow-busy-host",
        help="Grade a model even when clean windows could not be had on a busy host; the "
        "label is then marked contended (catalog, site, badge, card).",
    ),
]
MinPairsOpt = Annotated[
    int | None,
    typer.Option(
        "--min-pairs", min=1, help="Pairs always measured before stopping early (default 2)."
    ),
]
WindowSecondsOpt = Annotated[
    float | None, typer.Option("--window-s", min=0.0, help="Minimum seconds a window.")
]
ExecutorOpt = Annotated[
    str,
    typer.Option("--executor", help=f"Where models run: {', '.join(executor_names())}."),
]


def protocol_overrides(**values: float | int | bool | None) -> dict[str, float | int | bool]:
    """The measurement options a command was given, as `Protocol` field overrides.

    `fixed_pairs=True` becomes `sequential=False`; options left unset are left out, so the
    device's defaults apply.
    """
    fixed = values.pop("fixed_pairs", None)
    overrides = {k: v for k, v in values.items() if v is not None}
    if fixed:
        overrides["sequential"] = False
    return overrides


# Prices are read as text and checked by labeler.costs, so a bad value (an option or its
# environment variable) is one line and exit 2, never click's boxed usage error.
ElectricityPriceOpt = Annotated[
    str | None,
    typer.Option(
        "--electricity-price-per-kwh",
        help="Electricity price per kWh for money figures "
        "[default: $LABELER_ELECTRICITY_PRICE_PER_KWH or 0.13, the US commercial average].",
        show_default=False,
    ),
]
HardwarePriceOpt = Annotated[
    str | None,
    typer.Option(
        "--hardware-price-per-hour",
        help="Machine price per hour for money figures [default: "
        "$LABELER_HARDWARE_PRICE_PER_HOUR, or 0.09 for a CPU profile, 3.00 for a GPU one].",
        show_default=False,
    ),
]
CurrencyOpt = Annotated[
    str | None,
    typer.Option(
        "--currency",
        help="Currency label of the prices [default: $LABELER_CURRENCY or USD].",
        show_default=False,
    ),
]

"""Typed CLI options shared by several commands, defined once, and the choices as Enums.

The lists of tasks, tactics and executors in the help come from their registries (plugins
included), read without importing torch; they stay text, checked by `scanner.scan_checks`,
because a plugin can add names. A fixed set of choices is an Enum parsed by
`choice_option`, whose bad value is one `error:` line like every other bad input.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

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
# Read as text and checked by labeler.carbon, like the prices: a bad value is one line, exit 2.
GridIntensityOpt = Annotated[
    str | None,
    typer.Option(
        "--grid-intensity-g-per-kwh",
        help="Grid carbon intensity in g CO2e per kWh, to turn energy into CO2e [default: "
        "$LABELER_GRID_INTENSITY_G_PER_KWH or 436, the world average for 2022 (Ember, "
        "Global Electricity Review 2023), marked as a default where shown].",
        show_default=False,
    ),
]


# -- choices ------------------------------------------------------------------------------

E = TypeVar("E", bound=Enum)


class BadgeFormat(StrEnum):
    SVG = "svg"
    JSON = "json"  # the shields.io endpoint
    DETAILS = "details"  # the label's figures and CO2e, as JSON
    MARKDOWN = "markdown"


class ExportFormat(StrEnum):
    CYCLONEDX = "cyclonedx"  # a CycloneDX 1.6 ML-BOM
    JSON = "json"  # everything the label rests on


class SqlFormat(StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


class ProtocolName(StrEnum):
    """The measurement protocols of `scanner.energy_score` (a test keeps the two in step)."""

    SCHEME = "scheme"
    ENERGY_SCORE = "energy-score"


class MeterName(StrEnum):
    """The energy meters of `scanner.meters.select.METHODS` (a test keeps the two in step)."""

    NVML = "nvml"
    NVML_POWER = "nvml-power"
    RAPL = "rapl"
    ESTIMATE = "estimate"


def enum_parser(enum: type[E], noun: str) -> Callable[[Any], E]:
    """Text to a member of `enum`; an unknown value names the known ones."""

    def parse(value: Any) -> E:
        if isinstance(value, enum):
            return value
        try:
            return enum(value)
        except ValueError:
            known = ", ".join(str(member.value) for member in enum)
            raise typer.BadParameter(f"unknown {noun} {value!r} (known: {known})") from None

    return parse


def choice_option(enum: type[E], flag: str, noun: str, help: str) -> Any:  # noqa: A002
    """A `typer.Option` whose value is a member of `enum`, shown as `[a|b|c]` in the help."""
    return typer.Option(
        flag,
        parser=enum_parser(enum, noun),
        metavar="[" + "|".join(str(member.value) for member in enum) + "]",
        help=help,
    )


class OneLineErrors(TyperGroup):
    """A bad option value (an unknown choice, a number out of range) is one `error:` line
    and exit 2, as every other bad input is, instead of click's boxed usage message."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.BadParameter as exc:
            param = exc.param.opts[0] if exc.param is not None and exc.param.opts else None
            message = " ".join(str(exc.message).split())
            typer.echo(f"error: {param}: {message}" if param else f"error: {message}", err=True)
            raise typer.Exit(2) from None

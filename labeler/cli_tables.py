"""The CLI's tables, laid out to stay readable at 80 columns and in a pipe.

A pipe gets 80 columns (or `COLUMNS`), so a wide table is cut into narrower ones rather
than squeezed: a squeezed rich table shortens cells to '…', and a figure cut short is a
wrong figure. Every column folds (a long tactic name or value goes on to the next line)
and never ellipsizes. Layout only: the figures come from the library as text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich import box
from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from labeler.recommendation_report import TacticRow


def _table(title: str | None, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def recommendation_tables(rows: Sequence[TacticRow], currency: str) -> list[Table]:
    """Two tables of six columns: what each tactic measured, and what it costs.

    Units go in the headers, so a cell holds a figure alone; the notes (why a tactic does
    not apply, why it failed) are sentences, printed after the tables by the caller.
    """
    metrics = {row.quality_metric for row in rows if row.quality_metric}
    shared_metric = metrics.pop().replace("_", " ") if len(metrics) == 1 else None
    measured = _table(
        "measured against the baseline",
        "tactic",
        "energy",
        "latency",
        shared_metric or "quality",
        "size MB",
        "qualifies",
    )
    money = _table(
        f"running and build cost ({currency})",
        "tactic",
        f"{currency}/1M",
        "build s",
        "build cost",
        "payback",
        "money payback",
    )
    for row in rows:
        quality = (
            row.quality_value if shared_metric else f"{row.quality_metric} {row.quality_value}"
        )
        measured.add_row(
            row.tactic,
            row.energy,
            row.latency,
            quality.strip(),
            row.size_mb,
            row.qualifies,
        )
        if row.applies:  # a tactic that does not apply has no figures to show
            money.add_row(
                row.tactic,
                row.cost_per_million,
                row.build_s,
                row.build_cost,
                row.payback,
                row.money_payback,
            )
    return [measured, money] if money.row_count else [measured]


def query_renderables(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], width: int
) -> list[RenderableType]:
    """A query's result as one table when it fits `width`, else one block per row with a
    column a line (psql's expanded display), so that no value is cut or squeezed letter by
    letter; --format csv or json give one row a line."""
    cells = [[table_cell(v) for v in row] for row in rows]
    widths = [
        max([len(name), *(len(line) for row in cells for line in row[i].splitlines() or [""])])
        for i, name in enumerate(columns)
    ]
    if sum(widths) + 2 * (len(columns) - 1) <= width:
        table = _table(None, *columns)
        for row in cells:
            table.add_row(*row)
        return [table]
    blocks: list[RenderableType] = []
    for number, row in enumerate(cells, 1):
        block = Table.grid(padding=(0, 2))
        block.add_column(no_wrap=True)
        block.add_column(overflow="fold")
        for name, value in zip(columns, row, strict=True):
            block.add_row(name, value)
        blocks += [Text(f"-- row {number} --"), block]
    return blocks


def table_cell(value: Any) -> str:
    """Floats to 4 significant digits (--format csv or json gives them whole)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)

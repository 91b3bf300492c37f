"""Everything `labeler recommend` shows for one model, gathered by one function.

The money comes from `costs.label_money`, the same figures the model page shows, so the
command and the site cannot disagree on which baseline run they start from. The rows are
plain strings in the order the command prints them; the CLI only lays them out.
"""

from __future__ import annotations

from dataclasses import dataclass

from labeler.costs import LabelMoney, Prices, format_money, label_money, measured_baseline
from labeler.figures import format_change
from labeler.label_lookup import find_label
from labeler.recommend import Priority, batching_sentence, headline, order_by_priority
from labels.batching import batch_sweep_from_json, batching_advice
from labels.catalog import Catalog
from labels.latest_label import LatestLabel
from labels.recommendation import Recommendation


@dataclass(frozen=True)
class TacticRow:
    """One tactic's figures as printed; empty strings where the tactic did not apply."""

    tactic: str
    applies: bool
    energy: str
    latency: str
    quality_metric: str
    quality_value: str
    size_mb: str
    build_s: str
    payback: str  # inferences until the energy saved covers the build's energy
    cost_per_million: str  # in the prices' currency, as are the build cost
    build_cost: str
    money_payback: str  # inferences until the money saved covers the build's cost
    qualifies: str
    note: str


@dataclass(frozen=True)
class RecommendationReport:
    label: LatestLabel
    prices: Prices
    money: LabelMoney | None  # None without a measured baseline run
    recommendations: list[Recommendation]  # in the order of the priority asked for
    batching: str | None  # the batching sentence, when the baseline swept batch sizes

    def headline(self) -> str:
        label = self.label
        return f"{label.model_id} on {label.hardware} ({label.task}): {headline(label)}"

    def baseline_line(self) -> str | None:
        if self.money is None:
            return None
        currency = self.prices.currency
        return (
            f"baseline: {format_money(self.money.baseline_cost_per_million, currency)} per 1M "
            f"inferences (electricity {self.prices.electricity_price_per_kwh:g} "
            f"{currency}/kWh, machine {self.money.hardware_price_per_hour:g} {currency}/h)"
        )

    def rows(self) -> list[TacticRow]:
        return [self._row(rec) for rec in self.recommendations]

    def _row(self, rec: Recommendation) -> TacticRow:
        if not rec.applies:
            return TacticRow(rec.tactic, False, *([""] * 10), "n/a", rec.note)
        cash = self.money.by_variant.get(rec.variant) if self.money else None
        paid = cash.payback if cash else None
        return TacticRow(
            tactic=rec.tactic,
            applies=True,
            energy=_pct(rec.energy_change),
            latency=_pct(rec.latency_change),
            quality_metric=rec.quality_metric or "",
            quality_value=f"{rec.quality_value or 0:.4f}",
            size_mb=f"{rec.size_mb or 0:.1f}",
            build_s=f"{rec.build_s or 0:.1f}",
            payback=str(rec.payback_inferences if rec.payback_inferences is not None else "never"),
            cost_per_million=_money(cash.cost_per_million if cash else None),
            build_cost=_money(paid.build_cost if paid else None),
            money_payback=(
                "n/a"
                if paid is None
                else "never"
                if paid.inferences is None
                else str(paid.inferences)
            ),
            qualifies="yes" if rec.qualifies else "no",
            note=rec.note,
        )


def recommendation_report(
    catalog: Catalog,
    model_id: str,
    hardware: str | None,
    priority: Priority,
    prices: Prices,
) -> RecommendationReport:
    """The model's label, its tactics in `priority` order, and their money at `prices`."""
    label = find_label(catalog, model_id, hardware)
    runs = catalog.latest_runs(model_id, label.revision, label.task, label.hardware)
    money = label_money(label.recommendations, runs, prices)

    def cost_change(rec: Recommendation) -> float | None:
        cash = money.by_variant.get(rec.variant) if money else None
        return cash.cost_change if cash else None

    baseline = measured_baseline(runs)
    advice = batching_advice(batch_sweep_from_json(baseline.batch_sweep_json)) if baseline else None
    return RecommendationReport(
        label=label,
        prices=prices,
        money=money,
        recommendations=order_by_priority(label.recommendations, priority, cost_change),
        batching=batching_sentence(advice) if advice is not None else None,
    )


def _pct(value: float | None) -> str:
    return "" if value is None else format_change(value, digits=1)


def _money(value: float | None) -> str:
    """A money figure without its currency, which the table's title names."""
    return format_money(value, "").strip()

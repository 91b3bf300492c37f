"""What running a model costs in money, and when a tactic's build pays for itself.

The study this project stands on weighed inference time, accuracy, energy *and money* in
one decision tree for engineers; a saving in Wh means little to someone who pays by the
hour for a machine. So every figure here is derived from what the harness measured:

    cost per 1M inferences = energy (kWh per 1M) × electricity price (per kWh)
                           + run time (hours per 1M) × hardware price (per hour)

Energy per 1M inferences in kWh is numerically the label's Wh per 1,000 inferences
(×1000 inferences, ÷1000 Wh per kWh). Run time per 1M comes from the measured latency of
the reference workload: `latency_ms_p50` per batch ÷ the batch's inferences. A tactic's
build cost is its metered build energy at the electricity price plus its build time at the
hardware price, and it pays back after `build cost ÷ money saved per inference`.

Prices come, in order, from a command's options, then the environment variables
`LABELER_ELECTRICITY_PRICE_PER_KWH`, `LABELER_HARDWARE_PRICE_PER_HOUR` and
`LABELER_CURRENCY`, then the documented defaults below. A price that is negative or not a
number is a `PriceError` (one line, exit 2 from the CLI). This module imports no torch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

from labels.errors import LabelerError
from labels.recommendation import Recommendation
from labels.records import RunRecord
from labels.run_status import RunStatus
from labels.tactic_kinds import is_baseline_variant

MS_PER_HOUR = 3_600_000.0
INFERENCES_PER_MILLION = 1_000_000

ELECTRICITY_ENV = "LABELER_ELECTRICITY_PRICE_PER_KWH"
HARDWARE_ENV = "LABELER_HARDWARE_PRICE_PER_HOUR"
CURRENCY_ENV = "LABELER_CURRENCY"

# Defaults, in US dollars, with where they come from (read 2026-12-03):
# - electricity: US average retail price to the commercial sector, about 13 ¢/kWh in 2023-2024
#   (U.S. EIA, Electric Power Monthly, Table 5.6.B "Average Price of Electricity to
#   Ultimate Customers by End-Use Sector"), rounded to 0.13 USD/kWh;
# - a CPU machine: an AWS EC2 c7i.large (2 vCPU, 4 GiB, Linux, us-east-1) on demand,
#   0.08925 USD/h (aws.amazon.com/ec2/pricing/on-demand), rounded to 0.09 USD/h;
# - a GPU machine: one H100 SXM 80GB on demand from a specialty GPU cloud, typically
#   2.49-3.99 USD/h in early 2026 (Lambda, CoreWeave, RunPod list prices, as collected by
#   pricegpu.pages.dev "H100 vs A100 Cloud Pricing"), taken as 3.00 USD/h. Hyperscalers
#   charge more; any GPU profile gets this default, so set your own price for another GPU.
DEFAULT_ELECTRICITY_PRICE_PER_KWH = 0.13
DEFAULT_CPU_PRICE_PER_HOUR = 0.09
DEFAULT_GPU_PRICE_PER_HOUR = 3.00
DEFAULT_CURRENCY = "USD"


class PriceError(LabelerError):
    """A price that is negative or not a number."""


@dataclass(frozen=True)
class Prices:
    """The prices money figures use; `hardware_price_per_hour` None means the default for
    the hardware profile (a CPU instance or an H100, see the module's defaults)."""

    electricity_price_per_kwh: float = DEFAULT_ELECTRICITY_PRICE_PER_KWH
    hardware_price_per_hour: float | None = None
    currency: str = DEFAULT_CURRENCY

    def hardware_price_for(self, hardware_profile: str | None) -> float:
        """The hardware price per hour for a profile such as `cpu-x86-64` or `gpu-h100-80gb`."""
        if self.hardware_price_per_hour is not None:
            return self.hardware_price_per_hour
        if (hardware_profile or "").startswith("gpu"):
            return DEFAULT_GPU_PRICE_PER_HOUR
        return DEFAULT_CPU_PRICE_PER_HOUR


@dataclass(frozen=True)
class Payback:
    """A tactic's build cost in money and after how many inferences the money it saves
    covers it (`inferences` None when it saves no money, 0 when the build was free)."""

    build_cost: float
    saving_per_million: float
    inferences: int | None


def parse_price(value: str | float, name: str) -> float:
    """A price from an option or environment variable: a finite number, zero or more."""
    try:
        price = float(value)
    except (TypeError, ValueError):
        raise PriceError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(price) or price < 0:
        raise PriceError(f"{name} must be a finite number of zero or more, got {value!r}")
    return price


def resolve_prices(
    electricity_price_per_kwh: str | float | None = None,
    hardware_price_per_hour: str | float | None = None,
    currency: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Prices:
    """Prices from the options given, else the environment, else the defaults."""
    env = os.environ if environ is None else environ
    electricity = _first(electricity_price_per_kwh, env.get(ELECTRICITY_ENV))
    hardware = _first(hardware_price_per_hour, env.get(HARDWARE_ENV))
    label = _first(currency, env.get(CURRENCY_ENV))
    electricity_name = (
        "--electricity-price-per-kwh" if electricity_price_per_kwh is not None else ELECTRICITY_ENV
    )
    hardware_name = (
        "--hardware-price-per-hour" if hardware_price_per_hour is not None else HARDWARE_ENV
    )
    return Prices(
        electricity_price_per_kwh=(
            DEFAULT_ELECTRICITY_PRICE_PER_KWH
            if electricity is None
            else parse_price(electricity, electricity_name)
        ),
        hardware_price_per_hour=None if hardware is None else parse_price(hardware, hardware_name),
        currency=(str(label).strip() or DEFAULT_CURRENCY)
        if label is not None
        else DEFAULT_CURRENCY,
    )


def _first(option: str | float | None, env_value: str | None) -> str | float | None:
    """The option when given, else a non-empty environment value, else None."""
    if option is not None:
        return option
    return env_value if env_value not in (None, "") else None


def hours_per_million(
    latency_ms_per_batch: float | None, batch_inferences: int | None
) -> float | None:
    """Hours one device is busy for 1M inferences at the measured latency per batch."""
    if latency_ms_per_batch is None or not batch_inferences or batch_inferences <= 0:
        return None
    return latency_ms_per_batch / batch_inferences * INFERENCES_PER_MILLION / MS_PER_HOUR


def cost_per_million(
    energy_wh_per_1k: float | None,
    run_hours_per_million: float | None,
    prices: Prices,
    hardware_profile: str | None = None,
) -> float | None:
    """Money per 1M inferences: energy × electricity price + run time × hardware price.

    None when the energy is unknown; without a run time only the energy is counted would
    understate the cost, so that is None too.
    """
    if energy_wh_per_1k is None or run_hours_per_million is None:
        return None
    kwh_per_million = energy_wh_per_1k  # Wh per 1k inferences == kWh per 1M inferences
    return (
        kwh_per_million * prices.electricity_price_per_kwh
        + run_hours_per_million * prices.hardware_price_for(hardware_profile)
    )


def build_cost(
    build_energy_wh: float | None,
    build_s: float | None,
    prices: Prices,
    hardware_profile: str | None = None,
) -> float:
    """Money a tactic's build took: its metered energy plus the machine's time."""
    energy_cost = (build_energy_wh or 0.0) / 1000.0 * prices.electricity_price_per_kwh
    time_cost = (build_s or 0.0) / 3600.0 * prices.hardware_price_for(hardware_profile)
    return energy_cost + time_cost


def payback(
    baseline_cost_per_million: float | None,
    variant_cost_per_million: float | None,
    cost_to_build: float,
) -> Payback | None:
    """When the money a variant saves per inference covers its build cost.

    None when either running cost is unknown. A variant that costs as much or more to run
    never pays back (`inferences` None); a free build pays back at once (0).
    """
    if baseline_cost_per_million is None or variant_cost_per_million is None:
        return None
    saving = baseline_cost_per_million - variant_cost_per_million
    if saving <= 0:
        return Payback(cost_to_build, saving, None)
    if cost_to_build <= 0:
        return Payback(cost_to_build, saving, 0)
    return Payback(
        cost_to_build, saving, math.ceil(cost_to_build / saving * INFERENCES_PER_MILLION)
    )


def format_money(value: float | None, currency: str) -> str:
    """Money with 2 decimals from 1 up, else 4 significant digits: '1.23 USD', '0.01234 USD'."""
    if value is None:
        return "n/a"
    if value == 0:
        return f"0 {currency}"
    digits = 2 if abs(value) >= 1 else max(2, 2 - math.floor(math.log10(abs(value))) + 1)
    return f"{value:.{min(digits, 8)}f} {currency}"


@dataclass(frozen=True)
class VariantMoney:
    """A variant's running cost beside the baseline's, and its build's payback in money."""

    cost_per_million: float | None
    baseline_cost_per_million: float | None
    payback: Payback | None
    currency: str

    @property
    def cost_change(self) -> float | None:
        """Relative to the baseline's cost, -0.3 = 30 % cheaper to run."""
        if self.cost_per_million is None or not self.baseline_cost_per_million:
            return None
        return self.cost_per_million / self.baseline_cost_per_million - 1.0


def baseline_hours_per_million(baseline: RunRecord) -> float | None:
    return hours_per_million(baseline.latency_ms_p50, baseline.batch_size)


def baseline_cost_per_million(baseline: RunRecord, prices: Prices) -> float | None:
    """The baseline's cost per 1M inferences of the reference workload."""
    return cost_per_million(
        baseline.energy_wh_per_1k,
        baseline_hours_per_million(baseline),
        prices,
        baseline.hardware_profile,
    )


def variant_money(rec: Recommendation, baseline: RunRecord, prices: Prices) -> VariantMoney:
    """Money figures of one recommendation: its energy is the baseline's scaled by the paired
    change (`rec.energy_wh_per_1k`), its run time the baseline's scaled by the paired latency
    change, so host drift cancels here as it does for energy."""
    base_cost = baseline_cost_per_million(baseline, prices)
    base_hours = baseline_hours_per_million(baseline)
    hours = (
        base_hours * (1.0 + rec.latency_change)
        if base_hours is not None and rec.latency_change is not None
        else None
    )
    cost = cost_per_million(rec.energy_wh_per_1k, hours, prices, baseline.hardware_profile)
    to_build = build_cost(rec.build_energy_wh, rec.build_s, prices, baseline.hardware_profile)
    return VariantMoney(cost, base_cost, payback(base_cost, cost, to_build), prices.currency)


@dataclass(frozen=True)
class LabelMoney:
    """What one label's page shows in money: the baseline's running cost and each variant's."""

    prices: Prices
    hardware_price_per_hour: float
    baseline_cost_per_million: float | None
    by_variant: dict[str, VariantMoney]


def measured_baseline(runs: list[RunRecord]) -> RunRecord | None:
    """The label's measured baseline run among its runs: the one every money figure and
    the batching advice start from (a failed or skipped baseline measured nothing)."""
    return next(
        (r for r in runs if is_baseline_variant(r.variant) and r.status == RunStatus.OK), None
    )


def label_money(
    recommendations: list[Recommendation], runs: list[RunRecord], prices: Prices
) -> LabelMoney | None:
    """Money figures of a label from its runs (the baseline's) and recommendations; None
    when the label has no measured baseline run."""
    baseline = measured_baseline(runs)
    if baseline is None:
        return None
    return LabelMoney(
        prices=prices,
        hardware_price_per_hour=prices.hardware_price_for(baseline.hardware_profile),
        baseline_cost_per_million=baseline_cost_per_million(baseline, prices),
        by_variant={
            rec.variant: variant_money(rec, baseline, prices)
            for rec in recommendations
            if rec.applies
        },
    )

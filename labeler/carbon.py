"""Grams of CO2e per 1,000 inferences: the label's energy times a grid's carbon intensity.

A label measures energy, not emissions: the emissions depend on where the electricity comes
from, which the scan does not know. So the figure is energy × a grid intensity the user
gives (`--grid-intensity-g-per-kwh`, or `LABELER_GRID_INTENSITY_G_PER_KWH`), and without one
a documented world average, marked as a default wherever it shows so that nobody mistakes it
for the model's own grid.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from labels.errors import LabelerError

GRID_INTENSITY_ENV = "LABELER_GRID_INTENSITY_G_PER_KWH"
# Ember, Global Electricity Review 2023: the carbon intensity of the world's electricity
# generation in 2022, 436 g CO2/kWh, the latest world figure we could check against two
# sources (docs/methodology.md says more). Newer reviews exist; the figure is a default, marked.
DEFAULT_GRID_INTENSITY_G_PER_KWH = 436.0
DEFAULT_GRID_SOURCE = "Ember, Global Electricity Review 2023: world average for 2022"
DEFAULT_GRID_YEAR = 2022


class GridIntensityError(LabelerError):
    """A grid intensity that is not a positive number."""


@dataclass(frozen=True)
class GridIntensity:
    """Grams of CO2e per kWh of electricity, and where the figure comes from."""

    g_per_kwh: float
    source: str
    is_default: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "grid_intensity_g_per_kwh": self.g_per_kwh,
            "grid_intensity_source": self.source,
            "grid_intensity_is_default": self.is_default,
        }


DEFAULT_GRID = GridIntensity(DEFAULT_GRID_INTENSITY_G_PER_KWH, DEFAULT_GRID_SOURCE, True)


def resolve_grid_intensity(value: str | float | None = None) -> GridIntensity:
    """The option's value, else the environment variable's, else the world-average default.

    Text is accepted (option and environment give text) and checked here, so a bad value is
    one `error:` line wherever it comes from.
    """
    origin = "--grid-intensity-g-per-kwh"
    if value is None or (isinstance(value, str) and not value.strip()):
        value = os.environ.get(GRID_INTENSITY_ENV) or None
        origin = GRID_INTENSITY_ENV
    if value is None:
        return DEFAULT_GRID
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise GridIntensityError(
            f"{origin} must be a positive number of g CO2e per kWh, not {value!r}"
        ) from None
    if not math.isfinite(number) or number <= 0:
        raise GridIntensityError(
            f"{origin} must be a positive number of g CO2e per kWh, not {value!r}"
        )
    return GridIntensity(number, f"given ({origin})", False)


@dataclass(frozen=True)
class Carbon:
    """CO2e per 1,000 inferences of the reference workload, with the grid it assumes."""

    co2e_g_per_1k: float
    grid: GridIntensity

    def text(self) -> str:
        """ "0.85 g CO2e per 1,000 inferences (grid 436 g/kWh, default: world average …)"."""
        where = f"default: {self.grid.source}" if self.grid.is_default else "given"
        return (
            f"{self.co2e_g_per_1k:.3g} g CO2e per 1,000 inferences "
            f"(grid {self.grid.g_per_kwh:g} g/kWh, {where})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"co2e_g_per_1k": self.co2e_g_per_1k, **self.grid.to_dict()}


def carbon_for(energy_wh_per_1k: float | None, grid: GridIntensity = DEFAULT_GRID) -> Carbon | None:
    """The CO2e of `energy_wh_per_1k` on `grid`, or None without an energy figure.

    This is the one function the site, the badge JSON, the card and the BOM call.
    """
    if energy_wh_per_1k is None or not math.isfinite(energy_wh_per_1k):
        return None
    return Carbon(energy_wh_per_1k / 1000.0 * grid.g_per_kwh, grid)

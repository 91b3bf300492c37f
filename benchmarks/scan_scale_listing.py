"""Time Hub discovery over thousands of listed models, against the loopback Hub.

A scan of a popular task lists many models before it benchmarks any; this measures what the
listing itself costs (HTTP pages, JSON parsing, ModelRef building) with `fetch=False`, so a
later benchmark can tell discovery overhead from benchmarking time.

    .venv/bin/python benchmarks/scan_scale_listing.py --models 5000 --page-size 1000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# Run as a plain script from anywhere: the loopback Hub lives in the repository's tests/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scanner.discovery.hub import discover_hub_models  # noqa: E402
from tests.hub_server import LoopbackHub  # noqa: E402


@dataclass(frozen=True)
class ListingTiming:
    models_listed: int
    pages_requested: int
    duration_s: float

    @property
    def models_per_s(self) -> float:
        return self.models_listed / self.duration_s if self.duration_s > 0 else float("inf")


def time_listing(
    model_count: int, *, page_size: int = 1000, task: str = "text-classification"
) -> ListingTiming:
    """List `model_count` synthetic models through discover_hub_models and time it."""
    hub = LoopbackHub(page_size=page_size)
    previous_endpoint = os.environ.get("HF_ENDPOINT")
    os.environ["HF_ENDPOINT"] = hub.endpoint
    try:
        hub.add_synthetic_models(model_count, pipeline_tag=task)
        started_s = time.perf_counter()
        refs = list(discover_hub_models([task], model_count, fetch=False))
        duration_s = time.perf_counter() - started_s
    finally:
        hub.close()
        if previous_endpoint is None:
            os.environ.pop("HF_ENDPOINT", None)
        else:
            os.environ["HF_ENDPOINT"] = previous_endpoint
    if len(refs) != model_count:
        raise RuntimeError(f"listed {len(refs)} models, expected {model_count}")
    return ListingTiming(len(refs), len(hub.requests_to("/api/models")), duration_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=5000, help="synthetic models to list")
    parser.add_argument("--page-size", type=int, default=1000, help="models per listing page")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best is kept")
    args = parser.parse_args()
    timings = [time_listing(args.models, page_size=args.page_size) for _ in range(args.repeat)]
    best = min(timings, key=lambda timing: timing.duration_s)
    print(
        f"listed {best.models_listed} models in {best.pages_requested} pages: "
        f"best {best.duration_s:.3f} s of {args.repeat} runs ({best.models_per_s:,.0f} models/s)"
    )


if __name__ == "__main__":
    main()

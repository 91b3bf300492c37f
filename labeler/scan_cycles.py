"""Scan → grade → site (→ snapshot): the schedule's nightly cycle and the demo, as functions.

Both tie the scanner to the labeler, which only the CLI may do (docs/extending.md, "Where
logic lives"): this module is imported by `labeler/cli.py` alone, and takes the scan runner
and the site builder as arguments, so the CLI keeps its progress bars and a test can run a
cycle without a command line. torch loads with the first scan, not on import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labeler.carbon import DEFAULT_GRID, GridIntensity
from labeler.grading import GradeSummary, grade_catalog
from labels.catalog import Catalog
from labels.errors import LabelerError
from labels.snapshots import take_snapshot
from scanner.discovery.base import ModelRef
from scanner.discovery.demo import MINILM_ID, demo_scan_plan, discover_demo_models
from scanner.discovery.selection import DEFAULT_MODELS_DIR, ModelSelection, discover_models
from scanner.scan_run import ScanPlan

ScanRunner = Callable[[ScanPlan, Callable[[], bool]], Any]  # returns a scanner ScanSummary
SiteBuilder = Callable[[Catalog, Path], Any]  # returns a labeler.site SiteSummary


def scan_without_progress(plan: ScanPlan, should_stop: Callable[[], bool]) -> Any:
    """The plain scan, for callers with no progress to show."""
    from scanner.scan import scan  # torch: only when a cycle scans

    return scan(plan.refs, plan.catalog, plan.options, should_stop=should_stop)


@dataclass(frozen=True)
class CycleSummary:
    """What one scheduled cycle did, and the line the schedule logs for it."""

    scan: Any  # ScanSummary
    graded: GradeSummary
    site: Any  # SiteSummary
    snapshot: Path | None
    published: tuple[str, ...] = ()  # one line per repository published (or failed)

    def one_line(self) -> str:
        kept = f"; snapshot {self.snapshot}" if self.snapshot else ""
        published = "".join(f"; {line}" for line in self.published)
        return (
            f"{self.scan.benchmarked} benchmarked, {self.scan.unchanged} unchanged, "
            f"{self.scan.failed} failed; {self.graded.graded} graded; site {self.site.models} "
            f"models, {self.site.rendered_models} rendered{kept}; {self.scan.contended} "
            f"contended (measured again next cycle){published}"
        )


def run_cycle(
    catalog_path: Path,
    selection: ModelSelection,
    options: Any,  # ScanOptions, checked by the caller once for every cycle
    out_dir: Path,
    keep_snapshots: int,
    *,
    build_site: SiteBuilder,
    run_scan: ScanRunner = scan_without_progress,
    should_stop: Callable[[], bool] = lambda: False,
    publish_space: str | None = None,
    publish_dataset: str | None = None,
) -> CycleSummary:
    """Scan what changed, grade, build the site (incrementally), snapshot the catalog, and
    publish the site and the labels to the Hub when a Space or a dataset is named.

    The catalog is opened afresh each cycle: between cycles another process may have
    written it, and a writer is never kept open overnight.
    """
    catalog = Catalog(catalog_path)
    summary = run_scan(ScanPlan(discover_models(selection), catalog, options), should_stop)
    graded = grade_catalog(catalog)
    built = build_site(Catalog(catalog_path, read_only=True), out_dir)
    snapshot = take_snapshot(catalog_path, keep_snapshots)
    published = publish_after_cycle(catalog_path, out_dir, publish_space, publish_dataset)
    return CycleSummary(summary, graded, built, snapshot, published)


def publish_after_cycle(
    catalog_path: Path, site_dir: Path, space: str | None, dataset: str | None
) -> tuple[str, ...]:
    """Publish after a cycle, each repository on its own: a failure is one line of the
    cycle's log and the schedule goes on."""
    from labeler.publish import publish as publish_to_hub
    from scanner.discovery.hub import hub_endpoint

    lines: list[str] = []
    for target in ({"space": space}, {"dataset": dataset}):
        if not any(target.values()):
            continue
        try:
            done = publish_to_hub(
                Catalog(catalog_path, read_only=True),
                site_dir,
                endpoint=hub_endpoint(),
                **target,
            )
        except LabelerError as exc:
            lines.append(f"publish failed: {exc.one_line()}")
            continue
        lines += [repo.line() for repo in done]
    return tuple(lines)


@dataclass(frozen=True)
class DemoSummary:
    scans: list[Any]  # one ScanSummary per group of the demo's plan
    graded: GradeSummary
    site: Any  # SiteSummary
    bom: Path | None = None  # MiniLM's CycloneDX BOM, when MiniLM was labelled

    @property
    def ok(self) -> bool:
        return all(scan.ok for scan in self.scans)


def run_demo(
    catalog: Catalog,
    protocol: dict[str, float | int | bool],
    out_dir: Path,
    *,
    build_site: SiteBuilder,
    run_scan: ScanRunner = scan_without_progress,
    refs: list[ModelRef] | None = None,
    grid: GridIntensity = DEFAULT_GRID,
    allow_busy_host: bool = False,
) -> DemoSummary:
    """Scan the bundled demo models on CPU, grade them, build the site, and write MiniLM's
    CycloneDX BOM beside the site (`build/bom/` by default) with CO2e on `grid`.

    MiniLM gets every default CPU tactic plus onnx-int8-dynamic; each tiny synthetic model
    (one per task) is measured on its baseline alone (`demo_scan_plan`). `refs` defaults to
    the bundled models, built under build/models/demo the first time.
    """
    from scanner.scan import ScanOptions  # torch: only when the demo scans

    if refs is None:
        refs = discover_demo_models(DEFAULT_MODELS_DIR / "demo")

    scans = [
        run_scan(
            ScanPlan(
                group,
                catalog,
                ScanOptions(
                    device="cpu",
                    protocol=protocol,
                    tactics=tactics,
                    allow_busy_host=allow_busy_host,
                ),
            ),
            lambda: False,
        )
        for group, tactics in demo_scan_plan(refs)
    ]
    graded = grade_catalog(catalog)
    built = build_site(catalog, out_dir)
    bom = None
    if catalog.latest_label(MINILM_ID) is not None:
        from labeler.bom import write_model_bom  # cyclonedx-python-lib: only for the BOM

        bom_path = out_dir.parent / "bom" / "all-MiniLM-L6-v2.cdx.json"
        bom = write_model_bom(catalog, MINILM_ID, bom_path, grid)
    return DemoSummary(scans, graded, built, bom)

"""The `labeler` command: a thin layer over the library.

Each command parses options, calls one library function, prints, and turns expected errors
into one line on stderr and a non-zero exit (2 for bad input, 1 when models failed). The
logic lives in the library (docs/extending.md, "Where logic lives"); what stays here is
presentation: progress bars, the 80-column layout, exit statuses.

Modules that import torch (the scan, the benchmark) or huggingface_hub (the Hub) are
imported inside the commands that need them, so `labeler grade`, `site`, `badge` and
`--help` start without them; everything else is imported here.
"""

from __future__ import annotations

import csv
import functools
import json
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from labeler.alternatives import alternatives_for
from labeler.badges import badge_details, badge_snippets, badge_svg, shields_endpoint
from labeler.carbon import GridIntensity, carbon_for, resolve_grid_intensity
from labeler.card import card_block, push_card, update_card
from labeler.card_metadata import update_card_metadata
from labeler.cli_options import (
    AllowBusyHostOpt,
    BadgeFormat,
    CatalogOpt,
    CurrencyOpt,
    DeviceOpt,
    ElectricityPriceOpt,
    ExecutorOpt,
    ExportFormat,
    FixedPairsOpt,
    GridIntensityOpt,
    HardwarePriceOpt,
    MeterName,
    MinPairsOpt,
    OneLineErrors,
    ProtocolName,
    SchemeOpt,
    SiteOutOpt,
    SiteUrlOpt,
    SqlFormat,
    TacticOpt,
    TaskOpt,
    TopOpt,
    WindowSecondsOpt,
    WindowsOpt,
    choice_option,
    protocol_overrides,
)
from labeler.cli_tables import query_renderables, recommendation_tables
from labeler.costs import Prices, resolve_prices
from labeler.figures import format_energy
from labeler.grading import grade_catalog
from labeler.label_lookup import find_label
from labeler.recommend import Priority
from labeler.recommendation_report import recommendation_report
from labels.catalog import Catalog
from labels.errors import LabelerError
from labels.scheme import DEFAULT_SCHEME_VERSION, load_scheme
from scanner.discovery.selection import HubRanking, ModelSelection
from scanner.library_logs import quiet_library_logs
from scanner.scan_checks import batch_sizes_option

app = typer.Typer(
    name="labeler",
    cls=OneLineErrors,
    help="A-G energy labels for Hugging Face models: scan, grade, publish.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain help: rich's boxes cut long option names to '…' at 80 columns and read
    # "[default: $LABELER_…]" in a help text as markup, dropping it.
    rich_markup_mode=None,
)
out = Console(soft_wrap=True)  # long lines (paths, ids) are never broken
err = Console(stderr=True, soft_wrap=True)
quiet_library_logs()
F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_SITE = Path("build/site")


class UsageError(LabelerError):
    """Bad input from the user: one line on stderr, exit status 2."""


def expected_errors(fn: F) -> F:
    """Turn the errors a user can cause into one clear line and an exit status.

    Every such error is a `LabelerError` (catalog, scheme, discovery, Hub, card, meter,
    hardware, schedule, bad options); anything else is a bug and keeps its traceback.
    A path the user named that the operating system cannot find is the one outside error
    that also means bad input.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LabelerError as exc:
            _print_error(exc.one_line())
            raise typer.Exit(exc.exit_code) from None
        except FileNotFoundError as exc:
            _print_error(" ".join(str(exc).split()))
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err.print("interrupted", markup=False)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def _print_error(message: str) -> None:
    # soft_wrap: rich would otherwise fold a long message (a path) onto more lines
    err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)


def open_catalog(path: Path | None, *, create: bool = False, read_only: bool = False) -> Catalog:
    """A writer, or with `read_only` the published file alone (never the writer's lock)."""
    return Catalog(path, create=create, read_only=read_only)


@app.command()
@expected_errors
def scan(
    source: Annotated[
        str, typer.Option("--source", help="demo, hub, or the path of a folder of models.")
    ] = "demo",
    task: TaskOpt = None,
    top: TopOpt = 10,
    sort: Annotated[
        HubRanking,
        choice_option(HubRanking, "--sort", "ranking", "Hub ranking: downloads or likes."),
    ] = HubRanking.DOWNLOADS,
    library: Annotated[str | None, typer.Option("--library", help="Hub library filter.")] = None,
    models_file: Annotated[
        Path | None, typer.Option("--models", help="File of Hub model ids, one a line (hub).")
    ] = None,
    device: DeviceOpt = "cpu",
    tactic: TacticOpt = None,
    windows: WindowsOpt = None,
    fixed_pairs: FixedPairsOpt = False,
    min_pairs: MinPairsOpt = None,
    window_s: WindowSecondsOpt = None,
    warmup_s: Annotated[
        float | None, typer.Option("--warmup-s", min=0.0, help="Seconds of warm-up calls.")
    ] = None,
    idle_s: Annotated[
        float | None, typer.Option("--idle-s", min=0.0, help="Idle power window.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Benchmark unchanged models again.")
    ] = False,
    allow_pickle: Annotated[
        bool, typer.Option("--allow-pickle", help="Load pickle weights (weights_only=True).")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, help="Seconds per model before it is killed.")
    ] = 1800.0,
    executor: ExecutorOpt = "subprocess",
    address: Annotated[str | None, typer.Option("--address", help="Ray cluster address.")] = None,
    meter: Annotated[
        MeterName | None,
        choice_option(MeterName, "--meter", "meter", "Force nvml, nvml-power, rapl or estimate."),
    ] = None,
    max_download_gb: Annotated[
        float | None, typer.Option("--max-download-gb", help="Skip larger Hub models.")
    ] = None,
    max_params: Annotated[
        int | None,
        typer.Option("--max-params", min=1, help="Skip models with more parameters than this."),
    ] = None,
    models_dir: Annotated[
        Path, typer.Option("--models-dir", help="Where demo and Hub models are stored.")
    ] = Path("build/models"),
    eval_data: Annotated[
        Path | None,
        typer.Option(
            "--eval-data",
            help="Labelled CSV or JSONL (text, label): labelled accuracy per variant.",
        ),
    ] = None,
    scheme: SchemeOpt = DEFAULT_SCHEME_VERSION,
    protocol_name: Annotated[
        ProtocolName,
        choice_option(
            ProtocolName,
            "--protocol",
            "protocol",
            "scheme (graded labels, the default) or energy-score (the AI Energy Score's "
            "protocol: batch 1, 1,000 queries, fp32, 10 new tokens; shown apart, not graded).",
        ),
    ] = ProtocolName.SCHEME,
    batch_sizes: Annotated[
        str | None,
        typer.Option(
            "--batch-sizes",
            help="Also measure the baseline at these batch sizes, e.g. 1,8,32,64 (the "
            "batching tactic: energy per inference and latency per request at each size; "
            "the graded workload stays fixed).",
        ),
    ] = None,
    allow_busy_host: AllowBusyHostOpt = False,
    catalog: CatalogOpt = None,
) -> None:
    """Benchmark models and their optimized variants into the catalog."""
    from scanner.scan import ScanOptions  # torch: imported by the commands that scan
    from scanner.scan_run import plan_scan

    selection = ModelSelection(
        source=source,
        tasks=tuple(task or ()),
        top=top,
        ranking=sort,
        library=library,
        models_file=models_file,
        models_dir=models_dir,
        allow_pickle=allow_pickle,
        max_download_gb=max_download_gb,
        max_params=max_params,
    )
    protocol = protocol_overrides(
        windows=windows,
        window_s=window_s,
        warmup_s=warmup_s,
        idle_s=idle_s,
        fixed_pairs=fixed_pairs,
        min_pairs=min_pairs,
    )
    options = ScanOptions(
        device=device,
        tactics=tactic,
        protocol=protocol,
        force=force,
        allow_pickle=allow_pickle,
        timeout_s=timeout,
        executor=executor,
        address=address,
        meter=meter.value if meter else None,
        scheme_version=scheme,
        max_params=max_params,
        eval_data=None if eval_data is None else str(eval_data),
        protocol_name=protocol_name.value,
        batch_sizes=batch_sizes_option(batch_sizes, protocol_name.value),
        allow_busy_host=allow_busy_host,
    )
    # Bad options, then a bad catalog, fail before any download (scanner.scan_run).
    summary = scan_with_progress(plan_scan(selection, options, catalog))
    if status := summary.exit_status(allow_busy_host):
        raise typer.Exit(status)


def scan_with_progress(plan: Any, should_stop: Callable[[], bool] = lambda: False) -> Any:
    """Run a `ScanPlan` with a progress bar; print one line per model that did not go
    through, and the scan's summary."""
    # rich.progress and the scan (torch) load only when a scan runs.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from scanner.scan import ScanEvent
    from scanner.scan import scan as scan_models  # torch: only when scanning

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[model]}"),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    )

    with progress:
        bar = progress.add_task("scan", total=len(plan.refs), model="")

        def on_event(kind: ScanEvent, ref: Any, detail: str) -> None:
            if kind is ScanEvent.START:
                progress.update(bar, model=ref.model_id)
                return
            progress.advance(bar)
            if kind in (ScanEvent.FAILED, ScanEvent.SKIPPED, ScanEvent.CONTENDED):
                err.print(
                    f"{kind}: {ref.model_id}: {detail}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            if not err.is_terminal:
                err.print(f"{kind}: {ref.model_id}", markup=False, highlight=False)

        summary = scan_models(
            plan.refs, plan.catalog, plan.options, on_event=on_event, should_stop=should_stop
        )
    if summary.foreign_load_note:
        err.print(f"note: {summary.foreign_load_note}", markup=False, highlight=False)
    out.print(
        f"scan {summary.scan_id}: {summary.benchmarked} benchmarked, "
        f"{summary.unchanged} unchanged, {summary.skipped} skipped, {summary.failed} failed, "
        f"{summary.contended} contended → {plan.catalog.path}",
        markup=False,
        highlight=False,
    )
    return summary


@app.command()
@expected_errors
def grade(scheme: SchemeOpt = DEFAULT_SCHEME_VERSION, catalog: CatalogOpt = None) -> None:
    """Grade every measured model A-G under a label scheme."""
    summary = grade_catalog(open_catalog(catalog), load_scheme(scheme))
    out.print(
        f"graded {summary.graded} labels, {summary.ungraded} ungraded "
        f"(scheme {summary.scheme_version})",
        markup=False,
    )


def build_site_with_progress(
    catalog: Catalog,
    out_dir: Path,
    *,
    scheme: str = DEFAULT_SCHEME_VERSION,
    site_url: str | None = None,
    full: bool = False,
    prices: Prices | None = None,
    grid: GridIntensity | None = None,
) -> Any:
    """Build the site (incrementally unless `full`) with a progress bar over model pages."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from labeler.site import build_site

    progress = Progress(
        TextColumn("[bold]site pages"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,
    )
    with progress:
        bar = progress.add_task("site", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(bar, completed=done, total=total)

        return build_site(
            catalog,
            out_dir,
            scheme=load_scheme(scheme),
            site_url=site_url,
            full=full,
            progress=on_progress,
            prices=prices,
            grid=grid,
        )


def _site_line(summary: Any) -> str:
    how = "full build" if summary.full else "incremental"
    return (
        f"site: {summary.models} models, {summary.rendered_models} rendered ({how}, "
        f"{summary.build_s:.1f} s) → {summary.out_dir / 'index.html'}"
    )


@app.command()
@expected_errors
def site(
    out_dir: SiteOutOpt = DEFAULT_SITE,
    site_url: SiteUrlOpt = None,
    scheme: SchemeOpt = DEFAULT_SCHEME_VERSION,
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Render every page, ignoring what the last build in --out left "
            "(by default only pages whose inputs changed are rendered).",
        ),
    ] = False,
    electricity_price: ElectricityPriceOpt = None,
    hardware_price: HardwarePriceOpt = None,
    currency: CurrencyOpt = None,
    grid_intensity: GridIntensityOpt = None,
    catalog: CatalogOpt = None,
) -> None:
    """Render the label website, badges and data downloads (only what changed)."""
    prices = resolve_prices(electricity_price, hardware_price, currency)
    grid = resolve_grid_intensity(grid_intensity)
    summary = build_site_with_progress(
        open_catalog(catalog, read_only=True),
        out_dir,
        scheme=scheme,
        site_url=site_url,
        full=full,
        prices=prices,
        grid=grid,
    )
    out.print(_site_line(summary), markup=False)


SpaceOpt = Annotated[
    str | None,
    typer.Option("--space", help="Static Space ORG/NAME that gets the built site."),
]
DatasetOpt = Annotated[
    str | None,
    typer.Option(
        "--dataset", help="Dataset ORG/NAME that gets the catalog's Parquet, CSV and card."
    ),
]


@app.command()
@expected_errors
def publish(
    space: SpaceOpt = None,
    dataset: DatasetOpt = None,
    site_dir: Annotated[
        Path, typer.Option("--site", help="Folder of the built site (labeler site --out).")
    ] = DEFAULT_SITE,
    catalog: CatalogOpt = None,
) -> None:
    """Upload the site to a static Space and the labels to a dataset: one commit each,
    only when something changed. The token is huggingface_hub's (HF_TOKEN or hf auth login)."""
    from labeler.publish import publish as publish_to_hub  # huggingface_hub: only to publish
    from scanner.discovery.hub import hub_endpoint

    done = publish_to_hub(
        open_catalog(catalog, read_only=True),
        site_dir,
        space=space,
        dataset=dataset,
        endpoint=hub_endpoint(),
    )
    for repo in done:
        out.print(repo.line(), markup=False, highlight=False)


@app.command()
@expected_errors
def badge(
    model_id: Annotated[str, typer.Argument(help="Model id, e.g. org/name.")],
    hardware: Annotated[str | None, typer.Option("--hardware", help="Hardware profile.")] = None,
    fmt: Annotated[
        BadgeFormat,
        choice_option(
            BadgeFormat,
            "--format",
            "badge format",
            "svg, json (shields.io endpoint), details (the label's figures and CO2e, as JSON) "
            "or markdown.",
        ),
    ] = BadgeFormat.SVG,
    site_url: SiteUrlOpt = None,
    grid_intensity: GridIntensityOpt = None,
    catalog: CatalogOpt = None,
) -> None:
    """Print a model's badge as SVG, shields.io endpoint JSON, details JSON or Markdown."""
    grid = resolve_grid_intensity(grid_intensity)
    label = find_label(open_catalog(catalog, read_only=True), model_id, hardware)
    estimated = bool(label.estimated)
    contended = bool(label.contended)
    if fmt is BadgeFormat.SVG:
        sys.stdout.write(badge_svg(label.grade, estimated=estimated, contended=contended))
    elif fmt is BadgeFormat.JSON:
        payload = shields_endpoint(
            label.grade,
            estimated=estimated,
            best_grade=label.best_grade,
            borderline=bool(label.borderline),
            contended=contended,
        )
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    elif fmt is BadgeFormat.DETAILS:
        details = badge_details(label, carbon_for(label.energy_wh_per_1k, grid))
        sys.stdout.write(json.dumps(details, indent=2) + "\n")
    else:
        sys.stdout.write(badge_snippets(model_id, site_url, label.hardware)["markdown"] + "\n")


@app.command()
@expected_errors
def card(
    model_id: Annotated[str, typer.Argument(help="Model id whose label goes on the card.")],
    readme: Annotated[
        Path | None, typer.Option("--readme", help="Local README.md to edit.")
    ] = None,
    push: Annotated[bool, typer.Option("--push", help="Commit the card to the Hub.")] = False,
    create_pr: Annotated[bool, typer.Option("--create-pr", help="With --push: open a PR.")] = False,
    hardware: Annotated[str | None, typer.Option("--hardware", help="Hardware profile.")] = None,
    site_url: SiteUrlOpt = None,
    grid_intensity: GridIntensityOpt = None,
    catalog: CatalogOpt = None,
) -> None:
    """Insert or update the energy label in a model card: the block, and the card's
    model-index metadata (idempotent)."""
    grid = resolve_grid_intensity(grid_intensity)
    if readme is None and not push:
        raise UsageError("give --readme PATH to edit a local card, or --push to commit to the Hub")
    if readme is not None and not readme.is_file():
        raise UsageError(f"no such file: {readme}")
    cat = open_catalog(catalog, read_only=True)
    label = find_label(cat, model_id, hardware)
    (found,) = alternatives_for(cat, model_id, task=label.task, hardware=label.hardware)
    block = card_block(
        label, site_url, found.cheapest_comparable, carbon_for(label.energy_wh_per_1k, grid)
    )

    def edit_metadata(text: str) -> str:
        return update_card_metadata(text, label, site_url)

    if readme is not None:
        try:  # its own line endings, byte for byte
            before = readme.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError(f"{readme} is not UTF-8 text: is it a model card?") from None
        after = update_card(edit_metadata(before), block)
        if after != before:
            readme.write_bytes(after.encode("utf-8"))
        out.print(f"{'updated' if after != before else 'unchanged'}: {readme}", markup=False)
    if push:
        from scanner.discovery.hub import hub_endpoint  # huggingface_hub: only to push

        url = push_card(
            model_id,
            block,
            create_pr=create_pr,
            endpoint=hub_endpoint(),
            edit_metadata=edit_metadata,
        )
        out.print(f"pushed: {url}", markup=False)


@app.command()
@expected_errors
def recommend(
    model_id: Annotated[str, typer.Argument(help="Model id.")],
    hardware: Annotated[str | None, typer.Option("--hardware", help="Hardware profile.")] = None,
    priority: Annotated[
        Priority,
        choice_option(
            Priority,
            "--priority",
            "priority",
            "What to order by first: energy, latency, quality or cost (money), ties "
            "broken by the others (docs/tactics.md).",
        ),
    ] = Priority.ENERGY,
    electricity_price: ElectricityPriceOpt = None,
    hardware_price: HardwarePriceOpt = None,
    currency: CurrencyOpt = None,
    catalog: CatalogOpt = None,
) -> None:
    """Show the tactics that would make a model cheaper to run, with measured figures."""
    prices = resolve_prices(electricity_price, hardware_price, currency)
    report = recommendation_report(
        open_catalog(catalog, read_only=True), model_id, hardware, priority, prices
    )
    _print_wrapped(report.headline(), indent="  ")
    if (baseline := report.baseline_line()) is not None:
        _print_wrapped(baseline, indent="  ")
    if report.batching is not None:
        _print_wrapped(f"batching: {report.batching}", indent="  ")
    for table in recommendation_tables(report.rows(), prices.currency):
        out.print(table)
    for row in report.rows():
        if row.note:
            _print_wrapped(f"{row.tactic}: {row.note}", indent="  ")


@app.command()
@expected_errors
def alternatives(
    model_id: Annotated[str, typer.Argument(help="Model id, e.g. org/name.")],
    task: Annotated[
        str | None, typer.Option("--task", help="Only the label of this pipeline tag.")
    ] = None,
    hardware: Annotated[str | None, typer.Option("--hardware", help="Hardware profile.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    catalog: CatalogOpt = None,
) -> None:
    """List cheaper models of the same task and hardware with a better grade, by energy."""
    found = alternatives_for(
        open_catalog(catalog, read_only=True), model_id, task=task, hardware=hardware
    )
    if as_json:
        sys.stdout.write(json.dumps([a.to_dict() for a in found], indent=2) + "\n")
        return
    for entry in found:
        grade = entry.grade or "not graded"
        _print_wrapped(
            f"{model_id} ({entry.task} on {entry.hardware}): {grade}, "
            f"{format_energy(entry.energy_wh_per_1k)} Wh per 1,000 inferences"
        )
        for note in entry.notes:
            _print_wrapped(f"  {note}", indent="  ")
        if not entry.alternatives and not entry.notes:
            out.print("  no model of this task and hardware has a better grade", markup=False)
        for rank, alternative in enumerate(entry.alternatives, 1):
            _print_wrapped(f"  {rank}. {alternative.summary()}", indent="     ")


@app.command()
@expected_errors
def export(
    model_id: Annotated[str, typer.Argument(help="Model id whose label to export.")],
    fmt: Annotated[
        ExportFormat,
        choice_option(
            ExportFormat,
            "--format",
            "export format",
            "cyclonedx (a CycloneDX 1.6 ML-BOM) or json (everything the label rests on).",
        ),
    ] = ExportFormat.CYCLONEDX,
    hardware: Annotated[str | None, typer.Option("--hardware", help="Hardware profile.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
    grid_intensity: GridIntensityOpt = None,
    catalog: CatalogOpt = None,
) -> None:
    """Export a model's label as a CycloneDX 1.6 ML-BOM or as a JSON record."""
    from labeler.bom import bom_json  # cyclonedx-python-lib: only when exporting
    from labeler.label_evidence import evidence_json, label_evidence

    grid = resolve_grid_intensity(grid_intensity)
    evidence = label_evidence(open_catalog(catalog, read_only=True), model_id, hardware, grid)
    text = bom_json(evidence) if fmt is ExportFormat.CYCLONEDX else evidence_json(evidence)
    if output is None:
        sys.stdout.write(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    out.print(f"wrote {output}", markup=False)


def _print_wrapped(text: str, indent: str = "") -> None:
    """A long line folded at word boundaries to the console's width (80 in a pipe), the
    lines after the first indented; a word longer than the width (an id) is kept whole."""
    lines = textwrap.wrap(
        text,
        width=max(out.width, 40),
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    for line in lines or [""]:
        out.print(line, markup=False, highlight=False)


@app.command()
@expected_errors
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run against the catalog (read-only).")],
    fmt: Annotated[
        SqlFormat, choice_option(SqlFormat, "--format", "format", "table, csv or json.")
    ] = SqlFormat.TABLE,
    catalog: CatalogOpt = None,
) -> None:
    """Run a read-only SQL query against the catalog and print the result."""
    # The published file, read-only: never the writer's file, its lock or its migrations.
    result = open_catalog(catalog, read_only=True).query(query)
    if fmt is SqlFormat.JSON:
        rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        sys.stdout.write(json.dumps(rows, default=str, indent=2) + "\n")
    elif fmt is SqlFormat.CSV:
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:  # the console's width (80 in a pipe): long values fold, never cut
        for part in query_renderables(result.columns, result.rows, out.width):
            out.print(part)


@app.command()
@expected_errors
def schedule(
    cron: Annotated[
        str, typer.Option("--cron", help='Crontab expression, e.g. "0 3 * * *".')
    ] = "0 3 * * *",
    once: Annotated[
        bool, typer.Option("--once", help="Run one cycle now and exit (status 1 if it failed).")
    ] = False,
    source: Annotated[str, typer.Option("--source", help="demo, hub, or a folder path.")] = "demo",
    task: TaskOpt = None,
    top: TopOpt = 10,
    device: DeviceOpt = "cpu",
    tactic: TacticOpt = None,
    windows: WindowsOpt = None,
    fixed_pairs: FixedPairsOpt = False,
    min_pairs: MinPairsOpt = None,
    window_s: WindowSecondsOpt = None,
    executor: ExecutorOpt = "subprocess",
    out_dir: SiteOutOpt = DEFAULT_SITE,
    keep_snapshots: Annotated[
        int | None,
        typer.Option(
            "--keep-snapshots",
            min=0,
            help="Dated catalog snapshots to keep after each cycle, 0 for none "
            "(default LABELER_KEEP_SNAPSHOTS or 7).",
        ),
    ] = None,
    publish_space: Annotated[
        str | None,
        typer.Option("--publish-space", help="After each cycle, publish the site to this Space."),
    ] = None,
    publish_dataset: Annotated[
        str | None,
        typer.Option(
            "--publish-dataset", help="After each cycle, publish the labels to this dataset."
        ),
    ] = None,
    grid_intensity: GridIntensityOpt = None,
    allow_busy_host: AllowBusyHostOpt = False,
    catalog: CatalogOpt = None,
) -> None:
    """Run scan → grade → site on a cron schedule, never two cycles at once."""
    from labeler.scan_cycles import run_cycle  # torch with the first cycle's scan
    from labeler.site import build_site  # jinja2, as in `site`
    from labels.snapshots import SnapshotError, default_keep_snapshots
    from scanner.scan import ScanOptions  # torch: the options are checked once, here
    from scanner.scan_run import checked_options
    from scanner.schedule import parse_cron, run_schedule  # apscheduler: half a second

    try:
        keep = keep_snapshots if keep_snapshots is not None else default_keep_snapshots()
    except SnapshotError as exc:
        raise UsageError(str(exc)) from None
    trigger = parse_cron(cron)
    grid = resolve_grid_intensity(grid_intensity)  # checked before the first cycle
    selection = ModelSelection(source=source, tasks=tuple(task or ()), top=top)
    protocol = protocol_overrides(
        windows=windows, window_s=window_s, fixed_pairs=fixed_pairs, min_pairs=min_pairs
    )
    options = checked_options(
        ScanOptions(
            device=device,
            tactics=tactic,
            protocol=protocol,
            executor=executor,
            allow_busy_host=allow_busy_host,
        ),
        selection.tasks,
    )
    catalog_path = open_catalog(catalog, create=True).path

    def cycle(should_stop: Callable[[], bool]) -> str:
        # The nightly cycle builds incrementally: only models that changed are rendered.
        done = run_cycle(
            catalog_path,
            selection,
            options,
            out_dir,
            keep,
            build_site=lambda cat, out: build_site(cat, out, grid=grid),
            run_scan=scan_with_progress,
            should_stop=should_stop,
            publish_space=publish_space,
            publish_dataset=publish_dataset,
        )
        return done.one_line()

    finished = run_schedule(
        trigger,
        cycle,
        once=once,
        log=lambda line: err.print(line, markup=False, highlight=False, soft_wrap=True),
    )
    if not finished:  # --once and the cycle failed: the log says why
        raise typer.Exit(1)


@app.command()
@expected_errors
def demo(
    out_dir: SiteOutOpt = DEFAULT_SITE,
    screenshots: Annotated[
        bool, typer.Option("--screenshots/--no-screenshots", help="Save PNGs of the site.")
    ] = False,
    windows: WindowsOpt = None,
    fixed_pairs: FixedPairsOpt = False,
    min_pairs: MinPairsOpt = None,
    window_s: WindowSecondsOpt = None,
    grid_intensity: GridIntensityOpt = None,
    allow_busy_host: AllowBusyHostOpt = False,
    catalog: CatalogOpt = None,
) -> None:
    """Scan the bundled demo models on CPU, grade them, build the site and MiniLM's BOM.

    MiniLM gets every default CPU tactic plus onnx-int8-dynamic; each tiny synthetic model
    (one per task) is graded on its baseline alone, so the demo fits in about 10 minutes.
    """
    from labeler.scan_cycles import run_demo  # torch with the first scan
    from labeler.screenshots import take_screenshots

    grid = resolve_grid_intensity(grid_intensity)
    protocol = protocol_overrides(
        windows=windows, window_s=window_s, fixed_pairs=fixed_pairs, min_pairs=min_pairs
    )
    done = run_demo(
        open_catalog(catalog, create=True),
        protocol,
        out_dir,
        build_site=lambda cat, out: build_site_with_progress(cat, out, grid=grid),
        run_scan=scan_with_progress,
        grid=grid,
        allow_busy_host=allow_busy_host,
    )
    out.print(f"graded {done.graded.graded} labels, {done.graded.ungraded} ungraded", markup=False)
    out.print(_site_line(done.site), markup=False)
    if done.bom is not None:
        out.print(f"bom: {done.bom}", markup=False)
    if screenshots:
        for path in take_screenshots(out_dir, Path("build/screenshots")):
            out.print(f"screenshot: {path}", markup=False)
    if not done.ok:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point
    app()

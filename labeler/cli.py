"""The `labeler` command: a thin layer over the library.

Each command parses options, calls one library function, prints, and turns expected errors
into one line on stderr and a non-zero exit (2 for bad input, 1 when models failed).

Modules that import torch (the scan, the benchmark) or huggingface_hub (the Hub) are
imported inside the commands that need them, so `labeler grade`, `site`, `badge` and
`--help` start without them; everything else is imported here.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from labeler.alternatives import alternatives_for
from labeler.badges import badge_snippets, badge_svg, shields_endpoint
from labeler.card import card_block, push_card, update_card
from labeler.cli_options import (
    AllowBusyHostOpt,
    CatalogOpt,
    CurrencyOpt,
    DeviceOpt,
    ElectricityPriceOpt,
    ExecutorOpt,
    FixedPairsOpt,
    HardwarePriceOpt,
    MinPairsOpt,
    SchemeOpt,
    SiteOutOpt,
    SiteUrlOpt,
    TacticOpt,
    TaskOpt,
    TopOpt,
    WindowSecondsOpt,
    WindowsOpt,
    protocol_overrides,
)
from labeler.costs import (
    Prices,
    baseline_cost_per_million,
    format_money,
    resolve_prices,
    variant_money,
)
from labeler.figures import format_change, format_energy
from labeler.grading import grade_catalog
from labeler.recommend import PRIORITIES, batching_sentence, headline, order_by_priority
from labels.batching import batch_sweep_from_json, batching_advice, parse_batch_sizes
from labels.catalog import (
    Catalog,
    catalog_exists,
    check_catalog_folder,
    default_catalog_path,
)
from labels.errors import LabelerError
from labels.latest_label import LatestLabel
from labels.scheme import DEFAULT_SCHEME_VERSION, load_scheme
from scanner.discovery.demo import demo_scan_plan, discover_demo_models
from scanner.discovery.local import discover_local_models
from scanner.energy_score import ENERGY_SCORE, PROTOCOLS
from scanner.executors.registry import executor_names
from scanner.library_logs import quiet_library_logs
from scanner.tactics.registry import tactic_names
from scanner.tasks.registry import task_names

app = typer.Typer(
    name="labeler",
    help="A-G energy labels for Hugging Face models: scan, grade, publish.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
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
        str, typer.Option("--sort", help="Hub ranking: downloads or likes.")
    ] = "downloads",
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
        str | None, typer.Option("--meter", help="Force nvml, nvml-power, rapl or estimate.")
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
        str,
        typer.Option(
            "--protocol",
            help="scheme (graded labels, the default) or energy-score (the AI Energy Score's "
            "protocol: batch 1, 1,000 queries, fp32, 10 new tokens; shown apart, not graded).",
        ),
    ] = "scheme",
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

    _check_scan_options(scheme, task, executor, tactic, device)
    _check_protocol(protocol_name, tactic)
    if sort not in ("downloads", "likes"):
        raise UsageError(f"--sort must be downloads or likes, not {sort!r}")
    eval_data_path = _eval_data_path(eval_data)  # a bad file fails before any download
    sizes = _batch_sizes(batch_sizes, protocol_name)
    # A bad, damaged or newer catalog fails before any download too; a new one is created
    # only once discovery has found something to scan.
    catalog_path = catalog or default_catalog_path()
    check_catalog_folder(catalog_path)
    existing = Catalog(catalog_path) if catalog_exists(catalog_path) else None
    refs = _discover(
        source,
        task,
        top,
        sort,
        library,
        models_file,
        models_dir,
        allow_pickle,
        max_download_gb,
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
        meter=meter,
        scheme_version=scheme,
        max_params=max_params,
        eval_data=eval_data_path,
        protocol_name=protocol_name,
        batch_sizes=sizes,
        allow_busy_host=allow_busy_host,
    )
    summary = run_scan(refs, existing or open_catalog(catalog, create=True), options)
    if summary.exit_status(allow_busy_host):
        raise typer.Exit(summary.exit_status(allow_busy_host))


def _check_scan_options(
    scheme: str, tasks: list[str] | None, executor: str, tactics: list[str] | None, device: str
) -> None:
    """The options `scan` and `schedule` share, checked before any model is touched."""
    loaded = load_scheme(scheme)
    # Every tag with an adapter, built-in or plugin: the registry is the one list of tasks.
    known_tasks = sorted(task_names())
    unknown_tasks = [t for t in tasks or [] if t not in known_tasks]
    if unknown_tasks:
        raise UsageError(f"unknown task {unknown_tasks[0]!r} (known: {', '.join(known_tasks)})")
    if executor not in executor_names():
        raise UsageError(f"unknown executor {executor!r} (known: {', '.join(executor_names())})")
    if executor == "ray" and importlib.util.find_spec("ray") is None:
        raise UsageError("the ray executor needs Ray: pip install '.[ray]'")
    _check_tactics(tactics, device)
    if not loaded.paired_reference:  # v1: stored reference energies for a few profiles only
        from scanner.hardware import detect_hardware

        profile = detect_hardware(device).profile
        if not loaded.has_references_for(profile):
            raise UsageError(
                f"scheme {loaded.version} has no reference energy for hardware {profile}: "
                "use a scheme with reference models (--scheme v2)"
            )


def _batch_sizes(text: str | None, protocol_name: str) -> list[int]:
    """`--batch-sizes` parsed; bad sizes, or a sweep with the energy-score protocol, exit 2."""
    if text is None:
        return []
    if protocol_name == ENERGY_SCORE:
        raise UsageError("--batch-sizes goes with the scheme protocol (energy-score is batch 1)")
    try:
        return parse_batch_sizes(text)
    except ValueError as exc:
        raise UsageError(f"--batch-sizes: {exc}") from None


def _check_protocol(protocol_name: str, tactics: list[str] | None) -> None:
    if protocol_name not in PROTOCOLS:
        raise UsageError(f"unknown protocol {protocol_name!r} ({', '.join(PROTOCOLS)})")
    if protocol_name == ENERGY_SCORE and tactics:
        raise UsageError("--protocol energy-score measures the baseline alone: drop --tactic")


def _check_tactics(tactics: list[str] | None, device: str) -> None:
    if not (device == "cpu" or device == "cuda" or device.startswith("cuda:")):
        raise UsageError(f"unknown device {device!r} (cpu, cuda or cuda:N)")
    if device.startswith("cuda"):
        import torch  # only to check a CUDA device: other commands start without torch

        if not torch.cuda.is_available():
            raise UsageError(f"--device {device}: torch sees no CUDA device on this machine")
    if not tactics:
        return
    known = tactic_names()
    unknown = [t for t in tactics if t not in known]
    if unknown:
        raise UsageError(f"unknown tactic {unknown[0]!r} (known: {', '.join(sorted(known))})")


def _eval_data_path(path: Path | None) -> str | None:
    """Check the labelled file before any model is benchmarked; children get its full path."""
    if path is None:
        return None
    from scanner.tasks.eval_data import EvalDataError, read_eval_data  # torch, as above

    try:
        read_eval_data(path)
    except EvalDataError as exc:
        raise UsageError(str(exc)) from None
    return str(path.resolve())


def _discover(
    source,
    task,
    top,
    sort,
    library,
    models_file,
    models_dir,
    allow_pickle,
    max_download_gb,
    max_params=None,
):  # noqa: ANN001, ANN202
    if source == "demo":
        return discover_demo_models(models_dir / "demo")
    if source == "hub":
        from scanner.discovery.hub import discover_hub_models  # huggingface_hub: hub only

        model_ids = None
        if models_file is not None:
            if not models_file.is_file():
                raise UsageError(f"no such models file: {models_file}")
            model_ids = [
                line.strip()
                for line in models_file.read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")
            ]
        if not task and not model_ids:
            raise UsageError("--source hub needs --task or --models")
        return discover_hub_models(
            list(task or []),
            top,
            sort=sort,
            library=library,
            model_ids=model_ids,
            cache_dir=models_dir / "hub",
            allow_pickle=allow_pickle,
            max_download_gb=max_download_gb,
            max_params=max_params,
        )
    return discover_local_models(Path(source))


def run_scan(
    refs: Any, catalog: Catalog, options: Any, should_stop: Callable[[], bool] = lambda: False
) -> Any:
    """Scan with a progress bar; print one line per model that did not go through."""
    # rich.progress and the scan (torch) load only when a scan runs.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from scanner.scan import scan as scan_models  # torch: only when scanning

    refs = list(refs) if not isinstance(refs, list) else refs
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
        bar = progress.add_task("scan", total=len(refs), model="")

        def on_event(kind: str, ref: Any, detail: str) -> None:
            if kind == "start":
                progress.update(bar, model=ref.model_id)
                return
            progress.advance(bar)
            if kind in ("failed", "skipped", "contended"):
                err.print(
                    f"{kind}: {ref.model_id}: {detail}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
            if not err.is_terminal:
                err.print(f"{kind}: {ref.model_id}", markup=False, highlight=False)

        summary = scan_models(refs, catalog, options, on_event=on_event, should_stop=should_stop)
    if summary.foreign_load_note:
        err.print(f"note: {summary.foreign_load_note}", markup=False, highlight=False)
    out.print(
        f"scan {summary.scan_id}: {summary.benchmarked} benchmarked, "
        f"{summary.unchanged} unchanged, {summary.skipped} skipped, {summary.failed} failed, "
        f"{summary.contended} contended → {catalog.path}",
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
    catalog: CatalogOpt = None,
) -> None:
    """Render the label website, badges and data downloads (only what changed)."""
    prices = resolve_prices(electricity_price, hardware_price, currency)
    summary = build_site_with_progress(
        open_catalog(catalog, read_only=True),
        out_dir,
        scheme=scheme,
        site_url=site_url,
        full=full,
        prices=prices,
    )
    out.print(_site_line(summary), markup=False)


@app.command()
@expected_errors
def badge(
    model_id: Annotated[str, typer.Argument(help="Model id, e.g. org/name.")],
    hardware: Annotated[str | None, typer.Option("--hardware", help="Hardware profile.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="svg, json or markdown.")] = "svg",
    site_url: SiteUrlOpt = None,
    catalog: CatalogOpt = None,
) -> None:
    """Print a model's badge as SVG, shields.io endpoint JSON, or a Markdown snippet."""
    label = find_label(open_catalog(catalog, read_only=True), model_id, hardware)
    estimated = bool(label.estimated)
    contended = bool(label.contended)
    if fmt == "svg":
        sys.stdout.write(badge_svg(label.grade, estimated=estimated, contended=contended))
    elif fmt == "json":
        payload = shields_endpoint(
            label.grade,
            estimated=estimated,
            best_grade=label.best_grade,
            borderline=bool(label.borderline),
            contended=contended,
        )
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    elif fmt == "markdown":
        sys.stdout.write(badge_snippets(model_id, site_url, label.hardware)["markdown"] + "\n")
    else:
        raise UsageError(f"--format must be svg, json or markdown, not {fmt!r}")


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
    catalog: CatalogOpt = None,
) -> None:
    """Insert or update the energy-label block in a model card (idempotent)."""
    if readme is None and not push:
        raise UsageError("give --readme PATH to edit a local card, or --push to commit to the Hub")
    if readme is not None and not readme.is_file():
        raise UsageError(f"no such file: {readme}")
    cat = open_catalog(catalog, read_only=True)
    label = find_label(cat, model_id, hardware)
    (found,) = alternatives_for(cat, model_id, task=label.task, hardware=label.hardware)
    block = card_block(label, site_url, found.cheapest_comparable)
    if readme is not None:
        before = readme.read_text(encoding="utf-8")
        after = update_card(before, block)
        if after != before:
            readme.write_text(after, encoding="utf-8")
        out.print(f"{'updated' if after != before else 'unchanged'}: {readme}", markup=False)
    if push:
        from scanner.discovery.hub import hub_endpoint  # huggingface_hub: only to push

        url = push_card(model_id, block, create_pr=create_pr, endpoint=hub_endpoint())
        out.print(f"pushed: {url}", markup=False)


@app.command()
@expected_errors
def recommend(
    model_id: Annotated[str, typer.Argument(help="Model id.")],
    hardware: Annotated[str | None, typer.Option("--hardware", help="Hardware profile.")] = None,
    priority: Annotated[
        str,
        typer.Option(
            "--priority",
            help="What to order by first: energy, latency, quality or cost (money), ties "
            "broken by the others (docs/tactics.md).",
        ),
    ] = "energy",
    electricity_price: ElectricityPriceOpt = None,
    hardware_price: HardwarePriceOpt = None,
    currency: CurrencyOpt = None,
    catalog: CatalogOpt = None,
) -> None:
    """Show the tactics that would make a model cheaper to run, with measured figures."""
    if priority not in PRIORITIES:
        raise UsageError(f"--priority must be one of {', '.join(PRIORITIES)}, not {priority!r}")
    prices = resolve_prices(electricity_price, hardware_price, currency)
    opened = open_catalog(catalog, read_only=True)
    label = find_label(opened, model_id, hardware)
    baseline = next(
        (
            r
            for r in opened.latest_runs(model_id, label.revision, label.task, label.hardware)
            if r.variant == "baseline"
        ),
        None,
    )
    money = {
        rec.variant: variant_money(rec, baseline, prices)
        for rec in label.recommendations
        if baseline is not None and rec.applies
    }
    ordered = order_by_priority(
        label.recommendations,
        priority,
        lambda rec: money[rec.variant].cost_change if rec.variant in money else None,
    )
    out.print(f"{model_id} on {label.hardware} ({label.task}): {headline(label)}", markup=False)
    if baseline is not None:
        base_cost = baseline_cost_per_million(baseline, prices)
        out.print(
            f"baseline: {format_money(base_cost, prices.currency)} per 1M inferences "
            f"(electricity {prices.electricity_price_per_kwh:g} {prices.currency}/kWh, machine "
            f"{prices.hardware_price_for(label.hardware):g} {prices.currency}/h)",
            markup=False,
        )
        advice = batching_advice(batch_sweep_from_json(baseline.batch_sweep_json))
        if advice is not None:
            out.print(f"batching: {batching_sentence(advice)}", markup=False)
    table = Table(
        "tactic",
        "energy",
        "latency",
        "quality",
        "size MB",
        "build s",
        "payback",
        f"{prices.currency}/1M",
        "build cost",
        "money payback",
        "qualifies",
        "note",
    )
    for rec in ordered:
        if not rec.applies:
            table.add_row(rec.tactic, "", "", "", "", "", "", "", "", "", "n/a", rec.note)
            continue
        cash = money.get(rec.variant)
        paid = cash.payback if cash else None
        table.add_row(
            rec.tactic,
            _pct(rec.energy_change),
            _pct(rec.latency_change),
            f"{rec.quality_metric} {rec.quality_value or 0:.4f}",
            f"{rec.size_mb or 0:.1f}",
            f"{rec.build_s or 0:.1f}",
            str(rec.payback_inferences if rec.payback_inferences is not None else "never"),
            format_money(cash.cost_per_million if cash else None, prices.currency),
            format_money(paid.build_cost if paid else None, prices.currency),
            "n/a" if paid is None else "never" if paid.inferences is None else f"{paid.inferences}",
            "yes" if rec.qualifies else "no",
            rec.note,
        )
    out.print(table)


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
        out.print(
            f"{model_id} ({entry.task} on {entry.hardware}): {grade}, "
            f"{format_energy(entry.energy_wh_per_1k)} Wh per 1,000 inferences",
            markup=False,
            highlight=False,
        )
        for note in entry.notes:
            out.print(f"  {note}", markup=False, highlight=False)
        if not entry.alternatives and not entry.notes:
            out.print("  no model of this task and hardware has a better grade", markup=False)
        for rank, alternative in enumerate(entry.alternatives, 1):
            out.print(f"  {rank}. {alternative.summary()}", markup=False, highlight=False)


def _pct(value: float | None) -> str:
    return "" if value is None else format_change(value, digits=1)


def find_label(catalog: Catalog, model_id: str, hardware: str | None) -> LatestLabel:
    rows = [r for r in catalog.latest_labels() if r.model_id == model_id]
    if hardware:
        rows = [r for r in rows if r.hardware == hardware]
    if not rows:
        where = f" on {hardware}" if hardware else ""
        raise UsageError(
            f"no label for {model_id!r}{where} in {catalog.path} (scan and grade it first)"
        )
    return rows[0]


@app.command()
@expected_errors
def sql(
    query: Annotated[str, typer.Argument(help="SQL to run against the catalog (read-only).")],
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    catalog: CatalogOpt = None,
) -> None:
    """Run a read-only SQL query against the catalog and print the result."""
    # The published file, read-only: never the writer's file, its lock or its migrations.
    result = open_catalog(catalog, read_only=True).query(query)
    if fmt == "json":
        rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        sys.stdout.write(json.dumps(rows, default=str, indent=2) + "\n")
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    elif fmt == "table":
        table = Table()
        for column in result.columns:  # fold, never cut: a query tool must not hide values
            table.add_column(column, overflow="fold")
        for row in result.rows:
            table.add_row(*(_table_cell(v) for v in row))
        # piped output is not cut to 80 columns: the table keeps its natural width
        (out if out.is_terminal else Console(width=10_000)).print(table)
    else:
        raise UsageError(f"--format must be table, csv or json, not {fmt!r}")


def _table_cell(value: Any) -> str:
    """Floats to 4 significant digits (--format csv or json gives them whole)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


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
    allow_busy_host: AllowBusyHostOpt = False,
    catalog: CatalogOpt = None,
) -> None:
    """Run scan → grade → site on a cron schedule, never two cycles at once."""
    from labels.snapshots import SnapshotError, default_keep_snapshots, take_snapshot
    from scanner.schedule import parse_cron, run_schedule  # apscheduler: half a second

    try:
        keep = keep_snapshots if keep_snapshots is not None else default_keep_snapshots()
    except SnapshotError as exc:
        raise UsageError(str(exc)) from None
    trigger = parse_cron(cron)
    _check_scan_options(DEFAULT_SCHEME_VERSION, task, executor, tactic, device)
    catalog_path = open_catalog(catalog, create=True).path
    protocol = protocol_overrides(
        windows=windows, window_s=window_s, fixed_pairs=fixed_pairs, min_pairs=min_pairs
    )

    def cycle(should_stop: Callable[[], bool]) -> str:
        from labeler.site import build_site  # jinja2, as in `site`
        from scanner.scan import ScanOptions  # torch: only when a cycle runs

        # The nightly cycle builds incrementally: only models that changed are rendered.
        cat = Catalog(catalog_path)
        refs = _discover(
            source, task, top, "downloads", None, None, Path("build/models"), False, None
        )
        options = ScanOptions(
            device=device,
            tactics=tactic,
            protocol=protocol,
            executor=executor,
            allow_busy_host=allow_busy_host,
        )
        summary = run_scan(refs, cat, options, should_stop=should_stop)
        graded = grade_catalog(cat)
        built = build_site(Catalog(catalog_path, read_only=True), out_dir)
        snapshot = take_snapshot(catalog_path, keep)
        kept = f"; snapshot {snapshot}" if snapshot else ""
        return (
            f"{summary.benchmarked} benchmarked, {summary.unchanged} unchanged, "
            f"{summary.failed} failed; {graded.graded} graded; site {built.models} models, "
            f"{built.rendered_models} rendered{kept}; {summary.contended} contended "
            "(measured again next cycle)"
        )

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
    allow_busy_host: AllowBusyHostOpt = False,
    catalog: CatalogOpt = None,
) -> None:
    """Scan the bundled demo models on CPU, grade them, and build the site.

    MiniLM gets every default CPU tactic plus onnx-int8-dynamic; each tiny synthetic model
    (one per task) is graded on its baseline alone, so the demo fits in about 10 minutes.
    """
    from labeler.screenshots import take_screenshots
    from scanner.scan import ScanOptions  # torch: only when the demo scans

    cat = open_catalog(catalog, create=True)
    protocol = protocol_overrides(
        windows=windows, window_s=window_s, fixed_pairs=fixed_pairs, min_pairs=min_pairs
    )
    scanned_ok = True
    for refs, tactics in demo_scan_plan(discover_demo_models(Path("build/models/demo"))):
        options = ScanOptions(
            device="cpu", protocol=protocol, tactics=tactics, allow_busy_host=allow_busy_host
        )
        summary = run_scan(refs, cat, options)
        scanned_ok = scanned_ok and summary.ok
    graded = grade_catalog(cat)
    out.print(f"graded {graded.graded} labels, {graded.ungraded} ungraded", markup=False)
    built = build_site_with_progress(cat, out_dir)
    out.print(_site_line(built), markup=False)
    if screenshots:
        for path in take_screenshots(out_dir, Path("build/screenshots")):
            out.print(f"screenshot: {path}", markup=False)
    if not scanned_ok:
        raise typer.Exit(1)


def main() -> None:  # pragma: no cover - console entry point
    app()

"""Build the static label website from the catalog.

Everything is rendered at build time (the label graphics and charts are inline SVG), so the
pages read well without JavaScript and work from file:// or any static host: relative
links only, no CDN, no fonts from elsewhere. The index embeds its rows as JSON and a small
script sorts, filters, searches and paginates them in the browser.

A build asks the catalog for one digest per model and compares them with the manifest the
last build left (`site_plan`), so it reads and renders only the models that changed, and
rewrites only the row chunks and task pages that list them. Model pages render on forked
worker processes while this one makes the shared pages; each template is compiled once.
A model page is the one page of every model, so its body is Python string building
(`site_label_section`) inside `model.html.j2` rendered once per build (`_model_frame`).
"""

from __future__ import annotations

import functools
import json
import math
import multiprocessing as mp
import os
import shutil
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode

import duckdb
import jinja2
from duckdb import DuckDBPyConnection as Connection
from markupsafe import Markup, escape

from labeler.alternatives import (
    AlternativesKey,
    AlternativesSelection,
    ModelAlternatives,
    read_labelled_models,
    select_alternatives,
)
from labeler.badges import (
    GRADE_COLOURS,
    badge_snippets,
    badge_svg,
    cheaper_alternative_json,
    grade_colour,
    grade_text_colour,
    shields_endpoint,
)
from labeler.card import QUALITY_WORDS, achievable_text, top_recommendation
from labeler.costs import Prices, format_money, label_money, resolve_prices
from labeler.figures import format_change, format_date, format_energy, format_percent
from labeler.recommend import batching_summary
from labeler.site_inputs import (
    ChartRun,
    LabelReads,
    ModelDetails,
    SiteOverview,
    label_key,
    label_sort_key,
    read_baselines,
    read_chart_runs,
    read_first_labels,
    read_label_rows,
    read_model_details,
    read_site_overview,
    read_task_profiles,
)
from labeler.site_label_section import label_section, model_main
from labeler.site_manifest import MANIFEST_FILE, SiteManifest, content_hash, tree_hash
from labeler.site_plan import (
    BuildPlan,
    dirty_chunks,
    dirty_tasks,
    labels_digest,
    model_entries,
    page_names,
    plan_build,
)
from labeler.site_provenance import build_provenance
from labeler.site_rows import chunk_count, chunk_name, encode_row
from labeler.slugs import badge_stem, model_slug, safe_segment
from labels import (
    Catalog,
    HardwareRecord,
    ModelRecord,
    RunRecord,
    Scheme,
    export_csv,
    export_parquet,
    load_scheme,
)
from labels.latest_label import LatestLabel
from labels.recommendation import Recommendation
from labels.run_status import RunStatus
from labels.scheme import GRADES
from labels.tactic_kinds import TacticKind, is_baseline_variant, tactic_kind

SITE_SOURCE = Path(__file__).resolve().parent.parent / "site"
ROWS_PER_PAGE = 100
# A task page lists the best this many labels per hardware profile; the index has them all.
TASK_TABLE_ROWS = 500
# A model page lists this many cheaper, better-graded models per label (`labeler
# alternatives` lists them all).
ALTERNATIVES_ON_PAGE = 5
# Below this many models to render, forking worker processes costs more than it saves.
_PARALLEL_FROM_MODELS = 400
_MODELS_PER_BATCH = 250
# The code whose output lands in pages: a change to it invalidates every page.
_RENDER_CODE = (
    "site.py",
    "site_inputs.py",
    "site_label_section.py",
    "site_plan.py",
    "alternatives.py",
    "site_rows.py",
    "site_provenance.py",
    "badges.py",
    "card.py",
    "costs.py",
    "figures.py",
    "recommend.py",
    "slugs.py",
)
# A chart with more points than this shows an even sample; its Pareto front uses them all.
MAX_CHART_POINTS = 2000
_MARKER_FILE = ".labeler-site"
_OWNED_DIRS = ("models", "tasks", "badges", "data", "static")
_BADGE_SUFFIXES = (".svg", ".json", ".recommendations.json")


@dataclass(frozen=True)
class SiteSummary:
    out_dir: Path
    models: int
    pages: int  # HTML pages on the site
    index_bytes: int
    build_s: float
    rendered_models: int  # model pages rendered by this build (all of them when `full`)
    full: bool  # True when nothing of an earlier build could be reused
    # Label rows this build turned into Python objects: every label on a full build; on an
    # incremental one, those of the rendered models, the rewritten chunks and task pages.
    labels_read: int = 0


# -- formatting --------------------------------------------------------------------------


def script_json(data: Any) -> Markup:
    """JSON that is safe inside a <script> element: `<`, `>` and `&` become \\u escapes.

    Script contents are not entity-decoded by the browser, so HTML escaping would corrupt
    the data; these escapes keep `</script>` in a model id from closing the element.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


_ENVIRONMENTS: dict[str, jinja2.Environment] = {}


def _environment(sources_hash: str = "") -> jinja2.Environment:
    """The Jinja environment, compiled once per version of the templates in a process."""
    if sources_hash and sources_hash in _ENVIRONMENTS:
        return _ENVIRONMENTS[sources_hash]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(SITE_SOURCE / "templates")),
        autoescape=True,
        auto_reload=False,  # templates never change during a build; skip a stat per render
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        energy=format_energy,
        percent=format_percent,
        change=format_change,
        day=format_date,
        script_json=script_json,
        grade_colour=grade_colour,
        grade_text=grade_text_colour,
        task_file=task_page_name,
        money=format_money,
    )
    env.globals.update(
        grades=GRADES,
        quality_words=QUALITY_WORDS,
        grade_css=_grade_css(),
        label_bars=_label_bars(),
    )
    if sources_hash:
        _ENVIRONMENTS.clear()
        _ENVIRONMENTS[sources_hash] = env
    return env


def _label_bars(row_h: int = 28) -> Markup:
    """The A-G arrows of the label graphic: the same on every page, so drawn once here."""
    parts = []
    for i, grade in enumerate(GRADES):
        y, w = 46 + i * row_h, 64 + i * 20
        parts.append(
            f'<polygon points="14,{y} {14 + w},{y} {26 + w},{y + 11} {14 + w},{y + 22} '
            f'14,{y + 22}" fill="{grade_colour(grade)}"/>'
            f'<text x="24" y="{y + 17}" font-size="16" font-weight="700" '
            f'fill="{grade_text_colour(grade)}">{grade}</text>'
        )
    return Markup("\n  ".join(parts))


def _grade_css() -> Markup:
    rules = [
        f".grade-{g}{{background:{c};color:{grade_text_colour(g)}}}"
        for g, c in GRADE_COLOURS.items()
    ]
    rules.append(f".grade-na{{background:{grade_colour(None)};color:{grade_text_colour(None)}}}")
    return Markup("".join(rules))


# -- charts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    title: str
    kind: str  # baseline | qualifies | fails


def _log_ticks(low: float, high: float) -> list[float]:
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    return [10.0**k for k in range(first, last + 1)]


def pareto_front(points: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points no other point beats on both less energy and more quality, by energy."""
    front: list[tuple[float, float]] = []
    best_quality = -math.inf
    for energy, quality in sorted(points, key=lambda p: (p[0], -p[1])):
        if quality > best_quality:
            front.append((energy, quality))
            best_quality = quality
    return front


def scatter_chart(runs: Sequence[RunRecord | ChartRun]) -> dict[str, Any] | None:
    """Geometry of an energy (log x) versus quality (y) scatter of one task on one profile."""
    data = [
        (r.energy_wh_per_1k, 1.0 if is_baseline_variant(r.variant) else r.quality_value, r)
        for r in runs
        if r.status == RunStatus.OK
        and r.energy_wh_per_1k
        and r.energy_wh_per_1k > 0
        and (is_baseline_variant(r.variant) or r.quality_value is not None)
    ]
    if not data:
        return None
    width, height, left, right, top, bottom = 640, 360, 64, 20, 16, 48
    energies = [d[0] for d in data]
    qualities = [float(d[1]) for d in data]
    ticks = _log_ticks(min(energies), max(energies))
    x_low, x_high = math.log10(ticks[0]), math.log10(ticks[-1])
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
        ticks = [10.0**x_low, *ticks, 10.0**x_high]
    y_low = min(0.9, math.floor(min(qualities) * 20) / 20)
    y_high = 1.0

    def px(energy: float) -> float:
        return left + (math.log10(energy) - x_low) / (x_high - x_low) * (width - left - right)

    def py(quality: float) -> float:
        q = min(max(quality, y_low), y_high)
        return top + (y_high - q) / (y_high - y_low) * (height - top - bottom)

    step = max(1, math.ceil(len(data) / MAX_CHART_POINTS))
    points = []
    for energy, quality, run in data[::step]:
        kind = (
            "baseline"
            if is_baseline_variant(run.variant)
            else ("qualifies" if run.qualifies else "fails")
        )
        title = (
            f"{run.model_id} \u00b7 {run.variant}: {format_energy(energy)} Wh/1k, "
            f"quality {format_percent(quality)}"
        )
        points.append(ChartPoint(round(px(energy), 1), round(py(float(quality)), 1), title, kind))
    front = pareto_front((e, float(q)) for e, q, _ in data)
    front_path = []
    for i, (energy, quality) in enumerate(front):
        if i:
            front_path.append((round(px(energy), 1), round(py(front[i - 1][1]), 1)))
        front_path.append((round(px(energy), 1), round(py(quality), 1)))
    y_ticks = []
    value = y_high
    while value >= y_low - 1e-9:
        y_ticks.append({"y": round(py(value), 1), "label": format_percent(value, 0)})
        value = round(value - (0.02 if y_high - y_low <= 0.1 else 0.05), 4)
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": height - bottom,
        "points": points,
        "shown": len(points),
        "total": len(data),
        "front": " ".join(f"{x},{y}" for x, y in front_path),
        "front_size": len(front),
        "x_ticks": [{"x": round(px(t), 1), "label": f"{t:g}"} for t in ticks],
        "y_ticks": y_ticks,
    }


def grade_bars(labels: Iterable[LatestLabel]) -> dict[str, Any]:
    """Geometry of a bar chart: how many labels in each class, plus the ungraded."""
    return grade_bars_from_counts(Counter(label.grade for label in labels))


def grade_bars_from_counts(counts: Mapping[str | None, int]) -> dict[str, Any]:
    """The bar chart of `grade_bars` from a count per class (a key outside A-G: ungraded)."""
    ungraded = sum(count for grade, count in counts.items() if grade not in GRADES)
    entries = [(g, g, counts.get(g, 0)) for g in GRADES] + [("na", "n/a", ungraded)]
    width, height, left, top, bottom, bar_w, gap = 440, 220, 16, 24, 32, 40, 12
    peak = max(1, *(count for _, _, count in entries))
    bars = []
    for i, (key, letter, count) in enumerate(entries):
        bar_h = (height - top - bottom) * count / peak
        x = left + i * (bar_w + gap)
        bars.append(
            {
                "key": key,
                "letter": letter,
                "count": count,
                "x": x,
                "y": round(height - bottom - bar_h, 1),
                "h": round(bar_h, 1),
                "w": bar_w,
                "grade": letter if key != "na" else None,
            }
        )
    return {"width": width, "height": height, "base": height - bottom, "bars": bars}


# -- data ---------------------------------------------------------------------------------


# -- data ---------------------------------------------------------------------------------


def _tags(model: ModelRecord | None) -> list[str]:
    if model is None:
        return []
    try:
        tags = json.loads(model.tags_json or "[]")
    except ValueError:
        return []
    return [str(t) for t in tags] if isinstance(tags, list) else []


_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def write_file(path: str, text: str) -> int:
    """Write `text` as UTF-8 to `path` (making its folder on first need); return its bytes.

    A build writes some 70,000 small files, so this is plain os.open/os.write: a thread pool
    or pathlib's objects cost more CPU per file than the write itself on a 2-core host.
    """
    data = text.encode("utf-8")
    try:
        fd = os.open(path, _WRITE_FLAGS, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, _WRITE_FLAGS, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    return len(data)


def link_file(source: str, target: str) -> None:
    """Make `target` the same file as `source`: a hard link, so nothing is written twice
    (a copy where the filesystem has no links). An existing `target` is replaced, never
    written through, so a file linked to it keeps its content."""
    try:
        os.link(source, target)
    except FileExistsError:
        os.unlink(target)
        link_file(source, target)
    except FileNotFoundError:
        if not os.path.exists(source):
            raise
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.link(source, target)
    except OSError:  # no hard links here (some network and FAT filesystems)
        shutil.copyfile(source, target)


def _clear(out_dir: Path) -> None:
    """Clear what an earlier build of ours left, never a directory we did not make."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if (out_dir / _MARKER_FILE).exists():
        for name in _OWNED_DIRS:
            shutil.rmtree(out_dir / name, ignore_errors=True)
        (out_dir / MANIFEST_FILE).unlink(missing_ok=True)
    (out_dir / _MARKER_FILE).write_text("built by labeler.site; safe to delete\n")


def _model_files(model_id: str, hardware: Iterable[str]) -> list[str]:
    """Every file a model owns, relative to the site root."""
    files = [f"models/{model_slug(model_id)}.html"]
    for stem in [badge_stem(model_id)] + [badge_stem(model_id, h) for h in hardware]:
        files += [f"badges/{stem}{suffix}" for suffix in _BADGE_SUFFIXES]
    return files


def _shared_hash(
    scheme: Scheme, site_url: str | None, tasks: list[str], hardware_digest: str
) -> str:
    """Hash of what every page depends on besides its own rows: the site's sources and the
    code that renders them, the scheme, the site URL and the task list in the header (and
    the DuckDB release, whose row hash makes the model digests)."""
    code = Path(__file__).resolve().parent
    return content_hash(
        tree_hash(SITE_SOURCE),
        tree_hash(*(code / name for name in _RENDER_CODE)),
        repr(scheme),
        site_url or "",
        "\n".join(tasks),
        hardware_digest,
        duckdb.__version__,
    )


# -- build --------------------------------------------------------------------------------


@dataclass
class _RenderState:
    """What the model-page renderer needs; set before the worker processes fork."""

    labels_by_model: dict[str, list[LatestLabel]]
    details: ModelDetails
    hardware: dict[str, HardwareRecord]  # by fingerprint
    root: str  # the output folder, with a trailing separator
    site_url: str | None
    common: dict[str, Any]
    env: jinja2.Environment
    alternatives: dict[AlternativesKey, AlternativesSelection] = field(default_factory=dict)
    # model.html.j2 rendered once, in pieces around the title, before and after main
    model_frame: tuple[tuple[str, ...], tuple[str, ...]] = (("",), ("",))


_STATE: _RenderState | None = None
_TITLE_MARK, _MAIN_MARK = "\x00page-title\x00", "\x00page-main\x00"


def _model_frame(
    env: jinja2.Environment, common: dict[str, Any]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The model page's template rendered once with marks for its title and main block:
    every model page is the same around those two, so a page costs a few string joins.
    Returns the pieces before and after main, split where the title goes."""
    text = env.get_template("model.html.j2").render(
        **common, root="../", page_title=_TITLE_MARK, main=Markup(_MAIN_MARK)
    )
    before, after = text.split(_MAIN_MARK)  # one main block, never in the title
    return tuple(before.split(_TITLE_MARK)), tuple(after.split(_TITLE_MARK))


def build_site(
    catalog: Catalog,
    out_dir: Path,
    scheme: Scheme | None = None,
    site_url: str | None = None,
    *,
    full: bool = False,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    prices: Prices | None = None,
) -> SiteSummary:
    """Render the site into `out_dir`, re-rendering only what changed since the last build.

    `full` ignores the last build's manifest and renders everything. `workers` is the
    number of processes rendering model pages (default: one per usable core); `progress`
    is called with (models rendered, models to render) as the build goes. `prices` turn
    energy and run time into money (default: `labeler.costs.resolve_prices()`).
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    scheme = scheme or load_scheme()
    reads = LabelReads()
    prices = prices or resolve_prices()
    # A model's "cheaper models" section depends on the other labels of its task and
    # hardware: each label's selection (from every label's summary, not its rows) joins the
    # model's digest, so a page is rendered again when its list changes.
    alternatives = select_alternatives(read_labelled_models(catalog), limit=ALTERNATIVES_ON_PAGE)
    with catalog.read() as con:
        overview = read_site_overview(con)
        digests = _with_alternatives(overview.model_digests, alternatives)
        shared = _shared_hash(
            scheme, site_url, overview.tasks, overview.hardware_digest + repr(prices)
        )
        previous = None if full else SiteManifest.load(out_dir)
        if previous is None or previous.shared_hash != shared:
            previous = None
            _clear(out_dir)
        else:
            (out_dir / _MARKER_FILE).write_text("built by labeler.site; safe to delete\n")
        plan = plan_build(digests, previous, page_names(out_dir))
        # Only the models to render are read; on a first build that is all of them.
        wanted = None if previous is None else plan.render
        labels_by_model: dict[str, list[LatestLabel]] = defaultdict(list)
        for label in read_label_rows(con, wanted, reads):
            labels_by_model[label.model_id].append(label)
        details = read_model_details(con, wanted)
    chunks = chunk_count(len(overview.model_digests))
    manifest = SiteManifest(
        shared, chunks, model_entries(digests, previous, labels_by_model, chunks)
    )
    _remove_old_files(out_dir, plan, previous, manifest)
    shutil.copytree(SITE_SOURCE / "static", out_dir / "static", dirs_exist_ok=True)

    env = _environment(shared)
    common = {
        "site_url": site_url,
        "scheme": scheme,
        "built_on": None,
        "tasks": overview.tasks,
        "prices": prices,
    }
    todo = [m for m in plan.render if labels_by_model.get(m)]
    state = _RenderState(
        dict(labels_by_model),
        details,
        overview.hardware,
        str(out_dir) + os.sep,
        site_url,
        common,
        env,
        alternatives,
        _model_frame(env, common),
    )
    files = _SharedFiles(out_dir, previous, manifest)

    def shared_pages() -> int:
        return _build_shared(
            catalog, _SharedInputs(overview, plan, previous, manifest, state, scheme, reads), files
        )

    index_bytes = _render_models(state, todo, workers, progress, alongside=shared_pages)
    if previous is not None:
        _remove(out_dir, set(previous.files) - set(manifest.files))
    unchanged = (
        previous is not None
        and not plan.render
        and not plan.removed
        and (previous.chunks, previous.files) == (manifest.chunks, manifest.files)
    )
    if not unchanged:  # at 100,000 models the manifest is ~10 MB: not rewritten for nothing
        manifest.save(out_dir)
    return SiteSummary(
        out_dir=out_dir,
        models=len(manifest.models),
        pages=len(manifest.models) + files.pages,
        index_bytes=index_bytes,
        build_s=time.perf_counter() - started,
        rendered_models=len(todo),
        full=previous is None,
        labels_read=reads.count,
    )


def _with_alternatives(
    digests: Mapping[str, int], alternatives: Mapping[AlternativesKey, AlternativesSelection]
) -> dict[str, int]:
    """Each model's digest (DuckDB's 64-bit row hash), joined by the digests of its labels'
    cheaper-model selections into another 64-bit number."""
    extra: dict[str, list[str]] = defaultdict(list)
    for key in sorted(alternatives):
        extra[key[0]].append(alternatives[key].digest)
    return {
        model_id: int(content_hash(str(digest), *extra[model_id]), 16)
        if model_id in extra
        else digest
        for model_id, digest in digests.items()
    }


def _remove(out_dir: Path, relative_paths: Iterable[str]) -> None:
    for rel in relative_paths:
        (out_dir / rel).unlink(missing_ok=True)


def _remove_old_files(
    out_dir: Path, plan: BuildPlan, previous: SiteManifest | None, manifest: SiteManifest
) -> None:
    """The files of models that left, badges of profiles a model left, stray pages."""
    if previous is None:
        return
    for model_id in plan.removed:
        _remove(out_dir, _model_files(model_id, previous.models[model_id].hardware))
    for model_id in plan.changed:
        old, new = previous.models.get(model_id), manifest.models.get(model_id)
        if old is not None and new is not None and old.hardware != new.hardware:
            gone = set(_model_files(model_id, old.hardware)) - set(
                _model_files(model_id, new.hardware)
            )
            _remove(out_dir, gone)
    # A page the manifest does not know (a crashed build, a hand-made file) goes too.
    _remove(out_dir, (f"models/{name}" for name in plan.stray_pages))


def _render_models(
    state: _RenderState,
    todo: list[str],
    workers: int | None,
    progress: Callable[[int, int], None] | None,
    alongside: Callable[[], int],
) -> int:
    """Render the model pages and badges of `todo`, on worker processes when there are many,
    and meanwhile run `alongside` (the shared pages) here; return what `alongside` returns.

    Rendering is CPU-bound Python, so threads would not help; forked workers inherit the
    catalog rows already read and write their files themselves, while this process, which
    would otherwise only wait for them, makes the index, chunks and task pages.
    """
    global _STATE
    total = len(todo)
    if progress:
        progress(0, total)
    workers = workers or len(os.sched_getaffinity(0))
    batches = [todo[i : i + _MODELS_PER_BATCH] for i in range(0, total, _MODELS_PER_BATCH)]
    done = 0
    _STATE = state
    try:
        if (
            workers <= 1
            or total < _PARALLEL_FROM_MODELS
            or "fork" not in mp.get_all_start_methods()
        ):
            for batch in batches:
                done += _render_batch(batch)
                if progress:
                    progress(done, total)
            return alongside()
        # Compile every template here, once, so that the workers inherit them compiled.
        for name in state.env.list_templates(extensions=["j2"]):
            state.env.get_template(name)
        pool = mp.get_context("fork").Pool(
            min(workers, len(batches)), initializer=_worker_signals_default
        )
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="site-shared") as side:
                rendered = pool.imap_unordered(_render_batch, batches)
                shared = side.submit(alongside)  # after the fork: the workers get no thread
                for count in rendered:
                    done += count
                    if progress:
                        progress(done, total)
                result = shared.result()
            # the workers leave on their own once told there is no more work; terminate()
            # (what `with Pool()` does) would SIGTERM them instead
            pool.close()
            pool.join()
            return result
        finally:
            pool.terminate()  # after join() nothing is left to stop; on an error, the workers
    finally:
        _STATE = None


def _worker_signals_default() -> None:
    """A worker forked from a process that handles SIGTERM itself (the nightly schedule, which
    stops after the current model; Ray's driver) inherits that handler, and would go on
    waiting for work when the pool stops it. The default action ends it."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _render_batch(model_ids: list[str]) -> int:
    state = _STATE
    assert state is not None, "build_site sets the render state first"
    for model_id in model_ids:
        _render_model(state, write_file, model_id)
    return len(model_ids)


def _render_model(state: _RenderState, write: Callable[[str, str], int], model_id: str) -> None:
    details, root, site_url = state.details, state.root, state.site_url
    model_labels = sorted(state.labels_by_model[model_id], key=lambda lb: (lb.hardware, lb.task))
    sections = []
    badged: dict[str, tuple[str, str, str]] = {}  # hardware -> its badge files' texts
    noisy_cv, label_bars = state.common["scheme"].noisy_cv, state.env.globals["label_bars"]
    for label in model_labels:
        runs = details.runs(label)
        fingerprint = runs[0].hardware_fingerprint if runs else None
        recs = label.recommendations
        selection = state.alternatives.get((model_id, label.task, label.hardware))
        cheaper = selection.resolve() if selection else None
        section = {
            "label": label,
            "runs": runs,
            "achievable": achievable_text(label),
            "applicable": [r for r in recs if r.applies],
            "not_applicable": [r for r in recs if not r.applies],
            "mentions_pruning": any(
                tactic_kind(r.variant) is TacticKind.PRUNING for r in (*recs, *runs)
            ),
            "provenance": build_provenance(
                runs, state.hardware.get(fingerprint) if fingerprint else None
            ),
            "snippets": badge_snippets(model_id, site_url, label.hardware),
            "badge_src": f"../badges/{badge_stem(model_id, label.hardware)}.svg",
            "anchor": safe_segment(f"{label.task}--{label.hardware}"),
            # urlencode's own form (quote_plus), without its per-call overhead
            "compare_href": f"../compare.html?m={quote_plus(model_id)}"
            f"&task={quote_plus(label.task)}&hw={quote_plus(label.hardware)}",
            "money": label_money(recs, runs, state.common["prices"]),
            "batching": batching_summary(runs),
            "cheaper": cheaper,
            "cheaper_links": [
                (a, f"{model_slug(a.model_id)}.html")
                for a in (cheaper.alternatives if cheaper else ())
            ],
        }
        section["html"] = label_section(
            section, model_id, site_url, noisy_cv, label_bars, QUALITY_WORDS
        )
        sections.append(section)
        if label.hardware not in badged:
            badged[label.hardware] = _badge_texts(
                model_id, label, cheaper, site_url, section["achievable"]
            )
            _write_badge(write, root, model_id, badged[label.hardware], label.hardware)
    # the model's own badge is its first label's: the same files, linked rather than copied
    _link_own_badge(root, model_id, model_labels[0].hardware)
    model = details.models.get((model_id, model_labels[0].revision))
    main = model_main(
        model_id, model, _tags(model), sections, f"../badges/{badge_stem(model_id)}.svg"
    )
    before, after = state.model_frame
    title = str(escape(model_id + " \u2013 energy label"))  # a str: Markup.join escapes
    html_text = f"{title.join(before)}{main}{title.join(after)}"
    write(f"{root}models/{model_slug(model_id)}.html", html_text)


class _SharedFiles:
    """Writes the pages every build touches (index, chunks, task pages, exports), skipping
    a file whose content hashes as in the last build, and keeps those made from unchanged
    models as the last build left them."""

    def __init__(self, out_dir: Path, previous: SiteManifest | None, manifest: SiteManifest):
        self.out_dir, self.manifest = out_dir, manifest
        self.root = str(out_dir) + os.sep
        self.previous = previous.files if previous else {}
        self.pages = 0

    def _count(self, rel: str) -> None:
        if rel.endswith(".html"):
            self.pages += 1

    def write(self, rel: str, text: str) -> int:
        digest = content_hash(text)
        self.manifest.files[rel] = digest
        self._count(rel)
        if self.previous.get(rel) == digest and os.path.isfile(self.root + rel):
            return len(text.encode("utf-8"))
        return write_file(self.root + rel, text)

    def keep(self, rel: str) -> str | None:
        """Keep `rel` as the last build wrote it and return its hash; None when it cannot
        be kept (the last build did not make it, or it is gone), so it must be made."""
        digest = self.previous.get(rel)
        if digest is None or not os.path.isfile(self.root + rel):
            return None
        self.manifest.files[rel] = digest
        self._count(rel)
        return digest

    def made(self, rel: str, input_hash: str) -> None:
        """Record that `rel` was made (by other means than `write`) from `input_hash`."""
        self.manifest.files[rel] = input_hash
        self._count(rel)


@dataclass(frozen=True)
class _SharedInputs:
    overview: SiteOverview
    plan: BuildPlan
    previous: SiteManifest | None
    manifest: SiteManifest
    state: _RenderState  # the labels read for the rendered models, env and common values
    scheme: Scheme
    reads: LabelReads


def _build_shared(catalog: Catalog, inputs: _SharedInputs, files: _SharedFiles) -> int:
    """Index, row chunks, compare, task pages, methodology and exports; return index bytes."""
    overview, manifest, scheme = inputs.overview, inputs.manifest, inputs.scheme
    env, common, reads = inputs.state.env, inputs.state.common, inputs.reads
    tasks = overview.tasks
    built_on = format_date(datetime.now())
    with catalog.read() as con:
        versions = _write_chunks(con, inputs, files)
        first_rows = read_first_labels(con, ROWS_PER_PAGE, reads)
        # Task pages: made again only when a model of the task changed.
        dirty = dirty_tasks(inputs.plan, inputs.previous, manifest, tasks)
        task_pages = {}
        for task in tasks:
            if task in dirty or files.keep(f"tasks/{task_page_name(task)}") is None:
                task_pages[task] = (
                    read_task_profiles(con, task, TASK_TABLE_ROWS, reads),
                    read_chart_runs(con, task),
                )
        cursor = con.execute(
            "SELECT * FROM energy_scores ORDER BY task, hardware, energy_wh_per_1k_queries"
        )
        columns = [d[0] for d in cursor.description]
        scores = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    config = {
        "chunks": versions,
        "tasks": tasks,
        "hardware": overview.hardware_profiles,
        "labels": overview.label_count,
        "pageSize": ROWS_PER_PAGE,
    }
    page_common = {**common, "built_on": built_on, "site_config": config}
    index_html = env.get_template("index.html.j2").render(
        **page_common,
        root="",
        page_title="Energy labels for Hugging Face models",
        label_count=overview.label_count,
        first_rows=first_rows,
        rows_per_page=ROWS_PER_PAGE,
        model_count=len(manifest.models),
        hardware_profiles=overview.hardware_profiles,
        model_slug=model_slug,
    )
    index_bytes = files.write("index.html", index_html)

    files.write(
        "compare.html",
        env.get_template("compare.html.j2").render(
            **page_common, root="", page_title="Compare models \u2013 energy labels"
        ),
    )

    task_template = env.get_template("task.html.j2")
    for task, (task_profiles, chart_runs) in task_pages.items():
        profiles = [
            {
                "hardware": p.hardware,
                "labels": p.labels,
                "label_count": p.label_count,
                "scatter": scatter_chart(chart_runs.get(p.hardware, [])),
                "bars": grade_bars_from_counts(p.grade_counts),
                "reference": scheme.reference(task, p.hardware),
                "index_href": "../index.html?" + urlencode({"task": task, "hardware": p.hardware}),
            }
            for p in task_profiles
        ]
        html_text = task_template.render(
            **common,
            root="../",
            page_title=f"{task} \u2013 energy labels",
            task=task,
            profiles=profiles,
            model_slug=model_slug,
        )
        files.write(f"tasks/{task_page_name(task)}", html_text)

    files.write(
        "methodology.html",
        env.get_template("methodology.html.j2").render(
            **page_common,
            root="",
            page_title="Methodology \u2013 energy labels",
            thresholds=_threshold_rows(scheme),
            references=sorted(scheme.references.values(), key=lambda r: (r.task, r.hardware)),
        ),
    )

    # Runs under the AI Energy Score's protocol: apart from the labels, never graded.
    files.write(
        "energy-score.html",
        env.get_template("energy_score.html.j2").render(
            **page_common,
            root="",
            page_title="AI Energy Score protocol \u2013 energy labels",
            rows=scores,
        ),
    )

    labels_changed = inputs.previous is None or inputs.plan.changed or inputs.plan.removed
    for rel, export in [
        ("data/latest_labels.parquet", export_parquet),
        ("data/latest_labels.csv", export_csv),
    ]:
        if labels_changed or files.keep(rel) is None:
            export(catalog, files.out_dir / rel)
            files.made(rel, labels_digest(manifest))
    return index_bytes


def _chunk_order(label: LatestLabel) -> tuple[int, float, str, str, str]:
    """The index's order; a model's own labels in the catalog's order (task, hardware)."""
    return (*label_sort_key(label), label.task, label.hardware)


def _write_chunks(con: Connection, inputs: _SharedInputs, files: _SharedFiles) -> list[str]:
    """Write the row chunks that hold a changed model and return every chunk's version: the
    start of its content hash, so a browser fetches a chunk again only when it changed."""
    manifest, overview = inputs.manifest, inputs.overview
    dirty = dirty_chunks(inputs.plan, inputs.previous, manifest)
    kept: dict[int, str] = {}
    for k in range(manifest.chunks):
        digest = None if k in dirty else files.keep(chunk_name(k))
        if digest is None:
            dirty.add(k)
        else:
            kept[k] = digest[:8]
    members: dict[int, list[str]] = defaultdict(list)
    for model_id, entry in manifest.models.items():
        if entry.chunk in dirty:
            members[entry.chunk].append(model_id)
    every = len(dirty) == manifest.chunks
    known = inputs.state.labels_by_model
    labels = {m: known[m] for m in chain.from_iterable(members.values()) if m in known}
    unread = [m for m in chain.from_iterable(members.values()) if m not in labels]
    for label in read_label_rows(con, unread, inputs.reads):
        labels.setdefault(label.model_id, []).append(label)
    baselines = read_baselines(con, None if every else list(labels))
    task_index = {t: i for i, t in enumerate(overview.tasks)}
    hardware_index = {h: i for i, h in enumerate(overview.hardware_profiles)}
    versions = []
    for k in range(manifest.chunks):
        if k in kept:
            versions.append(kept[k])
            continue
        rows = sorted(chain.from_iterable(labels.get(m, []) for m in members[k]), key=_chunk_order)
        encoded = [
            encode_row(label, baselines.get(label_key(label)), task_index, hardware_index)
            for label in rows
        ]
        text = f"labelRows({k},{script_json(encoded)});\n"
        files.write(chunk_name(k), text)
        versions.append(content_hash(text)[:8])
    return versions


def task_page_name(task: str) -> str:
    return f"{safe_segment(task)}.html"


def _as_dict(recommendation: Recommendation | None) -> dict[str, Any] | None:
    return recommendation.to_dict() if recommendation else None


def _threshold_rows(scheme: Scheme) -> list[dict[str, Any]]:
    rows = []
    lower = 0.0
    for grade in GRADES:
        upper = scheme.upper_eei.get(grade)
        rows.append({"grade": grade, "lower": lower, "upper": upper})
        lower = upper if upper is not None else lower
    return rows


@functools.lru_cache(maxsize=256)
def _badge_file_texts(
    grade: str | None, estimated: bool, best_grade: str | None, borderline: bool
) -> tuple[str, str]:
    """The badge SVG and its shields.io endpoint JSON: the same for every label of one
    grade and flags, so made once per build (per worker) rather than once per label."""
    endpoint = shields_endpoint(
        grade, estimated=estimated, best_grade=best_grade, borderline=borderline
    )
    return badge_svg(grade, estimated=estimated), str(script_json(endpoint)) + "\n"


def _badge_texts(
    model_id: str,
    label: LatestLabel,
    cheaper: ModelAlternatives | None,
    site_url: str | None,
    achievable: str,
) -> tuple[str, str, str]:
    """The badge SVG, its shields.io endpoint JSON and its recommendations JSON (which
    also names the cheapest comparable alternative model, when there is one). `achievable`
    is the label section's `achievable_text(label)`."""
    estimated = bool(label.estimated)
    svg, endpoint = _badge_file_texts(
        label.grade, estimated, label.best_grade, bool(label.borderline)
    )
    details = {
        "model_id": model_id,
        "task": label.task,
        "hardware": label.hardware,
        "scheme_version": label.scheme_version,
        "grade": label.grade,
        "best_grade": label.best_grade,
        "energy_wh_per_1k": label.energy_wh_per_1k,
        "estimated": estimated,
        "noisy": bool(label.noisy),
        "borderline": bool(label.borderline),
        "eei": label.eei,
        "eei_low": label.eei_low,
        "eei_high": label.eei_high,
        "reference_model": label.reference_model,
        "energy_j_per_token": label.energy_j_per_token,
        "achievable": achievable,
        "top_recommendation": _as_dict(top_recommendation(label)),
        "recommendations": [r.to_dict() for r in label.recommendations],
        "cheaper_alternative": cheaper_alternative_json(
            cheaper.cheapest_comparable if cheaper else None, site_url
        ),
    }
    return svg, endpoint, str(script_json(details)) + "\n"


def _link_own_badge(root: str, model_id: str, hardware: str) -> None:
    """The model's own badge files: those of its first label's hardware profile. (Made
    after that profile's files, which an incremental build rewrites in place: a rewrite
    shows through the link until it is made again here, with the same bytes.)"""
    source = f"{root}badges/{badge_stem(model_id, hardware)}"
    target = f"{root}badges/{badge_stem(model_id)}"
    for suffix in _BADGE_SUFFIXES:
        link_file(source + suffix, target + suffix)


def _write_badge(
    write: Callable[[str, str], int],
    root: str,
    model_id: str,
    texts: tuple[str, str, str],
    hardware: str,
) -> None:
    """The three badge files of one hardware profile."""
    stem = f"{root}badges/{badge_stem(model_id, hardware)}"
    for suffix, text in zip(_BADGE_SUFFIXES, texts, strict=True):
        write(stem + suffix, text)

"""Build the static label website from the catalog.

Everything is rendered at build time (the label graphics and charts are inline SVG), so the
pages read well without JavaScript and work from file:// or any static host: relative
links only, no CDN, no fonts from elsewhere. The index embeds its rows as JSON and a small
script sorts, filters, searches and paginates them in the browser.

The catalog is read once up front (labels, runs, models, hardware) and grouped in Python,
and each template is compiled once, so 10,000 models build in seconds, not minutes.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from markupsafe import Markup

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
from labeler.figures import format_change, format_energy, format_percent
from labeler.recommend import batching_summary
from labeler.site_inputs import (
    ChartRun,
    ModelDetails,
    SiteInputs,
    label_key,
    read_chart_runs,
    read_model_details,
    read_site_inputs,
)
from labeler.site_manifest import MANIFEST_FILE, ModelEntry, SiteManifest, content_hash, tree_hash
from labeler.site_provenance import build_provenance
from labeler.site_rows import chunk_count, chunk_name, chunk_of, encode_row
from labeler.slugs import badge_stem, model_slug, safe_segment
from labels import (
    Catalog,
    ModelRecord,
    RunRecord,
    Scheme,
    export_csv,
    export_parquet,
    load_scheme,
)
from labels.latest_label import LatestLabel
from labels.recommendation import Recommendation
from labels.scheme import GRADES

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
    "alternatives.py",
    "site_rows.py",
    "site_provenance.py",
    "badges.py",
    "card.py",
    "costs.py",
    "recommend.py",
    "slugs.py",
)
# A chart with more points than this shows an even sample; its Pareto front uses them all.
MAX_CHART_POINTS = 2000
_MARKER_FILE = ".labeler-site"
_OWNED_DIRS = ("models", "tasks", "badges", "data", "static")


@dataclass(frozen=True)
class SiteSummary:
    out_dir: Path
    models: int
    pages: int  # HTML pages on the site
    index_bytes: int
    build_s: float
    rendered_models: int  # model pages rendered by this build (all of them when `full`)
    full: bool  # True when nothing of an earlier build could be reused


# -- formatting --------------------------------------------------------------------------


def format_date(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value or "")


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
        (r.energy_wh_per_1k, 1.0 if r.variant == "baseline" else r.quality_value, r)
        for r in runs
        if r.status == "ok"
        and r.energy_wh_per_1k
        and r.energy_wh_per_1k > 0
        and (r.variant == "baseline" or r.quality_value is not None)
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
            "baseline" if run.variant == "baseline" else ("qualifies" if run.qualifies else "fails")
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


def grade_bars(labels: list[LatestLabel]) -> dict[str, Any]:
    """Geometry of a bar chart: how many labels in each class, plus the ungraded."""
    counts = {g: 0 for g in GRADES}
    ungraded = 0
    for label in labels:
        if label.grade in counts:
            counts[label.grade] += 1
        else:
            ungraded += 1
    entries = [(g, g, counts[g]) for g in GRADES] + [("na", "n/a", ungraded)]
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


def _tags(model: ModelRecord | None) -> list[str]:
    if model is None:
        return []
    try:
        tags = json.loads(model.tags_json or "[]")
    except ValueError:
        return []
    return [str(t) for t in tags] if isinstance(tags, list) else []


_MADE_DIRS: set[Path] = set()


class _FileWriter:
    """Writes files on a few threads: with 10,000 models the build is mostly file creation,
    which waits on the filesystem rather than the CPU, so overlapping the waits pays."""

    def __init__(self, threads: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="site-write")
        self._pending: list[Future[None]] = []
        self._made_dirs = _MADE_DIRS  # shared by the writers of a process: mkdir is slow

    def write(self, path: Path, text: str) -> int:
        if path.parent not in self._made_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(path.parent)
        data = text.encode("utf-8")
        self._pending.append(self._pool.submit(path.write_bytes, data))
        if len(self._pending) > 512:
            self._drain()
        return len(data)

    def _drain(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        try:
            self._drain()
        finally:
            self._pool.shutdown(wait=True)


def _clear(out_dir: Path) -> None:
    """Clear what an earlier build of ours left, never a directory we did not make."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if (out_dir / _MARKER_FILE).exists():
        for name in _OWNED_DIRS:
            shutil.rmtree(out_dir / name, ignore_errors=True)
        _MADE_DIRS.clear()
        (out_dir / MANIFEST_FILE).unlink(missing_ok=True)
    (out_dir / _MARKER_FILE).write_text("built by labeler.site; safe to delete\n")


def _model_files(model_id: str, hardware: Iterable[str]) -> list[str]:
    """Every file a model owns, relative to the site root."""
    files = [f"models/{model_slug(model_id)}.html"]
    for stem in [badge_stem(model_id)] + [badge_stem(model_id, h) for h in hardware]:
        files += [f"badges/{stem}{suffix}" for suffix in (".svg", ".json", ".recommendations.json")]
    return files


def _shared_hash(
    scheme: Scheme, site_url: str | None, tasks: list[str], hardware_digest: str
) -> str:
    """Hash of what every page depends on besides its own rows: the site's sources and the
    code that renders them, the scheme, the site URL and the task list in the header."""
    code = Path(__file__).resolve().parent
    return content_hash(
        tree_hash(SITE_SOURCE),
        tree_hash(*(code / name for name in _RENDER_CODE)),
        repr(scheme),
        site_url or "",
        "\n".join(tasks),
        hardware_digest,
    )


# -- build --------------------------------------------------------------------------------


@dataclass
class _RenderState:
    """What the model-page renderer needs; set before the worker processes fork."""

    inputs: SiteInputs
    details: ModelDetails
    by_model: dict[str, list[LatestLabel]]
    out_dir: Path
    site_url: str | None
    common: dict[str, Any]
    env: jinja2.Environment
    alternatives: dict[AlternativesKey, AlternativesSelection] = field(default_factory=dict)


_STATE: _RenderState | None = None


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
    inputs = read_site_inputs(catalog)
    labels = inputs.labels
    by_model: dict[str, list[LatestLabel]] = defaultdict(list)
    for label in labels:
        by_model[label.model_id].append(label)
    tasks = sorted({label.task for label in labels})
    prices = prices or resolve_prices()
    # Another model's new label can change this model's "cheaper models" section.
    # (selected here for every label; their quality is compared only for pages rendered)
    alternatives = select_alternatives(read_labelled_models(catalog), limit=ALTERNATIVES_ON_PAGE)
    shared = _shared_hash(scheme, site_url, tasks, inputs.hardware_digest + repr(prices))

    previous = None if full else SiteManifest.load(out_dir)
    if previous is None or previous.shared_hash != shared:
        previous = None
        _clear(out_dir)
    else:
        (out_dir / _MARKER_FILE).write_text("built by labeler.site; safe to delete\n")
    manifest = SiteManifest(shared_hash=shared)

    # Which models changed: a hash of each one's label rows, runs and model records.
    todo: list[str] = []
    for model_id, model_labels in by_model.items():
        hardware = sorted({label.hardware for label in model_labels})
        input_hash = content_hash(
            shared,
            repr(model_labels),
            inputs.model_digests.get(model_id, ""),
            *(
                selection.digest
                for lb in model_labels
                if (selection := alternatives.get((model_id, lb.task, lb.hardware)))
            ),
        )
        manifest.models[model_id] = ModelEntry(input_hash, hardware)
        old = previous.models.get(model_id) if previous else None
        if (
            old is None
            or old.input_hash != input_hash
            or not (out_dir / "models" / f"{model_slug(model_id)}.html").is_file()
        ):
            todo.append(model_id)
        if old is not None and old.hardware != hardware:
            gone = set(_model_files(model_id, old.hardware)) - set(_model_files(model_id, hardware))
            _remove(out_dir, gone)
    if previous is not None:
        for model_id, old in previous.models.items():
            if model_id not in by_model:
                _remove(out_dir, _model_files(model_id, old.hardware))
        # A page the manifest does not know (a crashed build, a hand-made file) goes too.
        pages = {f"{model_slug(m)}.html" for m in by_model}
        if (out_dir / "models").is_dir():
            with os.scandir(out_dir / "models") as entries:
                for entry in entries:
                    if entry.name not in pages and entry.name.endswith(".html"):
                        os.unlink(entry.path)

    shutil.copytree(SITE_SOURCE / "static", out_dir / "static", dirs_exist_ok=True)
    env = _environment(shared)
    common = {
        "site_url": site_url,
        "scheme": scheme,
        "built_on": None,
        "tasks": tasks,
        "prices": prices,
    }
    global _STATE
    details = read_model_details(catalog, None if len(todo) == len(by_model) else todo)
    _STATE = _RenderState(
        inputs, details, dict(by_model), out_dir, site_url, common, env, alternatives
    )
    try:
        _render_models(todo, workers, progress)
    finally:
        _STATE = None

    writer = _FileWriter()
    shared_files = _SharedFiles(out_dir, writer, previous, manifest)
    try:
        index_bytes = _build_shared(
            inputs, by_model, tasks, scheme, common, env, shared_files, catalog
        )
    finally:
        writer.close()
    if previous is not None:
        _remove(out_dir, set(previous.files) - set(manifest.files))
    manifest.save(out_dir)
    return SiteSummary(
        out_dir=out_dir,
        models=len(by_model),
        pages=len(by_model) + shared_files.pages,
        index_bytes=index_bytes,
        build_s=time.perf_counter() - started,
        rendered_models=len(todo),
        full=previous is None,
    )


def _remove(out_dir: Path, relative_paths: Iterable[str]) -> None:
    for rel in relative_paths:
        (out_dir / rel).unlink(missing_ok=True)


def _render_models(
    todo: list[str], workers: int | None, progress: Callable[[int, int], None] | None
) -> None:
    """Render the model pages and badges of `todo`, on worker processes when there are many.

    Rendering is CPU-bound Python, so threads would not help; forked workers inherit the
    catalog rows already read and write their files themselves.
    """
    total = len(todo)
    if progress:
        progress(0, total)
    if not total:
        return
    workers = workers or len(os.sched_getaffinity(0))
    batches = [todo[i : i + _MODELS_PER_BATCH] for i in range(0, total, _MODELS_PER_BATCH)]
    done = 0
    if workers <= 1 or total < _PARALLEL_FROM_MODELS or "fork" not in mp.get_all_start_methods():
        for batch in batches:
            done += _render_batch(batch)
            if progress:
                progress(done, total)
        return
    with mp.get_context("fork").Pool(min(workers, len(batches))) as pool:
        for count in pool.imap_unordered(_render_batch, batches):
            done += count
            if progress:
                progress(done, total)


def _render_batch(model_ids: list[str]) -> int:
    state = _STATE
    assert state is not None, "build_site sets the render state first"
    writer = _FileWriter()
    try:
        for model_id in model_ids:
            _render_model(state, writer.write, model_id)
    finally:
        writer.close()
    return len(model_ids)


def _render_model(state: _RenderState, write: Callable[[Path, str], int], model_id: str) -> None:
    inputs, details = state.inputs, state.details
    out_dir, site_url = state.out_dir, state.site_url
    model_labels = sorted(state.by_model[model_id], key=lambda lb: (lb.hardware, lb.task))
    sections = []
    badged: dict[str, tuple[str, str, str]] = {}  # hardware -> its badge files' texts
    for label in model_labels:
        runs = details.runs(label)
        fingerprint = runs[0].hardware_fingerprint if runs else None
        recs = label.recommendations
        selection = state.alternatives.get((model_id, label.task, label.hardware))
        cheaper = selection.resolve() if selection else None
        sections.append(
            {
                "label": label,
                "runs": runs,
                "achievable": achievable_text(label),
                "applicable": [r for r in recs if r.applies],
                "not_applicable": [r for r in recs if not r.applies],
                "mentions_pruning": any("prun" in r.tactic.lower() for r in recs)
                or any("prun" in r.tactic.lower() for r in runs),
                "provenance": build_provenance(
                    runs, inputs.hardware.get(fingerprint) if fingerprint else None
                ),
                "snippets": badge_snippets(model_id, site_url, label.hardware),
                "badge_src": f"../badges/{badge_stem(model_id, label.hardware)}.svg",
                "anchor": safe_segment(f"{label.task}--{label.hardware}"),
                "compare_href": "../compare.html?"
                + urlencode({"m": model_id, "task": label.task, "hw": label.hardware}),
                "money": label_money(recs, runs, state.common["prices"]),
                "batching": batching_summary(runs),
                "cheaper": cheaper,
                "cheaper_links": [
                    (a, f"{model_slug(a.model_id)}.html")
                    for a in (cheaper.alternatives if cheaper else ())
                ],
            }
        )
        if label.hardware not in badged:
            badged[label.hardware] = _badge_texts(model_id, label, cheaper, site_url)
            _write_badge(write, out_dir, model_id, badged[label.hardware], label.hardware)
    # the model's own badge is its first label's, already built for that label's hardware
    _write_badge(write, out_dir, model_id, badged[model_labels[0].hardware], None)
    model = details.models.get((model_id, model_labels[0].revision))
    html_text = state.env.get_template("model.html.j2").render(
        **state.common,
        root="../",
        page_title=f"{model_id} \u2013 energy label",
        model_id=model_id,
        model=model,
        tags=_tags(model),
        sections=sections,
        snippets=badge_snippets(model_id, site_url),
        badge_src=f"../badges/{badge_stem(model_id)}.svg",
    )
    write(out_dir / "models" / f"{model_slug(model_id)}.html", html_text)


class _SharedFiles:
    """Writes the pages every build touches (index, chunks, task pages, exports), skipping
    a file whose content, or the inputs it is made from, hash as in the last build."""

    def __init__(
        self,
        out_dir: Path,
        writer: _FileWriter,
        previous: SiteManifest | None,
        manifest: SiteManifest,
    ) -> None:
        self.out_dir, self.writer, self.manifest = out_dir, writer, manifest
        self.previous = previous.files if previous else {}
        self.pages = 0

    def write(self, rel: str, text: str) -> int:
        digest = content_hash(text)
        self.manifest.files[rel] = digest
        if rel.endswith(".html"):
            self.pages += 1
        if self.previous.get(rel) == digest and (self.out_dir / rel).is_file():
            return len(text.encode("utf-8"))
        return self.writer.write(self.out_dir / rel, text)

    def unchanged(self, rel: str, input_hash: str) -> bool:
        """Record that `rel` is made from `input_hash`; True when the last build made it from
        the same inputs and it is still there, so it need not be made again."""
        self.manifest.files[rel] = input_hash
        if rel.endswith(".html"):
            self.pages += 1
        return self.previous.get(rel) == input_hash and (self.out_dir / rel).is_file()


def _build_shared(
    inputs: SiteInputs,
    by_model: dict[str, list[LatestLabel]],
    tasks: list[str],
    scheme: Scheme,
    common: dict[str, Any],
    env: jinja2.Environment,
    files: _SharedFiles,
    catalog: Catalog,
) -> int:
    """Index, row chunks, compare, task pages, methodology and exports; return index bytes."""
    labels = inputs.labels
    built_on = format_date(datetime.now())
    hardware_profiles = sorted({label.hardware for label in labels})
    task_index = {t: i for i, t in enumerate(tasks)}
    hardware_index = {h: i for i, h in enumerate(hardware_profiles)}

    # Row chunks, by a hash of the model id; rows inside a chunk keep the index's order.
    chunks = chunk_count(len(by_model))
    grouped: list[list[list[Any]]] = [[] for _ in range(chunks)]
    for label in labels:
        row = encode_row(label, inputs.baselines.get(label_key(label)), task_index, hardware_index)
        grouped[chunk_of(label.model_id, chunks)].append(row)
    versions = []
    for k, rows in enumerate(grouped):
        text = f"labelRows({k},{script_json(rows)});\n"
        files.write(chunk_name(k), text)
        versions.append(content_hash(text)[:8])
    config = {
        "chunks": versions,
        "tasks": tasks,
        "hardware": hardware_profiles,
        "labels": len(labels),
        "pageSize": ROWS_PER_PAGE,
    }
    page_common = {**common, "built_on": built_on, "site_config": config}

    index_html = env.get_template("index.html.j2").render(
        **page_common,
        root="",
        page_title="Energy labels for Hugging Face models",
        label_count=len(labels),
        first_rows=labels[:ROWS_PER_PAGE],
        rows_per_page=ROWS_PER_PAGE,
        model_count=len(by_model),
        hardware_profiles=hardware_profiles,
        model_slug=model_slug,
    )
    index_bytes = files.write("index.html", index_html)

    files.write(
        "compare.html",
        env.get_template("compare.html.j2").render(
            **page_common, root="", page_title="Compare models \u2013 energy labels"
        ),
    )

    # Task pages: made again only when a model of the task changed.
    task_template = env.get_template("task.html.j2")
    for task in tasks:
        task_labels = [label for label in labels if label.task == task]
        rel = f"tasks/{task_page_name(task)}"
        task_models = sorted({label.model_id for label in task_labels})
        input_hash = content_hash(
            files.manifest.shared_hash,
            *(files.manifest.models[m].input_hash for m in task_models),
        )
        if files.unchanged(rel, input_hash):
            continue
        chart_runs = read_chart_runs(catalog, task)
        profiles = []
        for hardware in sorted({label.hardware for label in task_labels}):
            profile_labels = [label for label in task_labels if label.hardware == hardware]
            profile_runs = chart_runs.get(hardware, [])
            profiles.append(
                {
                    "hardware": hardware,
                    "labels": profile_labels[:TASK_TABLE_ROWS],
                    "label_count": len(profile_labels),
                    "scatter": scatter_chart(profile_runs),
                    "bars": grade_bars(profile_labels),
                    "reference": scheme.reference(task, hardware),
                    "index_href": "../index.html?"
                    + urlencode({"task": task, "hardware": hardware}),
                }
            )
        html_text = task_template.render(
            **common,
            root="../",
            page_title=f"{task} \u2013 energy labels",
            task=task,
            profiles=profiles,
            model_slug=model_slug,
        )
        files.writer.write(files.out_dir / rel, html_text)

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
    scores = catalog.query(
        "SELECT * FROM energy_scores ORDER BY task, hardware, energy_wh_per_1k_queries"
    )
    files.write(
        "energy-score.html",
        env.get_template("energy_score.html.j2").render(
            **page_common,
            root="",
            page_title="AI Energy Score protocol \u2013 energy labels",
            rows=[dict(zip(scores.columns, row, strict=True)) for row in scores.rows],
        ),
    )

    labels_hash = content_hash(*(f"{k}={v.input_hash}" for k, v in files.manifest.models.items()))
    for rel, export in [
        ("data/latest_labels.parquet", export_parquet),
        ("data/latest_labels.csv", export_csv),
    ]:
        if not files.unchanged(rel, labels_hash):
            export(catalog, files.out_dir / rel)
    return index_bytes


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


def _badge_texts(
    model_id: str,
    label: LatestLabel,
    cheaper: ModelAlternatives | None = None,
    site_url: str | None = None,
) -> tuple[str, str, str]:
    """The badge SVG, its shields.io endpoint JSON and its recommendations JSON (which
    also names the cheapest comparable alternative model, when there is one)."""
    estimated = bool(label.estimated)
    endpoint = shields_endpoint(
        label.grade,
        estimated=estimated,
        best_grade=label.best_grade,
        borderline=bool(label.borderline),
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
        "achievable": achievable_text(label),
        "top_recommendation": _as_dict(top_recommendation(label)),
        "recommendations": [r.to_dict() for r in label.recommendations],
        "cheaper_alternative": cheaper_alternative_json(
            cheaper.cheapest_comparable if cheaper else None, site_url
        ),
    }
    return (
        badge_svg(label.grade, estimated=estimated),
        str(script_json(endpoint)) + "\n",
        str(script_json(details)) + "\n",
    )


def _write_badge(
    write: Callable[[Path, str], int],
    out_dir: Path,
    model_id: str,
    texts: tuple[str, str, str],
    hardware: str | None,
) -> None:
    """The three badge files of one hardware profile (None: the model's own badge)."""
    stem = out_dir / "badges" / badge_stem(model_id, hardware)
    for suffix, text in zip((".svg", ".json", ".recommendations.json"), texts, strict=True):
        write(stem.with_name(stem.name + suffix), text)

"""Build the static label website from the catalog.

Everything is rendered at build time (the label graphics and charts are inline SVG), so the
pages read well without JavaScript and work from file:// or any static host: relative
links only, no CDN, no fonts from elsewhere. The index embeds its rows as JSON and a small
script sorts, filters, searches and paginates them in the browser.

A build asks the catalog for one digest per model and compares them with the manifest the
last build left (`plan`), so it reads and renders only the models that changed, and
rewrites only the row chunks and task pages that list them (`shared_pages`). Model pages
(`model_page`) render on forked worker processes while this one makes the shared pages;
each template is compiled once, before the fork.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import signal
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from labeler.alternatives import (
    AlternativesKey,
    AlternativesSelection,
    read_labelled_models,
    select_alternatives,
)
from labeler.carbon import GridIntensity, resolve_grid_intensity
from labeler.costs import Prices, resolve_prices
from labeler.site.badge_files import model_files
from labeler.site.environment import SITE_SOURCE, environment
from labeler.site.files import MARKER_FILE, clear_output, remove_files, write_file
from labeler.site.inputs import LabelReads, read_label_rows, read_model_details, read_site_overview
from labeler.site.manifest import SiteManifest, content_hash, render_code_hash
from labeler.site.model_page import RenderState, model_frame, render_model
from labeler.site.plan import BuildPlan, model_entries, page_names, plan_build
from labeler.site.rows import chunk_count
from labeler.site.shared_pages import SharedFiles, SharedInputs, build_shared
from labels import Catalog, Scheme, load_scheme
from labels.latest_label import LatestLabel

# A model page lists this many cheaper, better-graded models per label (`labeler
# alternatives` lists them all).
ALTERNATIVES_ON_PAGE = 5
# Below this many models to render, forking worker processes costs more than it saves.
_PARALLEL_FROM_MODELS = 400
_MODELS_PER_BATCH = 250


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


def _shared_hash(
    scheme: Scheme, site_url: str | None, tasks: list[str], hardware_digest: str
) -> str:
    """Hash of what every page depends on besides its own rows: the site's sources and the
    code that renders them, the scheme, the site URL and the task list in the header (and
    the DuckDB release, whose row hash makes the model digests)."""
    return content_hash(
        render_code_hash(),
        repr(scheme),
        site_url or "",
        "\n".join(tasks),
        hardware_digest,
        duckdb.__version__,
    )


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
    grid: GridIntensity | None = None,
    built_on: date | None = None,
) -> SiteSummary:
    """Render the site into `out_dir`, re-rendering only what changed since the last build.

    `full` ignores the last build's manifest and renders everything. `workers` is the
    number of processes rendering model pages (default: one per usable core); `progress`
    is called with (models rendered, models to render) as the build goes. `prices` turn
    energy and run time into money (default: `labeler.costs.resolve_prices()`), `grid`
    energy into CO2e (default: `labeler.carbon.resolve_grid_intensity()`).
    `built_on` is the day the shared pages say they were built (default: today), fixed by
    tests that compare pages byte for byte.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    scheme = scheme or load_scheme()
    reads = LabelReads()
    prices = prices or resolve_prices()
    grid = grid or resolve_grid_intensity()
    # A model's "cheaper models" section depends on the other labels of its task and
    # hardware: each label's selection (from every label's summary, not its rows) joins the
    # model's digest, so a page is rendered again when its list changes.
    alternatives = select_alternatives(read_labelled_models(catalog), limit=ALTERNATIVES_ON_PAGE)
    with catalog.read() as con:
        overview = read_site_overview(con)
        digests = _with_alternatives(overview.model_digests, alternatives)
        shared = _shared_hash(
            scheme, site_url, overview.tasks, overview.hardware_digest + repr(prices) + repr(grid)
        )
        previous = None if full else SiteManifest.load(out_dir)
        if previous is None or previous.shared_hash != shared:
            previous = None
            clear_output(out_dir)
        else:
            (out_dir / MARKER_FILE).write_text("built by labeler.site; safe to delete\n")
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

    env = environment(shared)
    common = {
        "site_url": site_url,
        "scheme": scheme,
        "built_on": None,
        "tasks": overview.tasks,
        "prices": prices,
        "grid": grid,
    }
    todo = [m for m in plan.render if labels_by_model.get(m)]
    state = RenderState(
        dict(labels_by_model),
        details,
        overview.hardware,
        str(out_dir) + os.sep,
        site_url,
        common,
        env,
        alternatives,
        model_frame(env, common),
        env.get_template("model_main.html.j2"),
    )
    files = SharedFiles(out_dir, previous, manifest)

    def shared_pages() -> int:
        return build_shared(
            catalog,
            SharedInputs(
                overview, plan, previous, manifest, state, scheme, reads, built_on or date.today()
            ),
            files,
        )

    index_bytes = _render_models(state, todo, workers, progress, alongside=shared_pages)
    if previous is not None:
        remove_files(out_dir, set(previous.files) - set(manifest.files))
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


def _remove_old_files(
    out_dir: Path, plan: BuildPlan, previous: SiteManifest | None, manifest: SiteManifest
) -> None:
    """The files of models that left, badges of profiles a model left, stray pages."""
    if previous is None:
        return
    for model_id in plan.removed:
        remove_files(out_dir, model_files(model_id, previous.models[model_id].hardware))
    for model_id in plan.changed:
        old, new = previous.models.get(model_id), manifest.models.get(model_id)
        if old is not None and new is not None and old.hardware != new.hardware:
            gone = set(model_files(model_id, old.hardware)) - set(
                model_files(model_id, new.hardware)
            )
            remove_files(out_dir, gone)
    # A page the manifest does not know (a crashed build, a hand-made file) goes too.
    remove_files(out_dir, (f"models/{name}" for name in plan.stray_pages))


def _render_models(
    state: RenderState,
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
        render_model(state, write_file, model_id)
    return len(model_ids)

"""The pages every build touches: the index and its row chunks, the compare page, the task
pages, methodology, the AI Energy Score page and the catalog exports.

Each is written only when its bytes differ from the last build's (a hash in the manifest),
and a task page or chunk that lists no changed model is kept as the last build left it.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from duckdb import DuckDBPyConnection as Connection

from labeler.figures import format_date
from labeler.site.charts import grade_bars_from_counts, scatter_chart
from labeler.site.environment import script_json, task_page_name
from labeler.site.files import write_file
from labeler.site.inputs import (
    LabelReads,
    SiteOverview,
    label_key,
    label_sort_key,
    read_baselines,
    read_chart_runs,
    read_first_labels,
    read_label_rows,
    read_task_profiles,
)
from labeler.site.manifest import SiteManifest, content_hash
from labeler.site.plan import BuildPlan, dirty_chunks, dirty_tasks, labels_digest
from labeler.site.rows import chunk_name, encode_row
from labeler.slugs import model_slug
from labels import Catalog, Scheme, export_csv, export_parquet
from labels.latest_label import LatestLabel
from labels.scheme import GRADES

if TYPE_CHECKING:
    from labeler.site.model_page import RenderState

ROWS_PER_PAGE = 100
# A task page lists the best this many labels per hardware profile; the index has them all.
TASK_TABLE_ROWS = 500


class SharedFiles:
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
class SharedInputs:
    overview: SiteOverview
    plan: BuildPlan
    previous: SiteManifest | None
    manifest: SiteManifest
    state: RenderState  # the labels read for the rendered models, env and common values
    scheme: Scheme
    reads: LabelReads
    built_on: date  # the day the index and other shared pages say they were built


def build_shared(catalog: Catalog, inputs: SharedInputs, files: SharedFiles) -> int:
    """Index, row chunks, compare, task pages, methodology and exports; return index bytes."""
    overview, manifest, scheme = inputs.overview, inputs.manifest, inputs.scheme
    env, common, reads = inputs.state.env, inputs.state.common, inputs.reads
    tasks = overview.tasks
    built_on = format_date(inputs.built_on)
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


def _write_chunks(con: Connection, inputs: SharedInputs, files: SharedFiles) -> list[str]:
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


def _threshold_rows(scheme: Scheme) -> list[dict[str, Any]]:
    rows = []
    lower = 0.0
    for grade in GRADES:
        upper = scheme.upper_eei.get(grade)
        rows.append({"grade": grade, "lower": lower, "upper": upper})
        lower = upper if upper is not None else lower
    return rows

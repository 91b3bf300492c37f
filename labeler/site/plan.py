"""Which parts of the site a build must make again, decided from digests alone.

The catalog answers one digest per model (`inputs.read_site_overview`); the last
build's manifest holds the digests it rendered. Comparing the two dicts tells which models
changed, appeared or left without reading any of their rows, so a nightly build costs what
changed, not what the catalog holds. From the changed models follow the row chunks and task
pages that list them; everything else is kept as the last build wrote it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import reduce
from operator import xor
from pathlib import Path

from labeler.site.manifest import ModelEntry, SiteManifest
from labeler.site.rows import chunk_of
from labeler.slugs import model_slug
from labels.latest_label import LatestLabel


@dataclass(frozen=True)
class BuildPlan:
    changed: list[str]  # models whose digest is new or differs from the last build's
    render: list[str]  # the changed ones and those whose page went missing
    removed: list[str]  # models of the last build that have no label now
    stray_pages: list[str]  # files in models/ that no labelled model owns


def page_names(out_dir: Path) -> set[str]:
    """The file names in `out_dir/models`, read in one directory scan."""
    try:
        with os.scandir(out_dir / "models") as entries:
            return {entry.name for entry in entries}
    except FileNotFoundError:
        return set()


def plan_build(
    digests: dict[str, int], previous: SiteManifest | None, pages: set[str]
) -> BuildPlan:
    """What to render and remove, given the catalog's digests and the last build's manifest."""
    old = previous.models if previous is not None else {}
    changed, render = [], []
    expected = set()
    for model_id, digest in digests.items():
        page = f"{model_slug(model_id)}.html"
        expected.add(page)
        entry = old.get(model_id)
        if entry is None or entry.digest != digest:
            changed.append(model_id)
            render.append(model_id)
        elif page not in pages:
            render.append(model_id)
    removed = [model_id for model_id in old if model_id not in digests]
    stray = sorted(name for name in pages - expected if name.endswith(".html"))
    return BuildPlan(changed, render, removed, stray)


def model_entries(
    digests: dict[str, int],
    previous: SiteManifest | None,
    labels_by_model: dict[str, list[LatestLabel]],
    chunks: int,
) -> dict[str, ModelEntry]:
    """The manifest entries of this build: a model read now is described afresh, the others
    keep the last build's entry (with a new chunk when the number of chunks changed)."""
    old = previous.models if previous is not None else {}
    same_chunks = previous is not None and previous.chunks == chunks
    entries: dict[str, ModelEntry] = {}
    for model_id, digest in digests.items():
        labels = labels_by_model.get(model_id)
        entry = old.get(model_id)
        if labels:
            entries[model_id] = ModelEntry(
                digest,
                tuple(sorted({label.hardware for label in labels})),
                tuple(sorted({label.task for label in labels})),
                entry.chunk if entry is not None and same_chunks else chunk_of(model_id, chunks),
            )
        elif entry is not None and entry.digest == digest:  # unchanged: nothing was read
            if not same_chunks:
                entry = ModelEntry(digest, entry.hardware, entry.tasks, chunk_of(model_id, chunks))
            entries[model_id] = entry
        # else: its labels went between the digest and the read; the next build adds it
    return entries


def _old_entries(previous: SiteManifest, model_ids: Iterable[str]) -> list[ModelEntry]:
    return [previous.models[m] for m in model_ids if m in previous.models]


def dirty_chunks(
    plan: BuildPlan, previous: SiteManifest | None, manifest: SiteManifest
) -> set[int]:
    """Row chunks holding a model that changed, came or went (all when the count changed)."""
    if previous is None or previous.chunks != manifest.chunks:
        return set(range(manifest.chunks))
    dirty = {manifest.models[m].chunk for m in plan.changed if m in manifest.models}
    dirty |= {e.chunk for e in _old_entries(previous, plan.changed + plan.removed)}
    return dirty


def dirty_tasks(
    plan: BuildPlan, previous: SiteManifest | None, manifest: SiteManifest, tasks: list[str]
) -> set[str]:
    """Task pages listing a model that changed, came or went (all on a first build)."""
    if previous is None:
        return set(tasks)
    dirty = {t for m in plan.changed if m in manifest.models for t in manifest.models[m].tasks}
    dirty |= {t for e in _old_entries(previous, plan.changed + plan.removed) for t in e.tasks}
    return dirty


def labels_digest(manifest: SiteManifest) -> str:
    """One digest of every model's inputs, for the whole-catalog downloads."""
    combined = reduce(xor, (entry.digest for entry in manifest.models.values()), 0)
    return f"{combined:016x}:{len(manifest.models)}"

"""The label rows behind the index and compare pages, split into small script chunks.

With 100,000 models one JSON blob in the index would weigh megabytes, so the index page
carries only its first page of rows and a short list of chunk files. Chunks are plain
JavaScript (`labelRows(k, [...])`) loaded with `<script src>`, because `fetch()` is
blocked on file:// and the site must work from a downloaded folder. A model goes to the
chunk given by a hash of its id (FNV-1a over UTF-8, the same in `site/static/rows.js`), so
the compare page loads just the chunks of the models it shows, and a changed model
rewrites one chunk, not all of them.

A row is an array, not an object, to keep the bytes per model down:
`[id, slug, task, hardware, grade, best grade, Wh/1k, quality retained, flags,
latency p50 ms, size MB]`; `slug` is "" when it is the id with `/` as `--`, `task` and
`hardware` index the lists in the page's config, flags are 1 estimated + 2 noisy + 4
contended.
"""

from __future__ import annotations

import math
from typing import Any

from labeler.slugs import model_slug
from labels.latest_label import LatestLabel

MODELS_PER_CHUNK = 1000
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv1a_32(text: str) -> int:
    value = _FNV_OFFSET
    for byte in text.encode("utf-8"):
        value = ((value ^ byte) * _FNV_PRIME) & 0xFFFFFFFF
    return value


def chunk_count(models: int) -> int:
    return max(1, math.ceil(models / MODELS_PER_CHUNK))


def chunk_of(model_id: str, chunks: int) -> int:
    return fnv1a_32(model_id) % chunks


def chunk_name(index: int) -> str:
    return f"data/rows/rows-{index:04d}.js"


def _number(value: float | None, digits: int = 4) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(f"{value:.{digits}g}")


def encode_row(
    label: LatestLabel,
    baseline: Any | None,
    task_index: dict[str, int],
    hardware_index: dict[str, int],
) -> list[Any]:
    """One label as a compact array; `baseline` is its baseline RunRecord, if any."""
    model_id = label.model_id
    slug = model_slug(model_id)
    flags = (
        (1 if label.estimated else 0) | (2 if label.noisy else 0) | (4 if label.contended else 0)
    )
    return [
        model_id,
        "" if slug == model_id.replace("/", "--") else slug,
        task_index[label.task],
        hardware_index[label.hardware],
        label.grade or "",
        label.best_grade or "",
        _number(label.energy_wh_per_1k),
        _number(label.quality_retained),
        flags,
        _number(getattr(baseline, "latency_ms_p50", None)),
        _number(getattr(baseline, "size_mb", None)),
    ]

"""The one record every source produces: a model on disk, ready for the benchmark."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from labels.errors import LabelerError
from labels.run_status import RunStatus


class DiscoveryError(LabelerError):
    """A source cannot list or fetch models; the message says why in one line."""


@dataclass(frozen=True)
class ModelRef:
    """A model to benchmark.

    `path` is a local directory in Hub layout (config.json, weights, tokenizer files), or
    None when the model could not be fetched; then `skip_reason` says why and the scan
    records the model with `skip_status` instead of benchmarking it: skipped when the model
    is not usable, failed when the Hub failed us (tried again next scan).
    """

    model_id: str
    revision: str
    task: str
    source: str  # demo | local | hub
    path: Path | None
    synthetic: bool = False
    library: str | None = None
    pipeline_tag: str | None = None
    license: str | None = None
    gated: str | None = None
    downloads: int | None = None
    likes: int | None = None
    weights_mb: float | None = None
    tags: tuple[str, ...] = ()
    skip_reason: str | None = None
    skip_status: RunStatus = RunStatus.SKIPPED
    metadata: dict[str, str] = field(default_factory=dict)
    # the card's `model-index` results, normalised (labels.model_index.model_index_json)
    model_index_json: str = "[]"

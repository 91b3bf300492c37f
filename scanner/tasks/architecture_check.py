"""Refuse, before loading, a model whose files contradict its task tag.

A card can say `object-detection` over the weights of a plain ViT classifier. Loading it
with the task's Auto class fails with transformers' message, a line listing every model
type it knows. Checked first, the catalog gets one short reason naming what the config
is and what the task needs, and the model is recorded as failed.
"""

from __future__ import annotations

from pathlib import Path

from scanner.tasks.base import ModelLoadError, read_config


def require_model_type(path: Path, task: str, mapping_name: str) -> dict:
    """The model's config, if its `model_type` is one `mapping_name` (a transformers
    `MODEL_FOR_..._MAPPING_NAMES` table) loads; else `ModelLoadError` with the reason."""
    from transformers.models.auto import modeling_auto

    config = read_config(path)
    known = getattr(modeling_auto, mapping_name)
    model_type = str(config.get("model_type", ""))
    if model_type not in known:
        architectures = ", ".join(config.get("architectures") or []) or "no architectures"
        raise ModelLoadError(
            f"the files contradict the {task} tag: config model_type {model_type or '?'!r} "
            f"({architectures}) has no {task} head in transformers"
        )
    return config

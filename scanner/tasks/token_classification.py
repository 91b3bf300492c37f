"""Token classification (NER and the like): top-1 agreement per real token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from scanner.tasks.base import (
    Batch,
    QualityResult,
    TaskAdapter,
    load_pretrained,
    register,
    tokenize_reference,
    top1_quality,
)


@register
class TokenClassification(TaskAdapter):
    task = "token-classification"

    def load(self, path: Path, device: str, allow_pickle: bool = False) -> torch.nn.Module:
        from transformers import AutoModelForTokenClassification

        return load_pretrained(AutoModelForTokenClassification, path, device, allow_pickle)

    def reference_batch(
        self, path: Path, model: torch.nn.Module, workload: dict[str, Any]
    ) -> Batch:
        batch_size, length = int(workload["batch_size"]), int(workload["sequence_length"])
        kwargs, _ = tokenize_reference(
            path, model, batch_size, length, pad_to_length=workload.get("pad_to_length", True)
        )
        return Batch(kwargs, batch_size, f"{batch_size}x{length} tokens")

    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        logits = model(**batch.kwargs).logits
        mask = batch.kwargs["attention_mask"].bool()
        return logits[mask]

    def quality(self, baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
        return top1_quality(baseline, variant)

"""Sequence classification: logits per sentence, compared by top-1 agreement and KL."""

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
class TextClassification(TaskAdapter):
    task = "text-classification"

    def load(self, path: Path, device: str, allow_pickle: bool = False) -> torch.nn.Module:
        from transformers import AutoModelForSequenceClassification

        return load_pretrained(AutoModelForSequenceClassification, path, device, allow_pickle)

    def reference_batch(
        self, path: Path, model: torch.nn.Module, workload: dict[str, Any]
    ) -> Batch:
        batch_size, length = int(workload["batch_size"]), int(workload["sequence_length"])
        kwargs, _ = tokenize_reference(
            path, model, batch_size, length, pad_to_length=workload.get("pad_to_length", True)
        )
        return Batch(kwargs, batch_size, f"{batch_size}x{length} tokens")

    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        return model(**batch.kwargs).logits

    def quality(self, baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
        return top1_quality(baseline, variant)

    def eval_batches(
        self, path: Path, model: torch.nn.Module, texts: list[str], workload: dict[str, Any]
    ) -> list[Batch]:
        from scanner.tasks.eval_data import tokenized_eval_batches

        batch_size, length = int(workload["batch_size"]), int(workload["sequence_length"])
        chunks = tokenized_eval_batches(path, texts, batch_size, length)
        return [Batch(kwargs, len(kwargs["input_ids"]), "labelled texts") for kwargs in chunks]

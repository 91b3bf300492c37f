"""Sequence classification: logits per sentence, compared by top-1 agreement and KL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from scanner.tasks.base import (
    Batch,
    QualityResult,
    top1_quality,
)
from scanner.tasks.eval_data import tokenized_eval_batches
from scanner.tasks.text_inputs import TextBatchAdapter


class TextClassification(TextBatchAdapter):
    task = "text-classification"
    auto_class = "AutoModelForSequenceClassification"
    predicts_classes = True

    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        return model(**batch.kwargs).logits

    def quality(self, baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
        return top1_quality(baseline, variant)

    def eval_batches(
        self, path: Path, model: torch.nn.Module, texts: list[str], workload: dict[str, Any]
    ) -> list[Batch]:
        batch_size, length = int(workload["batch_size"]), int(workload["sequence_length"])
        chunks = tokenized_eval_batches(path, texts, batch_size, length)
        return [Batch(kwargs, len(kwargs["input_ids"]), "labelled texts") for kwargs in chunks]

"""Token classification (NER and the like): top-1 agreement per real token."""

from __future__ import annotations

import torch

from scanner.tasks.base import (
    Batch,
    QualityResult,
    top1_quality,
)
from scanner.tasks.text_inputs import TextBatchAdapter


class TokenClassification(TextBatchAdapter):
    task = "token-classification"
    auto_class = "AutoModelForTokenClassification"

    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        logits = model(**batch.kwargs).logits
        mask = batch.kwargs["attention_mask"].bool()
        return logits[mask]

    def quality(self, baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
        return top1_quality(baseline, variant)

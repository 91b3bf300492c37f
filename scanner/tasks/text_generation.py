"""Causal language models: a fixed number of greedy new tokens per prompt.

Energy is measured on generation (prompt plus `new_tokens` decode steps). Quality is
measured teacher-forced on the reference prompts: agreement of the next-token argmax with
the baseline, and the ratio of the variant's perplexity to the baseline's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from scanner.tasks.base import (
    Batch,
    QualityResult,
    TaskAdapter,
)
from scanner.tasks.text_inputs import tokenize_reference


class TextGeneration(TaskAdapter):
    task = "text-generation"
    auto_class = "AutoModelForCausalLM"

    def reference_batch(
        self, path: Path, model: torch.nn.Module, workload: dict[str, Any]
    ) -> Batch:
        batch_size, length = int(workload["batch_size"]), int(workload["prompt_length"])
        new_tokens = int(workload["new_tokens"])
        kwargs, source = tokenize_reference(
            path, model, batch_size, length, pad_to_length=workload.get("pad_to_length", True)
        )
        kwargs["attention_mask"] = torch.ones_like(kwargs["input_ids"])
        kwargs["_new_tokens"] = new_tokens
        shape = f"{batch_size}x{length} tokens + {new_tokens} new"
        return Batch(kwargs, batch_size, shape, source)

    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        kwargs = _model_kwargs(batch)
        new_tokens = int(batch.kwargs["_new_tokens"])
        return model.generate(
            **kwargs,
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            pad_token_id=getattr(model.config, "pad_token_id", None) or 0,
        )

    def outputs(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        # teacher-forced logits of the prompt: deterministic, and comparable token by token
        return model(**_model_kwargs(batch)).logits

    def quality(self, baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
        base = baseline.float()[:, :-1]
        var = variant.float()[:, :-1]
        agreement = (base.argmax(-1) == var.argmax(-1)).float().mean().item()
        targets = baseline.float()[:, 1:].argmax(-1)
        nll_base = torch.nn.functional.cross_entropy(
            base.reshape(-1, base.shape[-1]), targets.reshape(-1)
        )
        nll_var = torch.nn.functional.cross_entropy(
            var.reshape(-1, var.shape[-1]), targets.reshape(-1)
        )
        ratio = torch.exp(nll_var - nll_base).item()
        return QualityResult("next_token_agreement", agreement, {"perplexity_ratio": ratio})


def _model_kwargs(batch: Batch) -> dict[str, Any]:
    return {k: v for k, v in batch.kwargs.items() if not k.startswith("_")}

"""Extractive question answering: the answer is a span of the context, a start and an end.

Each reference item is a fixed question about a context of two consecutive reference
sentences, encoded as a (question, context) pair by the model's tokenizer (or as fixed ids,
the second half being the context, when it has none). Only context tokens can start or end
an answer, as in the question-answering pipeline. Quality is span agreement: the share of
items whose start AND end argmax both equal the baseline's, since moving either boundary
changes the answer a user is shown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from scanner.tasks.base import Batch, QualityResult, TaskAdapter, load_with_head
from scanner.tasks.text_inputs import fixed_token_ids, reference_sentences, reference_tokenizer

QUESTIONS = (
    "What happened?",
    "Who or what is this about?",
    "Where did it happen?",
    "Why does it matter?",
    "What was the result?",
    "When did it happen?",
    "How much or how many?",
    "What is being compared?",
)
NOT_CONTEXT = -1e4  # logit given to positions that cannot be part of the answer


def reference_pairs(count: int) -> list[tuple[str, str]]:
    """`count` fixed (question, context) pairs built from the reference sentences."""
    firsts, seconds = reference_sentences(count), reference_sentences(count, offset=1)
    return [(QUESTIONS[i % len(QUESTIONS)], f"{firsts[i]} {seconds[i]}") for i in range(count)]


class QuestionAnswering(TaskAdapter):
    task = "question-answering"
    auto_class = "AutoModelForQuestionAnswering"

    def load(self, path: Path, device: str, allow_pickle: bool = False) -> torch.nn.Module:
        import transformers

        return load_with_head(
            transformers.AutoModelForQuestionAnswering,
            path,
            device,
            allow_pickle,
            "question-answering (span)",
        )

    def reference_batch(
        self, path: Path, model: torch.nn.Module, workload: dict[str, Any]
    ) -> Batch:
        batch_size, length = int(workload["batch_size"]), int(workload["sequence_length"])
        pad_to_length = workload.get("pad_to_length", True)
        tokenizer = reference_tokenizer(path)
        if tokenizer is not None:
            pairs = reference_pairs(batch_size)
            encoded = tokenizer(
                [q for q, _c in pairs],
                [c for _q, c in pairs],
                padding="max_length" if pad_to_length else "longest",
                truncation="only_second",
                max_length=length,
                return_tensors="pt",
            )
            context = _context_positions(encoded, batch_size)
            kwargs: dict[str, Any] = dict(encoded)
            source = "tokenizer"
        else:
            ids = fixed_token_ids(model, batch_size, length)
            kwargs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
            context = torch.zeros_like(ids, dtype=torch.bool)
            context[:, length // 2 :] = True
            source = "fixed-token-ids"
        kwargs["_context"] = context
        return Batch(kwargs, batch_size, f"{batch_size}x{length} tokens", source)

    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        inputs = {k: v for k, v in batch.kwargs.items() if not k.startswith("_")}
        output = model(**inputs)
        logits = torch.stack([output.start_logits, output.end_logits], dim=1).float()
        context = batch.kwargs["_context"].unsqueeze(1)
        return logits.masked_fill(~context, NOT_CONTEXT)  # (items, start/end, positions)

    def quality(self, baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
        base, var = baseline.float().argmax(-1), variant.float().argmax(-1)
        same = base == var  # (items, 2): start, end
        return QualityResult(
            "span_agreement",
            same.all(dim=1).float().mean().item(),
            {
                "start_agreement": same[:, 0].float().mean().item(),
                "end_agreement": same[:, 1].float().mean().item(),
            },
        )


def _context_positions(encoded: Any, batch_size: int) -> torch.Tensor:
    """True at the context's tokens: the second sequence of each encoded pair."""
    try:
        return torch.tensor(
            [[sequence == 1 for sequence in encoded.sequence_ids(i)] for i in range(batch_size)]
        )
    except (ValueError, AttributeError):  # a slow tokenizer has no sequence ids
        if "token_type_ids" in encoded:
            return encoded["token_type_ids"].bool() & encoded["attention_mask"].bool()
        return encoded["attention_mask"].bool()

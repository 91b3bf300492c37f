"""Encoder-decoder generation: summarization, translation and text2text-generation.

The three pipeline tags run the same models (T5, BART, Marian, Pegasus, ...) the same way:
encode a source text, then decode new tokens. Energy is measured on generation from the
reference sentences as sources, greedy, with exactly `new_tokens` new tokens (end of text
is suppressed until then), like causal text generation: the work per query is fixed, so
numbers compare. Quality is teacher-forced, as for causal LMs: the decoder reads a fixed
target (the next reference sentence) and the next-token argmax at each real target position
is compared with the baseline's, with the perplexity ratio as an extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from scanner.tasks.base import Batch, QualityResult, TaskAdapter, load_with_head
from scanner.tasks.text_inputs import (
    fixed_token_ids,
    reference_sentences,
    reference_tokenizer,
    tokenize_reference,
)


class Seq2SeqGeneration(TaskAdapter):
    task = "text2text-generation"
    auto_class = "AutoModelForSeq2SeqLM"

    def load(self, path: Path, device: str, allow_pickle: bool = False) -> torch.nn.Module:
        import transformers

        return load_with_head(
            transformers.AutoModelForSeq2SeqLM,
            path,
            device,
            allow_pickle,
            "encoder-decoder language-model",
        )

    def reference_batch(
        self, path: Path, model: torch.nn.Module, workload: dict[str, Any]
    ) -> Batch:
        batch_size, length = int(workload["batch_size"]), int(workload["source_length"])
        new_tokens = int(workload["new_tokens"])
        kwargs: dict[str, Any]
        kwargs, source = tokenize_reference(
            path, model, batch_size, length, pad_to_length=workload.get("pad_to_length", True)
        )
        kwargs = {k: kwargs[k] for k in ("input_ids", "attention_mask")}
        targets, target_mask = _teacher_targets(path, model, batch_size, new_tokens, source)
        kwargs["_decoder_input_ids"] = targets
        kwargs["_decoder_attention_mask"] = target_mask
        kwargs["_new_tokens"] = new_tokens
        shape = f"{batch_size}x{length} source tokens + {new_tokens} new"
        return Batch(kwargs, batch_size, shape, source)

    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        new_tokens = int(batch.kwargs["_new_tokens"])
        config = model.config
        pad = getattr(config, "pad_token_id", None)
        return model.generate(
            input_ids=batch.kwargs["input_ids"],
            attention_mask=batch.kwargs["attention_mask"],
            max_new_tokens=new_tokens,
            min_new_tokens=new_tokens,
            do_sample=False,
            num_beams=1,
            pad_token_id=pad if pad is not None else 0,
        )

    def outputs(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        logits = model(
            input_ids=batch.kwargs["input_ids"],
            attention_mask=batch.kwargs["attention_mask"],
            decoder_input_ids=batch.kwargs["_decoder_input_ids"],
            decoder_attention_mask=batch.kwargs["_decoder_attention_mask"],
        ).logits
        return logits[batch.kwargs["_decoder_attention_mask"].bool()]  # (real positions, vocab)

    def quality(self, baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
        base, var = baseline.float(), variant.float()
        agreement = (base.argmax(-1) == var.argmax(-1)).float().mean().item()
        targets = base.argmax(-1)  # the baseline's own next token at each target position
        nll_base = torch.nn.functional.cross_entropy(base, targets)
        nll_var = torch.nn.functional.cross_entropy(var, targets)
        ratio = torch.exp(nll_var - nll_base).item()
        return QualityResult("next_token_agreement", agreement, {"perplexity_ratio": ratio})


class Summarization(Seq2SeqGeneration):
    task = "summarization"


class Translation(Seq2SeqGeneration):
    task = "translation"


def _teacher_targets(
    path: Path, model: torch.nn.Module, batch_size: int, new_tokens: int, source: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decoder inputs for the teacher-forced pass: the start token, then the next reference
    sentence, `new_tokens` positions in all (right padded)."""
    config = model.config
    start = getattr(config, "decoder_start_token_id", None)
    if start is None:
        start = getattr(config, "bos_token_id", None) or 0
    tokenizer = reference_tokenizer(path) if source == "tokenizer" else None
    if tokenizer is not None:
        encoded = tokenizer(
            reference_sentences(batch_size, offset=1),
            padding="max_length",
            truncation=True,
            max_length=new_tokens - 1,
            return_tensors="pt",
        )
        ids, mask = encoded["input_ids"], encoded["attention_mask"]
    else:
        ids = fixed_token_ids(model, batch_size, new_tokens - 1)
        mask = torch.ones_like(ids)
    first = torch.full((batch_size, 1), int(start), dtype=ids.dtype)
    return torch.cat([first, ids], 1), torch.cat([torch.ones_like(first), mask], 1)

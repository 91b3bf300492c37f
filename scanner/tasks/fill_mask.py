"""Fill-mask (masked language models): predict the tokens hidden behind the mask token.

The reference sentences are tokenized as for every text task, and a fixed, seeded choice of
their real tokens (about 15 %, at least one per sentence, as in BERT's pre-training) is
replaced by the tokenizer's mask token. Energy is the whole forward pass, the vocabulary
projection at every position included (what the fill-mask pipeline runs). Quality is the
top-1 agreement of the predictions at the masked positions, with KL as an extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from scanner.tasks.base import Batch, QualityResult, TaskAdapter, load_with_head, top1_quality
from scanner.tasks.text_inputs import reference_tokenizer, tokenize_reference

MASKED_SHARE = 0.15
FALLBACK_MASK_ID = 4  # fixed token ids are drawn from 5 up, so this id never collides


class FillMask(TaskAdapter):
    task = "fill-mask"
    auto_class = "AutoModelForMaskedLM"

    def load(self, path: Path, device: str, allow_pickle: bool = False) -> torch.nn.Module:
        import transformers

        return load_with_head(
            transformers.AutoModelForMaskedLM, path, device, allow_pickle, "masked-LM"
        )

    def reference_batch(
        self, path: Path, model: torch.nn.Module, workload: dict[str, Any]
    ) -> Batch:
        batch_size, length = int(workload["batch_size"]), int(workload["sequence_length"])
        kwargs, source = tokenize_reference(
            path, model, batch_size, length, pad_to_length=workload.get("pad_to_length", True)
        )
        tokenizer = reference_tokenizer(path) if source == "tokenizer" else None
        mask_id = getattr(tokenizer, "mask_token_id", None)
        if mask_id is None:
            mask_id = getattr(model.config, "mask_token_id", None) or FALLBACK_MASK_ID
        special = _special_token_mask(kwargs, tokenizer)
        masked = choose_masked_positions(kwargs["attention_mask"].bool() & ~special)
        kwargs["input_ids"] = kwargs["input_ids"].masked_fill(masked, int(mask_id))
        kwargs["_masked"] = masked
        return Batch(kwargs, batch_size, f"{batch_size}x{length} tokens", source)

    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        inputs = {k: v for k, v in batch.kwargs.items() if not k.startswith("_")}
        logits = model(**inputs).logits
        return logits[batch.kwargs["_masked"]]  # (masked positions, vocabulary)

    def quality(self, baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
        return top1_quality(baseline, variant)


def choose_masked_positions(candidates: torch.Tensor, share: float = MASKED_SHARE) -> torch.Tensor:
    """A seeded choice of `share` of each row's candidate positions (at least one)."""
    generator = torch.Generator().manual_seed(0)
    masked = torch.zeros_like(candidates)
    for row in range(candidates.shape[0]):
        positions = candidates[row].nonzero().flatten()
        if positions.numel() == 0:
            continue
        count = max(1, round(positions.numel() * share))
        chosen = positions[torch.randperm(positions.numel(), generator=generator)[:count]]
        masked[row, chosen] = True
    return masked


def _special_token_mask(kwargs: dict[str, torch.Tensor], tokenizer: Any) -> torch.Tensor:
    """True at [CLS], [SEP] and the like (never masked); nothing is special in fixed ids."""
    ids = kwargs["input_ids"]
    if tokenizer is None:
        return torch.zeros_like(ids, dtype=torch.bool)
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    special.discard(getattr(tokenizer, "unk_token_id", None))  # an unknown word is a word
    return torch.tensor([[int(t) in special for t in row] for row in ids.tolist()])

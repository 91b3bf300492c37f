"""Text inputs: the reference sentences tokenized to the scheme's workload.

Every text task measures the same sentences (`reference_text`), tokenized by the model's
own tokenizer, or as fixed token ids when the model has none; which of the two was used is
returned so the run can record it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from scanner.tasks.base import Batch, TaskAdapter
from scanner.tasks.reference_text import REFERENCE_SENTENCES

TOKENIZER_FILES = (
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "spiece.model",
    "sentencepiece.bpe.model",
)


class TextBatchAdapter(TaskAdapter):
    """Text tasks whose workload is `batch_size` sentences of `sequence_length` tokens."""

    def reference_batch(
        self, path: Path, model: torch.nn.Module, workload: dict[str, Any]
    ) -> Batch:
        batch_size, length = int(workload["batch_size"]), int(workload["sequence_length"])
        kwargs, source = tokenize_reference(
            path, model, batch_size, length, pad_to_length=workload.get("pad_to_length", True)
        )
        return Batch(kwargs, batch_size, f"{batch_size}x{length} tokens", source)


def reference_tokenizer(path: Path) -> Any | None:
    """The model's own tokenizer, or None when it has none (or it cannot be loaded)."""
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        return None
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(
            str(path), local_files_only=True, trust_remote_code=False
        )
    except Exception:  # a broken tokenizer falls back to fixed ids, recorded as such
        return None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


def reference_sentences(
    count: int, offset: int = 0, sentences: Sequence[str] = REFERENCE_SENTENCES
) -> list[str]:
    """`count` of `sentences` (the reference sentences), cycling, starting at `offset`."""
    return [sentences[(i + offset) % len(sentences)] for i in range(count)]


def fixed_token_ids(model: torch.nn.Module, batch_size: int, sequence_length: int) -> torch.Tensor:
    """Seeded token ids for a model without a tokenizer (ids below 5 are left to specials)."""
    vocab_size = int(getattr(model.config, "vocab_size", 1000))
    generator = torch.Generator().manual_seed(0)
    return torch.randint(5, max(vocab_size, 6), (batch_size, sequence_length), generator=generator)


def tokenize_reference(
    path: Path,
    model: torch.nn.Module,
    batch_size: int,
    sequence_length: int,
    pad_to_length: bool = True,
    prefix: str = "",
    sentences: Sequence[str] = REFERENCE_SENTENCES,
) -> tuple[dict[str, torch.Tensor], str]:
    """Tokenize the reference sentences, or use fixed token ids when there is no tokenizer.

    The energy workload pads every sentence to `sequence_length` so that numbers compare;
    quality batches (`pad_to_length=False`) pad to the longest sentence, as a server would.
    `prefix` (a prompt some embedding models prepend) is put before each sentence;
    `sentences` are taken in order and repeated when the batch is longer.
    """
    texts = [prefix + s for s in reference_sentences(batch_size, sentences=sentences)]
    tokenizer = reference_tokenizer(path)
    if tokenizer is not None:
        encoded = tokenizer(
            texts,
            padding="max_length" if pad_to_length else "longest",
            truncation=True,
            max_length=sequence_length,
            return_tensors="pt",
        )
        return dict(encoded), "tokenizer"
    ids = fixed_token_ids(model, batch_size, sequence_length)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}, "fixed-token-ids"

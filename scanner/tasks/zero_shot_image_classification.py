"""Zero-shot image classification, CLIP-style: seeded images scored against fixed prompts.

Each call encodes the images and the label prompts, as the transformers pipeline does, so
both towers are measured. The prompts are tokenized by the model's tokenizer, or become
fixed token ids (ending in the config's end-of-text id, where CLIP pools) without one.
Quality is the top-1 agreement over the prompts, and the KL divergence of the
prompt distribution, against the baseline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from scanner.tasks.architecture_check import require_model_type
from scanner.tasks.base import Batch, QualityResult, TaskAdapter, load_pretrained, top1_quality
from scanner.tasks.image_inputs import model_image_size, seeded_pixels
from scanner.tasks.text_inputs import TOKENIZER_FILES

ZERO_SHOT_TYPES = "MODEL_FOR_ZERO_SHOT_IMAGE_CLASSIFICATION_MAPPING_NAMES"
LABEL_PROMPTS: tuple[str, ...] = (
    "a photo of a cat",
    "a photo of a dog",
    "a photo of a car",
    "a photo of a bird",
    "a photo of a house",
    "a photo of a tree",
    "a photo of a person",
    "a photo of a boat",
    "a photo of a bicycle",
    "a photo of a flower",
)
FIXED_PROMPT_TOKENS = 8  # start, six word ids, end: about what a CLIP tokenizer makes


class ZeroShotImageClassification(TaskAdapter):
    task = "zero-shot-image-classification"
    auto_class = "AutoModelForZeroShotImageClassification"

    def load(self, path: Path, device: str, allow_pickle: bool = False) -> torch.nn.Module:
        import transformers

        require_model_type(path, self.task, ZERO_SHOT_TYPES)
        return load_pretrained(getattr(transformers, self.auto_class), path, device, allow_pickle)

    def reference_batch(
        self, path: Path, model: torch.nn.Module, workload: dict[str, Any]
    ) -> Batch:
        batch_size = int(workload["batch_size"])
        vision = getattr(model.config, "vision_config", model.config)
        size = model_image_size(vision, int(workload["image_size"]))
        channels = int(getattr(vision, "num_channels", 3))
        pixels = seeded_pixels(batch_size, channels, size)
        prompts, source = prompt_tokens(path, model)
        shape = f"{batch_size}x{channels}x{size}x{size} + {len(LABEL_PROMPTS)} prompts"
        # the prompts are a dict, not tensors of the batch, so splitting never cuts them
        kwargs = {"pixel_values": pixels, "_prompts": prompts}
        return Batch(kwargs, batch_size, shape, f"seeded-random-pixels+{source}")

    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        pixels = batch.kwargs["pixel_values"]
        prompts = {k: v.to(pixels.device) for k, v in batch.kwargs["_prompts"].items()}
        return model(pixel_values=pixels, **prompts).logits_per_image

    def quality(self, baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
        return top1_quality(baseline, variant)


def prompt_tokens(path: Path, model: torch.nn.Module) -> tuple[dict[str, torch.Tensor], str]:
    """The label prompts as the model's tokenizer encodes them, or as fixed ids."""
    if any((path / name).is_file() for name in TOKENIZER_FILES):
        try:
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(
                str(path), local_files_only=True, trust_remote_code=False
            )
            encoded = tokenizer(list(LABEL_PROMPTS), padding="longest", return_tensors="pt")
            return {k: encoded[k] for k in ("input_ids", "attention_mask") if k in encoded}, (
                "tokenizer"
            )
        except Exception:  # a broken tokenizer falls back to fixed ids, recorded as such
            pass
    text = getattr(model.config, "text_config", model.config)
    vocab_size = int(getattr(text, "vocab_size", 1000))
    eos = getattr(text, "eos_token_id", None)
    # CLIP pools where the end-of-text id is; legacy configs (eos 2) pool at the largest id,
    # which is the end-of-text id of the real tokenizer: either way it is the last token
    end = eos if isinstance(eos, int) and 2 < eos < vocab_size else vocab_size - 1
    generator = torch.Generator().manual_seed(0)
    shape = (len(LABEL_PROMPTS), FIXED_PROMPT_TOKENS)
    ids = torch.randint(5, max(vocab_size, 6), shape, generator=generator)
    ids[ids >= end] = 5
    ids[:, -1] = end
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}, "fixed-token-ids"

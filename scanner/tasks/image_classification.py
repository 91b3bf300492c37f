"""Image classification on fixed synthetic images (seeded), compared by top-1 agreement and KL.

No image data set can be downloaded at scan time, so the reference inputs are seeded
random pixel tensors at the model's input size. They exercise exactly the same compute as
real photos; quality on real labelled images needs `--eval-data`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from scanner.tasks.base import (
    Batch,
    QualityResult,
    TaskAdapter,
    top1_quality,
)
from scanner.tasks.image_inputs import model_image_size, seeded_pixels


class ImageClassification(TaskAdapter):
    task = "image-classification"
    auto_class = "AutoModelForImageClassification"
    predicts_classes = True

    def reference_batch(
        self, path: Path, model: torch.nn.Module, workload: dict[str, Any]
    ) -> Batch:
        batch_size = int(workload["batch_size"])
        size = model_image_size(model.config, int(workload["image_size"]))
        channels = int(getattr(model.config, "num_channels", 3))
        pixels = seeded_pixels(batch_size, channels, size)
        shape = f"{batch_size}x{channels}x{size}x{size}"
        return Batch({"pixel_values": pixels}, batch_size, shape, "seeded-random-pixels")

    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        return model(**batch.kwargs).logits

    def quality(self, baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
        return top1_quality(baseline, variant)

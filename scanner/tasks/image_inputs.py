"""Seeded synthetic pixels: the reference images of every vision task.

No image data set can be downloaded at scan time, so vision tasks run on seeded random
pixel tensors. They exercise the same compute as photos of that size; what the model
predicts on them is compared with the baseline's, never with labels.
"""

from __future__ import annotations

from typing import Any

import torch


def model_image_size(config: Any, default: int) -> int:
    """The input size a config fixes (`image_size`, an int, list or dict), else `default`."""
    size = getattr(config, "image_size", None)
    if isinstance(size, (list, tuple)):
        size = size[0]
    if isinstance(size, dict):
        size = size.get("height") or size.get("shortest_edge")
    return int(size) if size else default


def seeded_pixels(batch_size: int, channels: int, size: int, seed: int = 0) -> torch.Tensor:
    """`batch_size` images of `channels` x `size` x `size`, standard normal, from `seed`."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch_size, channels, size, size, generator=generator)

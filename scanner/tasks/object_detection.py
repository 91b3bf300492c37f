"""Object detection, DETR-style (DETR, YOLOS, RT-DETR, ...): a fixed set of query slots.

Every image goes in at the workload's size (these models take any size; a DETR's own
800-pixel short side would make the CPU workload minutes long), as seeded pixels.
A DETR-style model answers with one (class, box) per query slot, and a variant of the
same model keeps the slots in order, so each slot is compared with itself.

The gated metric, `detection_iou`, is judged on the detections a user keeps: the
baseline's `TOP_DETECTIONS` most confident slots per image. Each scores the IoU of the
variant's box with the baseline's for that slot, or 0 when the variant changed its class;
the mean is the metric. Class agreement and box IoU alone are stored beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from scanner.tasks.architecture_check import require_model_type
from scanner.tasks.base import Batch, QualityResult, TaskAdapter, load_pretrained
from scanner.tasks.image_inputs import seeded_pixels

TOP_DETECTIONS = 10  # per image: about what a COCO photo holds (7.3 objects on average)
DETECTION_TYPES = "MODEL_FOR_OBJECT_DETECTION_MAPPING_NAMES"


class ObjectDetection(TaskAdapter):
    task = "object-detection"
    auto_class = "AutoModelForObjectDetection"

    def load(self, path: Path, device: str, allow_pickle: bool = False) -> torch.nn.Module:
        import transformers

        require_model_type(path, self.task, DETECTION_TYPES)
        return load_pretrained(getattr(transformers, self.auto_class), path, device, allow_pickle)

    def reference_batch(
        self, path: Path, model: torch.nn.Module, workload: dict[str, Any]
    ) -> Batch:
        batch_size, size = int(workload["batch_size"]), int(workload["image_size"])
        channels = int(getattr(model.config, "num_channels", 3))
        pixels = seeded_pixels(batch_size, channels, size)
        shape = f"{batch_size}x{channels}x{size}x{size}"
        return Batch({"pixel_values": pixels}, batch_size, shape, "seeded-random-pixels")

    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        return model(**batch.kwargs).logits

    def outputs(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        """Per image and query slot: (class, confidence, cx, cy, w, h)."""
        result = model(**batch.kwargs)
        logits, boxes = result.logits.float(), result.pred_boxes.float()
        num_labels = int(getattr(model.config, "num_labels", logits.shape[-1]))
        if logits.shape[-1] == num_labels + 1:  # softmax with a trailing "no object" class
            probabilities = logits.softmax(-1)[..., :-1]
        else:  # sigmoid per class (RT-DETR, Deformable and Conditional DETR)
            probabilities = logits.sigmoid()
        confidence, label = probabilities.max(-1)
        return torch.cat([label[..., None].float(), confidence[..., None], boxes], dim=-1)

    def quality(self, baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
        return detection_quality(baseline, variant, TOP_DETECTIONS)


def detection_quality(baseline: torch.Tensor, variant: torch.Tensor, top: int) -> QualityResult:
    """Compare (class, confidence, box) per slot on the baseline's `top` slots per image."""
    k = min(top, baseline.shape[1])
    kept = baseline[..., 1].topk(k, dim=1).indices  # (images, k)
    index = kept[..., None].expand(-1, -1, baseline.shape[-1])
    base, var = baseline.gather(1, index), variant.gather(1, index)
    same_class = (base[..., 0] == var[..., 0]).float()
    iou = box_iou(base[..., 2:6], var[..., 2:6])
    all_slots = (baseline[..., 0] == variant[..., 0]).float().mean().item()
    return QualityResult(
        "detection_iou",
        (iou * same_class).mean().item(),
        {
            "class_agreement": same_class.mean().item(),
            "box_iou": iou.mean().item(),
            "class_agreement_all_queries": all_slots,
        },
    )


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Elementwise IoU of boxes given as (cx, cy, w, h)."""
    a_lo, a_hi = a[..., :2] - a[..., 2:] / 2, a[..., :2] + a[..., 2:] / 2
    b_lo, b_hi = b[..., :2] - b[..., 2:] / 2, b[..., :2] + b[..., 2:] / 2
    overlap = (torch.minimum(a_hi, b_hi) - torch.maximum(a_lo, b_lo)).clamp(min=0).prod(-1)
    union = a[..., 2:].prod(-1) + b[..., 2:].prod(-1) - overlap
    return torch.where(union > 0, overlap / union.clamp(min=1e-12), torch.ones_like(union))

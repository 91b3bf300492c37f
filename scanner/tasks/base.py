"""The adapter interface (the registry of supported tasks is `scanner.tasks.registry`).

An adapter knows, for one task, which transformers class loads the model, how to build the
reference inputs of the scheme's workload, how to run one batch, and how to compare a
variant's outputs with the baseline's.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from labels.errors import first_line

QUALITY_ITEMS = 32  # reference items quality is judged on (embeddings: 128, feature_extraction.py)


class UnsupportedTask(Exception):
    """No adapter for this task; the scan records the model as skipped with this reason."""


class ModelLoadError(Exception):
    """The model could not be loaded; the message is the reason recorded in the catalog."""


class LoadRefused(ModelLoadError):
    """We will not load this model (repository code, pickle weights): skipped, not failed."""


@dataclass(frozen=True)
class QualityResult:
    """How close a variant's outputs are to the baseline's; `value` is the gated metric."""

    metric: str
    value: float
    extra: dict[str, float] = field(default_factory=dict)


@dataclass
class Batch:
    """Reference inputs for one forward call and the number of inferences it counts for."""

    kwargs: dict[str, Any]
    inferences: int
    input_shape: str
    # Where the inputs came from, recorded in the run's provenance: "tokenizer" or
    # "fixed-token-ids" for text (a model without a tokenizer), "synthetic-pixels", ...
    source: str = ""

    def split(self, size: int) -> list[Batch]:
        """Consecutive batches of at most `size` items; non-tensor entries are shared."""
        if size < 1:
            raise ValueError(f"chunk size must be at least 1, not {size}")
        chunks: list[Batch] = []
        for start in range(0, self.inferences, size):
            stop = min(start + size, self.inferences)
            kwargs = {
                k: v[start:stop]
                if isinstance(v, torch.Tensor) and v.dim() > 0 and v.shape[0] == self.inferences
                else v
                for k, v in self.kwargs.items()
            }
            shape = self.input_shape.replace(str(self.inferences), str(stop - start), 1)
            chunks.append(Batch(kwargs, stop - start, shape, self.source))
        return chunks

    def cast(self, dtype: torch.dtype | None) -> Batch:
        """Floating-point inputs (pixels) cast to `dtype`, for a half-precision variant."""
        if dtype is None:
            return self
        kwargs = {
            k: v.to(dtype) if isinstance(v, torch.Tensor) and v.is_floating_point() else v
            for k, v in self.kwargs.items()
        }
        return Batch(kwargs, self.inferences, self.input_shape, self.source)

    def to(self, device: str) -> Batch:
        moved = {
            k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in self.kwargs.items()
        }
        return Batch(moved, self.inferences, self.input_shape, self.source)


# Reference inputs drawn from the model's own vocabulary: another model reads them differently.
MODEL_SPECIFIC_INPUTS = ("fixed-token-ids",)


class TaskAdapter(ABC):
    task: str = ""
    auto_class: str = ""  # the transformers Auto class that loads the task's models
    predicts_classes: bool = False  # `outputs` are class logits, one row per input item

    def top1_labels(
        self, model: torch.nn.Module, outputs: torch.Tensor, batch: Batch
    ) -> dict[str, Any] | None:
        """The predicted class name of each quality input, with the model's label set.

        Stored with a classifier's baseline, so two classifiers with the same label set can
        be compared by their top-1 agreement on the same inputs (`labeler alternatives`).
        None for other tasks, and where the inputs are the model's own (random token ids of
        its vocabulary), which another model would not see as the same text.
        """
        if not self.predicts_classes or batch.source in MODEL_SPECIFIC_INPUTS:
            return None
        if outputs.dim() != 2:
            return None
        id2label = getattr(model.config, "id2label", None) or {}
        names = [str(id2label.get(i, id2label.get(str(i), i))) for i in range(outputs.shape[1])]
        return {
            "labels": names,
            "top1": [names[i] for i in outputs.argmax(dim=-1).tolist()],
            "inputs": f"{batch.source}:{batch.input_shape}",
        }

    def load(self, path: Path, device: str, allow_pickle: bool = False) -> torch.nn.Module:
        """Load the model from a local directory, never running repository code."""
        import transformers

        return load_pretrained(getattr(transformers, self.auto_class), path, device, allow_pickle)

    @abstractmethod
    def reference_batch(
        self, path: Path, model: torch.nn.Module, workload: dict[str, Any]
    ) -> Batch:
        """The scheme's reference workload as one batch of inputs."""

    def quality_batch(self, path: Path, model: torch.nn.Module, workload: dict[str, Any]) -> Batch:
        """Inputs quality is judged on: all reference items, shaped like the workload.

        The harness runs it in chunks of the workload's batch size, so a variant is judged on
        exactly the shapes it was measured on (and a compiled model is not recompiled).
        """
        return self.reference_batch(path, model, {**workload, "batch_size": QUALITY_ITEMS})

    @abstractmethod
    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        """One inference call on the batch: the work that is measured."""

    def outputs(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        """The outputs quality is judged on; by default those of `run`."""
        return self.run(model, batch)

    @abstractmethod
    def quality(self, baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
        """Compare a variant's outputs with the baseline's."""

    def eval_batches(
        self, path: Path, model: torch.nn.Module, texts: list[str], workload: dict[str, Any]
    ) -> list[Batch]:
        """Labelled texts as batches whose `outputs` are class logits (`--eval-data`)."""
        raise UnsupportedTask(f"labelled accuracy is not defined for {self.task} here")


def read_config(path: Path) -> dict[str, Any]:
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ModelLoadError(f"not a model folder (no config.json): {path}")
    try:
        return json.loads(config_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"config.json is not valid JSON: {exc}") from None


def check_loadable(path: Path, allow_pickle: bool) -> None:
    """Refuse what we never run: repository code, and pickle weights unless opted in."""
    config = read_config(path)
    if "auto_map" in config:
        raise LoadRefused("needs trust_remote_code (repository code is never run)")
    has_safetensors = any(path.glob("*.safetensors"))
    has_pickle = any(path.glob("*.bin")) or any(path.glob("*.pt"))
    if not has_safetensors and not has_pickle:
        raise ModelLoadError(f"no weights file in {path}")
    if not has_safetensors and not allow_pickle:
        raise LoadRefused(
            "only pickle weights (pass --allow-pickle to load them with weights_only=True)"
        )


def load_pretrained(
    auto_class: Any, path: Path, device: str, allow_pickle: bool
) -> torch.nn.Module:
    """`from_pretrained` with remote code off, safetensors preferred, errors made one line."""
    check_loadable(path, allow_pickle)
    try:
        model = auto_class.from_pretrained(
            str(path),
            trust_remote_code=False,
            use_safetensors=None if allow_pickle else True,
            local_files_only=True,
        )
    except Exception as exc:  # transformers raises many types for a broken checkpoint
        raise ModelLoadError(f"load error: {first_line(exc)}") from None
    return model.to(device).eval()


def load_with_head(
    auto_class: Any, path: Path, device: str, allow_pickle: bool, head: str
) -> torch.nn.Module:
    """`load_pretrained`, but a checkpoint without the task's head is a load error.

    transformers fills the weights a checkpoint lacks with random values and only warns,
    so a "fill-mask" repo holding a bare encoder would be measured as if it had a masked-LM
    head. A missing weight matrix (a parameter of two or more dimensions; tied weights are
    not reported missing) means the files contradict the task: the model is failed.
    """
    check_loadable(path, allow_pickle)
    try:
        model, info = auto_class.from_pretrained(
            str(path),
            trust_remote_code=False,
            use_safetensors=None if allow_pickle else True,
            local_files_only=True,
            output_loading_info=True,
        )
    except Exception as exc:  # transformers raises many types for a broken checkpoint
        raise ModelLoadError(f"load error: {first_line(exc)}") from None
    parameters = dict(model.named_parameters())
    missing = sorted(
        key
        for key in info.get("missing_keys", ())
        if key in parameters and parameters[key].dim() >= 2
    )
    if missing:
        raise ModelLoadError(
            f"the checkpoint has no {head} head ({len(missing)} weight matrices missing, "
            f"e.g. {missing[0]}): its files contradict the task"
        )
    return model.to(device).eval()


def top1_quality(baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
    """Top-1 agreement and KL(baseline || variant) over the last dimension."""
    base = baseline.float().reshape(-1, baseline.shape[-1])
    var = variant.float().reshape(-1, variant.shape[-1])
    agreement = (base.argmax(-1) == var.argmax(-1)).float().mean().item()
    log_p = torch.log_softmax(base, -1)
    log_q = torch.log_softmax(var, -1)
    kl = torch.sum(log_p.exp() * (log_p - log_q), -1).mean().item()
    return QualityResult("top1_agreement", agreement, {"kl_divergence": max(kl, 0.0)})

"""Speech recognition, Whisper-style (encoder-decoder): a fixed number of new tokens per clip.

Energy is measured on generation: the encoder over the clip's log-mel window, then
`new_tokens` greedy decoder steps. Quality is teacher-forced: the baseline's own greedy
tokens are computed once on the quality clips, and each variant's decoder is fed those
tokens; the gated metric is the share of positions where the variant's argmax is the
baseline's token (so one early slip does not count for the rest of the transcript).

CTC models (wav2vec2, HuBERT) share the task tag but have no decoder to generate with;
they are skipped with that reason rather than measured with the wrong workload.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from scanner.tasks.architecture_check import require_model_type
from scanner.tasks.audio_inputs import log_mel_features
from scanner.tasks.base import Batch, LoadRefused, QualityResult, TaskAdapter, load_pretrained

QUALITY_CLIPS = 8  # clips quality is judged on: 8 x new_tokens token decisions
SPEECH_SEQ2SEQ_TYPES = "MODEL_FOR_SPEECH_SEQ_2_SEQ_MAPPING_NAMES"


class AutomaticSpeechRecognition(TaskAdapter):
    task = "automatic-speech-recognition"
    auto_class = "AutoModelForSpeechSeq2Seq"

    def load(self, path: Path, device: str, allow_pickle: bool = False) -> torch.nn.Module:
        import transformers

        from scanner.tasks.base import read_config

        architectures = read_config(path).get("architectures") or []
        if any(str(a).endswith("ForCTC") for a in architectures):
            raise LoadRefused(
                f"CTC speech models ({', '.join(architectures)}) are not measured: the "
                "speech adapter generates with encoder-decoder (Whisper-style) models"
            )
        require_model_type(path, self.task, SPEECH_SEQ2SEQ_TYPES)
        return load_pretrained(getattr(transformers, self.auto_class), path, device, allow_pickle)

    def reference_batch(
        self, path: Path, model: torch.nn.Module, workload: dict[str, Any]
    ) -> Batch:
        clips, new_tokens = int(workload["batch_size"]), int(workload["new_tokens"])
        features, source = log_mel_features(path, model, clips, float(workload["audio_seconds"]))
        name = getattr(model, "main_input_name", "input_features")
        frames = "x".join(str(d) for d in features.shape[1:])
        shape = f"{clips}x{frames} log-mel + {new_tokens} new tokens"
        kwargs = {name: features, "_new_tokens": new_tokens}
        return Batch(kwargs, clips, shape, source)

    def quality_batch(self, path: Path, model: torch.nn.Module, workload: dict[str, Any]) -> Batch:
        """The quality clips with the baseline's greedy tokens (prompt included) attached."""
        batch = self.reference_batch(path, model, {**workload, "batch_size": QUALITY_CLIPS})
        device = next(model.parameters()).device
        inputs = _model_kwargs(batch.to(str(device)))
        with torch.inference_mode():
            generated = model.generate(
                **inputs,
                **_greedy(model, int(workload["new_tokens"])),
                return_dict_in_generate=True,
            )
        sequences = generated.sequences.cpu()
        new_tokens = int(workload["new_tokens"])
        batch.kwargs["decoder_input_ids"] = sequences[:, :-1]
        batch.kwargs["_scored_from"] = max(sequences.shape[1] - 1 - new_tokens, 0)
        return batch

    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        return model.generate(
            **_model_kwargs(batch), **_greedy(model, int(batch.kwargs["_new_tokens"]))
        )

    def outputs(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        """Decoder logits at the new-token positions, fed the baseline's tokens."""
        logits = model(**_model_kwargs(batch)).logits
        return logits[:, int(batch.kwargs["_scored_from"]) :]

    def quality(self, baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
        base, var = baseline.float(), variant.float()
        tokens = base.argmax(-1)  # the baseline's greedy tokens themselves
        agreement = (var.argmax(-1) == tokens).float().mean().item()
        flat_base = base.reshape(-1, base.shape[-1])
        flat_var = var.reshape(-1, var.shape[-1])
        nll_base = torch.nn.functional.cross_entropy(flat_base, tokens.reshape(-1))
        nll_var = torch.nn.functional.cross_entropy(flat_var, tokens.reshape(-1))
        ratio = torch.exp(nll_var - nll_base).item()
        return QualityResult("token_agreement", agreement, {"perplexity_ratio": ratio})


def _greedy(model: torch.nn.Module, new_tokens: int) -> dict[str, Any]:
    return {"max_new_tokens": new_tokens, "min_new_tokens": new_tokens, "do_sample": False}


def _model_kwargs(batch: Batch) -> dict[str, Any]:
    return {k: v for k, v in batch.kwargs.items() if not k.startswith("_")}

"""Sentence similarity: the embedding a sentence-transformers folder defines, without the library.

A sentence-transformers model is a pipeline written down in `modules.json`: the transformer,
then a pooling module (`1_Pooling/config.json`: mean, CLS, max, last token, ...) and often a
`Normalize` module. Scanning it as a bare `feature-extraction` encoder (always mean pooled,
always normalised) measures the right compute but compares the wrong vector for a CLS or
last-token model. This adapter follows the folder's own modules, so the embedding it judges
is the one `SentenceTransformer.encode` returns, and reuses the embedding quality gate of
`FeatureExtraction`. A folder without `modules.json` (a plain transformers encoder tagged
sentence-similarity, or the scheme's reference config) is mean pooled and normalised.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from scanner.tasks.base import Batch, ModelLoadError
from scanner.tasks.feature_extraction import FeatureExtraction
from scanner.tasks.reference_text import QUALITY_SENTENCES, REFERENCE_SENTENCES
from scanner.tasks.text_inputs import reference_tokenizer, tokenize_reference

# sentence-transformers' legacy boolean keys, in the order its Pooling concatenates modes
LEGACY_POOLING_KEYS = (
    ("pooling_mode_cls_token", "cls"),
    ("pooling_mode_max_tokens", "max"),
    ("pooling_mode_mean_tokens", "mean"),
    ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"),
    ("pooling_mode_weightedmean_tokens", "weightedmean"),
    ("pooling_mode_lasttoken", "lasttoken"),
)
POOLING_MODES = tuple(mode for _key, mode in LEGACY_POOLING_KEYS)
SUPPORTED_MODULES = ("Transformer", "Pooling", "Normalize")


@dataclass(frozen=True)
class SentencePipeline:
    """What happens after the transformer: pooling modes (concatenated in order), whether
    the result is L2-normalised, and the default prompt (prepended) if the folder sets one."""

    pooling_modes: tuple[str, ...] = ("mean",)
    normalize: bool = True
    prompt: str = ""
    include_prompt: bool = True


def read_sentence_pipeline(path: Path) -> SentencePipeline:
    """The folder's modules, pooling and default prompt; `ModelLoadError` for a layout we
    cannot reproduce exactly (a module other than Transformer, Pooling and Normalize)."""
    modules_file = path / "modules.json"
    if not modules_file.is_file():
        return SentencePipeline()
    modules = _read_json(modules_file)
    if not isinstance(modules, list):
        raise ModelLoadError("modules.json is not a list of sentence-transformers modules")
    pooling: tuple[str, ...] = ()
    include_prompt = True
    normalize = False
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        if kind not in SUPPORTED_MODULES:
            raise ModelLoadError(
                f"sentence-transformers module {kind or '?'} is not supported "
                f"(supported: {', '.join(SUPPORTED_MODULES)})"
            )
        if kind == "Transformer" and str(module.get("path", "")) not in ("", "."):
            raise ModelLoadError(
                f"the transformer lives in a subfolder ({module['path']}); only the "
                "top-level layout is supported"
            )
        if kind == "Pooling":
            config = _read_json(path / str(module.get("path", "")) / "config.json")
            pooling = pooling_modes(config)
            include_prompt = bool(config.get("include_prompt", True))
        if kind == "Normalize":
            normalize = True
    if not pooling:
        raise ModelLoadError("modules.json has no Pooling module: no sentence embedding")
    return SentencePipeline(pooling, normalize, default_prompt(path), include_prompt)


def pooling_modes(config: dict[str, Any]) -> tuple[str, ...]:
    """Pooling modes from a Pooling config, new (`pooling_mode`) or legacy (booleans)."""
    mode = config.get("pooling_mode")
    if isinstance(mode, str):
        modes: tuple[str, ...] = (mode,)
    elif isinstance(mode, list):
        modes = tuple(str(m) for m in mode)
    else:
        modes = tuple(name for key, name in LEGACY_POOLING_KEYS if config.get(key))
        modes = modes or ("mean",)  # what sentence-transformers does with none set
    unknown = [m for m in modes if m not in POOLING_MODES]
    if unknown:
        raise ModelLoadError(f"unknown pooling mode {unknown[0]!r} in 1_Pooling/config.json")
    return modes


def default_prompt(path: Path) -> str:
    """The prompt `encode` prepends by default (`default_prompt_name`), or none."""
    config_file = path / "config_sentence_transformers.json"
    if not config_file.is_file():
        return ""
    config = _read_json(config_file)
    name = config.get("default_prompt_name")
    prompts = config.get("prompts") or {}
    return str(prompts.get(name, "")) if name else ""


def pool(hidden: torch.Tensor, mask: torch.Tensor, pipeline: SentencePipeline) -> torch.Tensor:
    """The sentence embedding from token embeddings, as sentence-transformers pools them
    (right padding: the reference inputs are padded on the right)."""
    hidden = hidden.float()
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    vectors = []
    for mode in pipeline.pooling_modes:
        if mode == "cls":
            first = mask.to(torch.int).argmax(dim=1)
            vectors.append(hidden[torch.arange(hidden.shape[0]), first])
        elif mode == "max":
            vectors.append(hidden.masked_fill(weights == 0, float("-inf")).max(dim=1).values)
        elif mode in ("mean", "mean_sqrt_len_tokens"):
            count = weights.sum(dim=1).clamp(min=1e-9)
            denominator = count if mode == "mean" else count.sqrt()
            vectors.append((hidden * weights).sum(dim=1) / denominator)
        elif mode == "weightedmean":
            positions = torch.arange(1, hidden.shape[1] + 1, dtype=hidden.dtype).view(1, -1, 1)
            weighted = weights * positions.to(hidden.device)
            vectors.append((hidden * weighted).sum(dim=1) / weighted.sum(dim=1).clamp(min=1e-9))
        elif mode == "lasttoken":
            last = hidden.shape[1] - 1 - mask.flip(1).to(torch.int).argmax(dim=1)
            vectors.append((hidden * weights)[torch.arange(hidden.shape[0]), last])
    embedding = torch.cat(vectors, dim=-1)
    return torch.nn.functional.normalize(embedding, dim=-1) if pipeline.normalize else embedding


class SentenceSimilarity(FeatureExtraction):
    """Sentence embeddings as the folder's sentence-transformers modules define them; the
    quality gate is `FeatureExtraction.quality`, the embedding gate of both tasks."""

    task = "sentence-similarity"
    auto_class = "AutoModel"

    def load(self, path: Path, device: str, allow_pickle: bool = False) -> torch.nn.Module:
        read_sentence_pipeline(path)  # a layout we cannot reproduce fails before loading
        return super().load(path, device, allow_pickle)

    def reference_batch(
        self, path: Path, model: torch.nn.Module, workload: dict[str, Any]
    ) -> Batch:
        return self._sentence_batch(path, model, workload, int(workload["batch_size"]))

    def quality_batch(self, path: Path, model: torch.nn.Module, workload: dict[str, Any]) -> Batch:
        """The 128 quality sentences, through the same modules as the workload."""
        return self._sentence_batch(
            path, model, workload, len(QUALITY_SENTENCES), sentences=QUALITY_SENTENCES
        )

    def _sentence_batch(
        self,
        path: Path,
        model: torch.nn.Module,
        workload: dict[str, Any],
        batch_size: int,
        sentences: Sequence[str] = REFERENCE_SENTENCES,
    ) -> Batch:
        length = int(workload["sequence_length"])
        pipeline = read_sentence_pipeline(path)
        kwargs, source = tokenize_reference(
            path,
            model,
            batch_size,
            length,
            pad_to_length=workload.get("pad_to_length", True),
            prefix=pipeline.prompt,
            sentences=sentences,
        )
        pooling_mask = kwargs["attention_mask"].clone()
        if pipeline.prompt and not pipeline.include_prompt and source == "tokenizer":
            # as sentence-transformers does: the prompt is read but not pooled
            pooling_mask[:, : prompt_token_count(path, pipeline.prompt)] = 0
        kwargs["_pooling_mask"] = pooling_mask
        kwargs["_pipeline"] = pipeline
        return Batch(kwargs, batch_size, f"{batch_size}x{length} tokens", source)

    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        inputs = {k: v for k, v in batch.kwargs.items() if not k.startswith("_")}
        hidden = model(**inputs).last_hidden_state
        pipeline = batch.kwargs.get("_pipeline") or SentencePipeline()
        mask = batch.kwargs.get("_pooling_mask", inputs["attention_mask"])
        return pool(hidden, mask, pipeline)


def prompt_token_count(path: Path, prompt: str) -> int:
    """Tokens of the prompt as sentence-transformers counts them (its ids less the last,
    the separator after it)."""
    tokenizer = reference_tokenizer(path)
    return len(tokenizer([prompt])["input_ids"][0]) - 1 if tokenizer is not None else 0


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(
            f"missing sentence-transformers file: {path.parent.name}/{path.name}"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ModelLoadError(f"{path.name} is not valid JSON: {exc}") from None

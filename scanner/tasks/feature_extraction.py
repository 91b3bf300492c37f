"""Sentence embeddings (sentence-transformers layout): mean pooling, L2 normalised.

Quality is what matters for search: the neighbours each item keeps (top-10 overlap of the
nearest neighbours, the gate from scheme v2 on), the Spearman correlation of the pairwise
similarity matrices, and the cosine similarity of each embedding with the baseline's (v1's
gate). They are judged on 128 sentences (`QUALITY_SENTENCES`), so a top 10 is a small
share of the corpus, as it is in real retrieval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from scanner.tasks.base import (
    Batch,
    QualityResult,
)
from scanner.tasks.reference_text import QUALITY_SENTENCES
from scanner.tasks.text_inputs import TextBatchAdapter, tokenize_reference

NEIGHBOURS = 10  # top-k of the retrieval gate


class FeatureExtraction(TextBatchAdapter):
    task = "feature-extraction"
    auto_class = "AutoModel"

    def quality_batch(self, path: Path, model: torch.nn.Module, workload: dict[str, Any]) -> Batch:
        """The 128 quality sentences (reference plus retrieval), shaped like the workload."""
        items, length = len(QUALITY_SENTENCES), int(workload["sequence_length"])
        kwargs, source = tokenize_reference(
            path,
            model,
            items,
            length,
            pad_to_length=workload.get("pad_to_length", True),
            sentences=QUALITY_SENTENCES,
        )
        return Batch(kwargs, items, f"{items}x{length} tokens", source)

    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        hidden = model(**batch.kwargs).last_hidden_state
        mask = batch.kwargs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled.float(), dim=-1)

    def quality(self, baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
        base, var = baseline.float(), variant.float()
        cosine = torch.nn.functional.cosine_similarity(base, var, dim=-1).mean().item()
        return QualityResult(
            "cosine_similarity",
            cosine,
            {
                "similarity_spearman": spearman_of_similarities(base, var),
                "top10_overlap": neighbour_overlap(base, var, NEIGHBOURS),
            },
        )


def neighbour_overlap(base: torch.Tensor, var: torch.Tensor, k: int = NEIGHBOURS) -> float:
    """Mean share of each item's `k` nearest neighbours (cosine, itself excluded) under the
    baseline that are also among its `k` nearest under the variant: retrieval kept."""
    n = base.shape[0]
    k = min(k, n - 1)
    if k < 1:
        return 1.0
    neighbours = []
    for emb in (base, var):
        normed = torch.nn.functional.normalize(emb.float(), dim=-1)
        sims = normed @ normed.T
        sims.fill_diagonal_(float("-inf"))
        neighbours.append(sims.topk(k, dim=-1).indices)
    kept = [len(set(a.tolist()) & set(b.tolist())) for a, b in zip(*neighbours, strict=True)]
    return sum(kept) / (k * n)


def spearman_of_similarities(base: torch.Tensor, var: torch.Tensor) -> float:
    """Rank correlation of the upper triangles of the two cosine-similarity matrices."""
    n = base.shape[0]
    if n < 3:
        return 1.0
    index = torch.triu_indices(n, n, offset=1)
    sims = []
    for emb in (base, var):
        normed = torch.nn.functional.normalize(emb, dim=-1)
        matrix = normed @ normed.T
        sims.append(matrix[index[0], index[1]])
    ranks = [s.argsort().argsort().float() for s in sims]
    a, b = (r - r.mean() for r in ranks)
    denominator = (a.norm() * b.norm()).item()
    return float((a @ b).item() / denominator) if denominator else 1.0

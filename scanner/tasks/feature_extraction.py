"""Sentence embeddings (sentence-transformers layout): mean pooling, L2 normalised.

Quality is what matters for search: cosine similarity of each embedding with the
baseline's, and the Spearman correlation of the pairwise similarity matrices.
"""

from __future__ import annotations

import torch

from scanner.tasks.base import (
    Batch,
    QualityResult,
)
from scanner.tasks.text_inputs import TextBatchAdapter


class FeatureExtraction(TextBatchAdapter):
    task = "feature-extraction"
    auto_class = "AutoModel"

    def run(self, model: torch.nn.Module, batch: Batch) -> torch.Tensor:
        hidden = model(**batch.kwargs).last_hidden_state
        mask = batch.kwargs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled.float(), dim=-1)

    def quality(self, baseline: torch.Tensor, variant: torch.Tensor) -> QualityResult:
        base, var = baseline.float(), variant.float()
        cosine = torch.nn.functional.cosine_similarity(base, var, dim=-1).mean().item()
        rho = spearman_of_similarities(base, var)
        return QualityResult("cosine_similarity", cosine, {"similarity_spearman": rho})


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

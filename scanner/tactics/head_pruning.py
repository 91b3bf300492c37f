"""Attention head pruning: remove the least important heads of each self-attention layer.

transformers 5 removed `PreTrainedModel.prune_heads`, so this module does the structured
removal itself: it slices the query, key and value projections (output rows) and the
attention output projection (input columns) down to the kept heads. Every attention
forward in transformers 5 reshapes with `-1` heads, so the smaller layers run unchanged
and the removed heads cost no compute. A head's importance is the L1 norm of its slice of
the output projection's weights, a cheap data-free proxy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from labels.tactic_kinds import TacticKind
from scanner.tactics.base import (
    APPLIES,
    Applicability,
    BuiltVariant,
    Tactic,
    TacticContext,
)


@dataclass
class AttentionSite:
    """One self-attention layer: the module holding q/k/v, and where its output projection is."""

    attention: torch.nn.Module  # holds the q/k/v projections and the head size
    q_name: str
    k_name: str
    v_name: str
    out_owner: torch.nn.Module
    out_name: str
    head_size_name: str

    def linear(self, name: str, owner: torch.nn.Module | None = None) -> torch.nn.Linear:
        return getattr(owner or self.attention, name)

    @property
    def head_size(self) -> int:
        return int(getattr(self.attention, self.head_size_name))

    @property
    def heads(self) -> int:
        return self.linear(self.q_name).out_features // self.head_size


def attention_sites(model: torch.nn.Module) -> list[AttentionSite]:
    """Self-attention layers whose layout we know: BERT-like, DistilBERT and ViT."""
    sites = []
    for module in model.modules():
        inner = getattr(module, "self", None)
        output = getattr(module, "output", None)
        if (
            inner is not None
            and all(isinstance(getattr(inner, n, None), torch.nn.Linear) for n in _BERT_QKV)
            and isinstance(getattr(output, "dense", None), torch.nn.Linear)
            and hasattr(inner, "attention_head_size")
        ):
            sites.append(AttentionSite(inner, *_BERT_QKV, output, "dense", "attention_head_size"))
            continue
        for names, head_size_name in _SINGLE_MODULE_LAYOUTS:
            if all(isinstance(getattr(module, n, None), torch.nn.Linear) for n in names) and (
                hasattr(module, head_size_name)
            ):
                q, k, v, out = names
                sites.append(AttentionSite(module, q, k, v, module, out, head_size_name))
                break
    return [s for s in sites if _self_attention_with_equal_heads(s)]


_BERT_QKV = ("query", "key", "value")
_SINGLE_MODULE_LAYOUTS = (
    (("q_lin", "k_lin", "v_lin", "out_lin"), "attention_head_size"),  # DistilBERT
    (("q_proj", "k_proj", "v_proj", "o_proj"), "head_dim"),  # ViT and others
)


def _self_attention_with_equal_heads(site: AttentionSite) -> bool:
    # grouped-query attention (fewer k/v heads) would need head groups kept together: skip
    q, k, v = (site.linear(n) for n in (site.q_name, site.k_name, site.v_name))
    out = site.linear(site.out_name, site.out_owner)
    return q.out_features == k.out_features == v.out_features == out.in_features and (
        q.out_features % site.head_size == 0
    )


def heads_to_keep(
    out_weight: torch.Tensor, heads: int, head_size: int, fraction: float
) -> list[int]:
    """Indices of the heads kept: those with the largest L1 norm of output-projection weights."""
    norms = out_weight.detach().abs().reshape(out_weight.shape[0], heads, head_size).sum((0, 2))
    removed = min(math.floor(heads * fraction + 1e-9), heads - 1)
    kept = norms.argsort(descending=True)[: heads - removed]
    return sorted(int(i) for i in kept)


def slice_linear(layer: torch.nn.Linear, index: torch.Tensor, dim: int) -> torch.nn.Linear:
    """A smaller copy of `layer` keeping `index` along its output (0) or input (1) dimension."""
    weight = layer.weight.detach().index_select(dim, index).clone()
    bias = layer.bias
    if bias is not None and dim == 0:
        bias = bias.detach()[index].clone()
    elif bias is not None:
        bias = bias.detach().clone()
    new = torch.nn.Linear(
        weight.shape[1], weight.shape[0], bias=bias is not None, device=weight.device
    ).to(weight.dtype)
    with torch.no_grad():
        new.weight.copy_(weight)
        if bias is not None:
            new.bias.copy_(bias)
    return new


class HeadPruning(Tactic):
    kind = TacticKind.PRUNING

    def __init__(self, fraction: float) -> None:
        self.fraction = fraction
        percent = round(fraction * 100)
        self.name = f"head-prune-{percent}"
        self.description = (
            f"Remove {percent} % of attention heads per layer, lowest L1 norm of their output "
            "projection first (structured: removes their compute)."
        )
        self.default_on = ()

    def applies_to(self, model: torch.nn.Module, ctx: TacticContext) -> Applicability:
        sites = attention_sites(model)
        if not sites:
            return Applicability(
                False,
                f"no self-attention layout known for model type {ctx.model_type!r} "
                "(supported: BERT-like, DistilBERT, ViT; transformers 5 has no prune_heads)",
            )
        if all(math.floor(s.heads * self.fraction + 1e-9) == 0 for s in sites):
            return Applicability(False, "too few heads per layer to remove any")
        return APPLIES

    def build(self, model: torch.nn.Module, ctx: TacticContext) -> BuiltVariant:
        sites = attention_sites(model)
        before = after = 0
        for site in sites:
            heads, size = site.heads, site.head_size
            out = site.linear(site.out_name, site.out_owner)
            keep = heads_to_keep(out.weight, heads, size, self.fraction)
            index = torch.tensor(
                [h * size + j for h in keep for j in range(size)], device=out.weight.device
            )
            for name in (site.q_name, site.k_name, site.v_name):
                setattr(site.attention, name, slice_linear(site.linear(name), index, 0))
            setattr(site.out_owner, site.out_name, slice_linear(out, index, 1))
            for count_name in ("num_attention_heads", "n_heads"):
                if isinstance(getattr(site.attention, count_name, None), int):
                    setattr(site.attention, count_name, len(keep))
            if isinstance(getattr(site.attention, "all_head_size", None), int):
                site.attention.all_head_size = len(keep) * size
            before += heads
            after += len(keep)
        return BuiltVariant(
            model,
            notes=f"kept {after} of {before} attention heads (structured: less compute)",
        )


HEAD_PRUNE_25 = HeadPruning(0.25)

"""Layer pruning healed by distillation: drop layers, then train the student on the teacher.

Dropping whole encoder layers removes their compute, but nothing recovers what those layers
carried (MiniLM kept a cosine of 0.33-0.40 with half its layers gone). The layer-pruned
sentence-BERT models of the literature were fine-tuned after pruning; here the pruned model
(the student) learns to reproduce the unpruned model's (the teacher's, i.e. the baseline's)
task outputs on unlabelled text that ships offline (`distillation_text`): pooled, normalised
embeddings by cosine distance, classifier logits by KL divergence. AdamW, a small learning
rate and a fixed seed; the input embeddings stay frozen and dropout off, so the same steps
give the same student.

The budget is a tactic parameter: at most `max_steps` optimiser steps and at most
`max_cpu_s` seconds of this process's CPU time, whichever ends first. The training runs
inside the benchmark's metered build, so its energy is the variant's build cost and counts
in payback. The build also judges the student against the teacher on the quality sentences
(never trained on) before and after healing, and stores both in the run's quality values.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from labels.tactic_kinds import TacticKind
from scanner.tactics.base import (
    APPLIES,
    Applicability,
    BuiltVariant,
    Tactic,
    TacticContext,
)
from scanner.tactics.distillation_text import LICENCE, SOURCE, distillation_sentences
from scanner.tactics.layer_pruning import (
    LAYER_DROP_ALTERNATE,
    LAYER_DROP_TOP_50,
    LayerPruning,
)
from scanner.tasks.base import Batch, QualityResult, TaskAdapter

# how the student is taught, by task: what each adapter's `outputs` are
EMBEDDING_TASKS = ("feature-extraction", "sentence-similarity")
LOGIT_TASKS = ("text-classification", "token-classification")
# the shapes the before/after judgement runs in: the text workloads of schemes v1 and v2
JUDGED_WORKLOAD = {"batch_size": 8, "sequence_length": 128}


@dataclass(frozen=True)
class HealingBudget:
    max_steps: int
    max_cpu_s: float
    batch_size: int = 16  # sentences per step
    sequence_length: int = 64  # tokens at most per sentence
    learning_rate: float = 1e-4
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_steps < 0 or self.max_cpu_s < 0:
            raise ValueError("a healing budget cannot be negative")
        if self.batch_size < 1 or self.sequence_length < 2 or self.learning_rate <= 0:
            raise ValueError("healing needs batch_size >= 1, sequence_length >= 2, lr > 0")


@dataclass(frozen=True)
class HealingReport:
    steps: int
    cpu_s: float
    stopped_by: str  # "steps" | "cpu time"
    first_loss: float | None
    last_loss: float | None


class DistilledLayerPruning(Tactic):
    """`pruning`, then distillation from the unpruned model within `budget`."""

    kind = TacticKind.DISTILLATION

    def __init__(self, pruning: LayerPruning, budget: HealingBudget, name: str = "") -> None:
        self.pruning = pruning
        self.budget = budget
        self.name = name or f"{pruning.name}-distilled"  # a plugin names its own budget
        self.description = (
            f"{pruning.description.rstrip('.')}, then train it on the unpruned model's outputs "
            f"(at most {budget.max_steps} steps or {budget.max_cpu_s:g} CPU s)."
        )
        self.default_on = ()  # minutes of training on CPU: measured when asked

    def applies_to(self, model: torch.nn.Module, ctx: TacticContext) -> Applicability:
        if ctx.task not in EMBEDDING_TASKS + LOGIT_TASKS:
            return Applicability(
                False, f"no distillation loss for {ctx.task} (only unlabelled text ships offline)"
            )
        pruned = self.pruning.applies_to(model, ctx)
        return pruned if not pruned.applies else APPLIES

    def build(self, model: torch.nn.Module, ctx: TacticContext) -> BuiltVariant:
        from scanner.tasks.registry import adapter_for

        adapter = adapter_for(ctx.task)
        path = Path(str(getattr(model, "name_or_path", "") or "."))
        # the benchmark builds under inference_mode: training needs autograd back
        with torch.inference_mode(False), torch.enable_grad():
            teacher = copy.deepcopy(model).eval()
            pruned = self.pruning.build(model, ctx)
            student = pruned.model.eval()  # dropout off: a deterministic, short fine-tune
            judged = adapter.quality_batch(path, teacher, JUDGED_WORKLOAD).to(ctx.device)
            chunks = judged.split(JUDGED_WORKLOAD["batch_size"])
            target = _outputs(adapter, teacher, chunks)
            before = adapter.quality(target, _outputs(adapter, student, chunks))
            report = heal(student, teacher, adapter, path, ctx, self.budget)
            after = adapter.quality(target, _outputs(adapter, student, chunks))
            del teacher
        return BuiltVariant(
            student,
            notes=f"{pruned.notes}; {self._healing_note(report, before, after)}",
            build_quality={
                **{f"before_healing_{k}": v for k, v in _values(before).items()},
                **{f"after_healing_{k}": v for k, v in _values(after).items()},
            },
        )

    def _healing_note(
        self, report: HealingReport, before: QualityResult, after: QualityResult
    ) -> str:
        figures = ", ".join(
            f"{k} {_values(before)[k]:.3f} -> {v:.3f}" for k, v in _values(after).items()
        )
        return (
            f"healed by distillation: {report.steps} of {self.budget.max_steps} steps, "
            f"{report.cpu_s:.1f} CPU s (budget {self.budget.max_cpu_s:g}; stopped by "
            f"{report.stopped_by}) on {SOURCE} ({LICENCE}); vs the unpruned model before -> "
            f"after: {figures}"
        )


def heal(
    student: torch.nn.Module,
    teacher: torch.nn.Module,
    adapter: TaskAdapter,
    path: Path,
    ctx: TacticContext,
    budget: HealingBudget,
) -> HealingReport:
    """Train `student` in place towards `teacher`'s outputs within `budget`."""
    loss_of = _loss_for(ctx.task)
    inputs = _training_inputs(path, student, budget)
    torch.manual_seed(budget.seed)
    _make_trainable(student)
    # the input embeddings stay the teacher's: half of a small encoder's weights, shared
    # vocabulary, and their update would cost more than the layers' on a CPU
    frozen = {id(p) for p in student.get_input_embeddings().parameters()}
    params = [p for p in student.parameters() if p.is_floating_point() and id(p) not in frozen]
    optimiser = torch.optim.AdamW(params, lr=budget.learning_rate, weight_decay=0.01)
    first: float | None = None
    last: float | None = None
    steps, stopped_by = 0, "steps"
    cpu_start = time.process_time()
    while steps < budget.max_steps:
        if time.process_time() - cpu_start >= budget.max_cpu_s:
            stopped_by = "cpu time"
            break
        batch = _step_batch(inputs, steps, budget.batch_size).to(ctx.device)
        with torch.no_grad():
            wanted = adapter.outputs(teacher, batch)
        loss = loss_of(adapter.outputs(student, batch), wanted, batch)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        last = float(loss.detach())
        first = last if first is None else first
        steps += 1
    cpu_s = time.process_time() - cpu_start
    optimiser.zero_grad(set_to_none=True)
    del optimiser
    return HealingReport(steps, cpu_s, stopped_by, first, last)


def _make_trainable(model: torch.nn.Module) -> None:
    """Parameters that require grad; tensors made under inference_mode (a copy taken
    there) are replaced by ordinary copies, tied parameters staying tied."""
    replaced: dict[int, torch.nn.Parameter] = {}
    for module in model.modules():
        for name, param in list(module._parameters.items()):
            if param is None or not param.is_floating_point():
                continue
            if param.is_inference():
                if id(param) not in replaced:
                    replaced[id(param)] = torch.nn.Parameter(param.clone())
                module._parameters[name] = replaced[id(param)]
            else:
                param.requires_grad_(True)
        for name, buffer in list(module._buffers.items()):
            if buffer is not None and buffer.is_inference():
                module._buffers[name] = buffer.clone()


def _training_inputs(
    path: Path, model: torch.nn.Module, budget: HealingBudget
) -> dict[str, torch.Tensor]:
    """Every step's sentences, tokenized once: the corpus in a seeded shuffle per pass."""
    from scanner.tasks.text_inputs import tokenize_reference

    corpus = distillation_sentences()
    needed = max(budget.max_steps * budget.batch_size, 1)
    generator = torch.Generator().manual_seed(budget.seed)
    order: list[int] = []
    while len(order) < needed:
        order.extend(torch.randperm(len(corpus), generator=generator).tolist())
    sentences = [corpus[i] for i in order[:needed]]
    kwargs, _source = tokenize_reference(
        path, model, needed, budget.sequence_length, pad_to_length=False, sentences=sentences
    )
    return kwargs


def _step_batch(inputs: dict[str, torch.Tensor], step: int, size: int) -> Batch:
    """Step `step`'s rows, trimmed to their longest sentence (padding is wasted compute)."""
    rows = slice(step * size, (step + 1) * size)
    length = int(inputs["attention_mask"][rows].sum(1).max())
    kwargs = {k: v[rows, :length] for k, v in inputs.items()}
    return Batch(kwargs, size, f"{size}x{length} tokens", "distillation")


def _embedding_loss(student: torch.Tensor, teacher: torch.Tensor, _batch: Batch) -> torch.Tensor:
    """Cosine distance of the pooled embeddings, plus the squared error of the batch's
    similarity matrices: retrieval lives in the similarities, and pooled embeddings share
    a large common direction, so a high cosine alone can still reorder the neighbours."""
    cosine = torch.nn.functional.cosine_similarity(student, teacher, dim=-1).mean()
    s = torch.nn.functional.normalize(student, dim=-1)
    t = torch.nn.functional.normalize(teacher, dim=-1)
    relational = torch.nn.functional.mse_loss(s @ s.T, t @ t.T)
    return (1.0 - cosine) + relational


def _kl_loss(student: torch.Tensor, teacher: torch.Tensor, batch: Batch) -> torch.Tensor:
    """KL(teacher || student) over classes, averaged over sentences (or real tokens)."""
    log_q = torch.log_softmax(student.float(), -1)
    log_p = torch.log_softmax(teacher.float(), -1)
    per_item = torch.sum(log_p.exp() * (log_p - log_q), -1)
    if per_item.dim() == 2:  # token classification: padding tokens do not count
        mask = batch.kwargs["attention_mask"].to(per_item.dtype)
        return (per_item * mask).sum() / mask.sum().clamp(min=1.0)
    return per_item.mean()


def _loss_for(task: str) -> Callable[[torch.Tensor, torch.Tensor, Batch], torch.Tensor]:
    return _embedding_loss if task in EMBEDDING_TASKS else _kl_loss


def _outputs(adapter: TaskAdapter, model: torch.nn.Module, chunks: list[Batch]) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([adapter.outputs(model, b).detach().float().cpu() for b in chunks])


def _values(result: QualityResult) -> dict[str, float]:
    return {result.metric: result.value, **result.extra}


# Minutes on a CPU for MiniLM (22M parameters); a tiny model finishes its steps in seconds.
DEFAULT_BUDGET = HealingBudget(max_steps=300, max_cpu_s=240.0)
LAYER_DROP_TOP_50_DISTILLED = DistilledLayerPruning(LAYER_DROP_TOP_50, DEFAULT_BUDGET)
LAYER_DROP_ALTERNATE_DISTILLED = DistilledLayerPruning(LAYER_DROP_ALTERNATE, DEFAULT_BUDGET)

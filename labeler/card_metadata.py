"""The label in a model card's YAML metadata, as `model-index` evaluation results.

The Hub shows the results a card declares in `model-index` on the model page, so the label
goes there too, beside the Markdown block. huggingface_hub's card API writes it (`ModelCard`,
`ModelCardData`, `EvalResult`), so the YAML is what the Hub expects. Our results are one
dataset entry per (task, hardware): the scheme's reference workload, its version as the
revision and the hardware profile as the config; other results are left as they are, and
the Markdown body is kept byte for byte.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from labeler.card import CardError
from labels.latest_label import LatestLabel

if TYPE_CHECKING:
    from huggingface_hub import EvalResult

WORKLOAD_DATASET_TYPE = "hf-energy-labels/reference-workload"
SOURCE_NAME = "hf-energy-labels"
METRIC_TYPES = ("energy_wh_per_1k", "energy_efficiency_index", "energy_grade", "achievable_grade")


def _workload(label: LatestLabel) -> dict[str, Any]:
    from labels.scheme import SchemeError, load_scheme

    try:
        return load_scheme(label.scheme_version).workload(label.task)
    except SchemeError:  # a scheme this install does not ship: the version still names it
        return {}


def _significant(value: float) -> float:
    """Six significant digits: enough for the label, and stable YAML from run to run."""
    return float(f"{value:.6g}")


def label_eval_results(label: LatestLabel, site_url: str | None = None) -> list[EvalResult]:
    """The label as `EvalResult`s: energy, EEI, grade and achievable grade (those known)."""
    from huggingface_hub import EvalResult

    scheme = label.scheme_version
    meter = {"meter": label.energy_method, "estimated": bool(label.estimated)}
    source: dict[str, str] = {}
    if site_url:  # the Hub wants an absolute URL beside the name, or neither
        from labeler.badges import badge_urls

        page = badge_urls(label.model_id, site_url)["page"]
        source = {"source_name": SOURCE_NAME, "source_url": page}
    common: dict[str, Any] = {
        "task_type": label.task,
        "task_name": label.task,
        "dataset_type": WORKLOAD_DATASET_TYPE,
        "dataset_name": f"Energy label reference workload ({label.task}, scheme {scheme})",
        "dataset_config": label.hardware,
        "dataset_revision": scheme,
        "dataset_args": {
            **_workload(label),
            "hardware": label.hardware,
            "meter": label.energy_method,
        },
        **source,
    }
    metrics: list[tuple[str, str, Any, dict[str, Any] | None]] = []
    energy = label.energy_wh_per_1k
    if energy is not None and math.isfinite(energy):
        metrics.append(
            ("energy_wh_per_1k", "Energy per 1,000 inferences (Wh)", _significant(energy), meter)
        )
    if label.eei is not None and math.isfinite(label.eei):
        interval = None
        if label.eei_low is not None and label.eei_high is not None:
            interval = {"low": _significant(label.eei_low), "high": _significant(label.eei_high)}
        metrics.append(
            (
                "energy_efficiency_index",
                "Energy efficiency index (E_model / E_ref)",
                _significant(label.eei),
                interval,
            )
        )
    if label.grade:
        metrics.append(("energy_grade", "Energy label (A-G)", label.grade, None))
    if label.best_grade:
        variant = {"variant": label.best_variant} if label.best_variant else None
        metrics.append(
            ("achievable_grade", "Achievable energy label (A-G)", label.best_grade, variant)
        )
    return [
        EvalResult(
            **common,
            metric_type=metric_type,
            metric_name=name,
            metric_value=value,
            metric_args=args,
        )
        for metric_type, name, value, args in metrics
    ]


def _is_ours(result: EvalResult, label: LatestLabel) -> bool:
    return (
        result.dataset_type == WORKLOAD_DATASET_TYPE
        and result.task_type == label.task
        and result.dataset_config == label.hardware
    )


def update_card_metadata(readme_text: str, label: LatestLabel, site_url: str | None = None) -> str:
    """`readme_text` whose `model-index` holds the label's results (replacing ours only).

    Returns `readme_text` itself when they are already there; a card without metadata gains
    a YAML block. Malformed YAML or `model-index` raises `CardError`.
    """
    import yaml
    from huggingface_hub import ModelCard
    from huggingface_hub.repocard_data import eval_results_to_model_index

    try:
        card = ModelCard(readme_text, ignore_metadata_errors=False)
    except (yaml.YAMLError, ValueError) as exc:
        first = " ".join(str(exc).split())[:200]
        raise CardError(f"the model card's YAML metadata is malformed: {first}") from None
    data = card.data
    existing = list(data.eval_results or [])
    ours = label_eval_results(label, site_url)
    kept = [r for r in existing if not _is_ours(r, label)]
    name = data.model_name or label.model_id.rsplit("/", 1)[-1]
    before = [r for r in existing if _is_ours(r, label)]
    if eval_results_to_model_index(name, before) == eval_results_to_model_index(name, ours):
        return readme_text
    data.eval_results = kept + ours or None
    data.model_name = name if data.eval_results else data.model_name
    return str(card.content)

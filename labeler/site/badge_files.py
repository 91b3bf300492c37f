"""A model's badge files: per hardware profile an SVG, a shields.io endpoint JSON and a
recommendations JSON, and the model's own badge (its first label's, hard-linked).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from labeler.alternatives import ModelAlternatives
from labeler.badges import badge_details, badge_svg, cheaper_alternative_json, shields_endpoint
from labeler.carbon import Carbon
from labeler.card import top_recommendation
from labeler.site.environment import script_json
from labeler.site.files import link_file
from labeler.slugs import badge_stem, model_slug
from labels.latest_label import LatestLabel
from labels.recommendation import Recommendation

BADGE_SUFFIXES = (".svg", ".json", ".recommendations.json")


def model_files(model_id: str, hardware: Iterable[str]) -> list[str]:
    """Every file a model owns, relative to the site root."""
    files = [f"models/{model_slug(model_id)}.html"]
    for stem in [badge_stem(model_id)] + [badge_stem(model_id, h) for h in hardware]:
        files += [f"badges/{stem}{suffix}" for suffix in BADGE_SUFFIXES]
    return files


def _as_dict(recommendation: Recommendation | None) -> dict[str, Any] | None:
    return recommendation.to_dict() if recommendation else None


@functools.lru_cache(maxsize=256)
def _badge_file_texts(
    grade: str | None, estimated: bool, best_grade: str | None, borderline: bool, contended: bool
) -> tuple[str, str]:
    """The badge SVG and its shields.io endpoint JSON: the same for every label of one
    grade and flags, so made once per build (per worker) rather than once per label."""
    endpoint = shields_endpoint(
        grade,
        estimated=estimated,
        best_grade=best_grade,
        borderline=borderline,
        contended=contended,
    )
    svg = badge_svg(grade, estimated=estimated, contended=contended)
    return svg, str(script_json(endpoint)) + "\n"


def badge_texts(
    model_id: str,
    label: LatestLabel,
    cheaper: ModelAlternatives | None,
    site_url: str | None,
    achievable: str,
    carbon: Carbon | None = None,
) -> tuple[str, str, str]:
    """The badge SVG, its shields.io endpoint JSON and its recommendations JSON (which
    also names the cheapest comparable alternative model, when there is one). `achievable`
    is the label section's `achievable_text(label)`, `carbon` its CO2e."""
    estimated = bool(label.estimated)
    svg, endpoint = _badge_file_texts(
        label.grade, estimated, label.best_grade, bool(label.borderline), bool(label.contended)
    )
    details = {
        **badge_details(label, carbon),
        "reference_model": label.reference_model,
        "energy_j_per_token": label.energy_j_per_token,
        "achievable": achievable,
        "top_recommendation": _as_dict(top_recommendation(label)),
        "recommendations": [r.to_dict() for r in label.recommendations],
        "cheaper_alternative": cheaper_alternative_json(
            cheaper.cheapest_comparable if cheaper else None, site_url
        ),
    }
    return svg, endpoint, str(script_json(details)) + "\n"


def link_own_badge(root: str, model_id: str, hardware: str) -> None:
    """The model's own badge files: those of its first label's hardware profile. (Made
    after that profile's files, which an incremental build rewrites in place: a rewrite
    shows through the link until it is made again here, with the same bytes.)"""
    source = f"{root}badges/{badge_stem(model_id, hardware)}"
    target = f"{root}badges/{badge_stem(model_id)}"
    for suffix in BADGE_SUFFIXES:
        link_file(source + suffix, target + suffix)


def write_badge(
    write: Callable[[str, str], int],
    root: str,
    model_id: str,
    texts: tuple[str, str, str],
    hardware: str,
) -> None:
    """The three badge files of one hardware profile."""
    stem = f"{root}badges/{badge_stem(model_id, hardware)}"
    for suffix, text in zip(BADGE_SUFFIXES, texts, strict=True):
        write(stem + suffix, text)

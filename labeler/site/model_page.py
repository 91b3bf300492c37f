"""A model's page: what it shows, as typed objects, and its rendering through
`model_main.html.j2` (autoescaped, so every catalog value is escaped by Jinja, never by
hand) inside the page frame `model.html.j2`.

A model page is the one page of every model (10,000 and more on a full build), so the frame
around its main block (head, header, footer: the same on every model page) is rendered once
per build and each page is its main block joined into the frame's pieces.

To show something new on a model page: add a field to `LabelSection` (one label) or
`ModelPage` (the model), fill it in `label_section` or `render_model`, and write it in
`site/templates/model_main.html.j2`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus

import jinja2
from markupsafe import Markup, escape

from labeler.alternatives import (
    Alternative,
    AlternativesKey,
    AlternativesSelection,
    ModelAlternatives,
)
from labeler.badges import badge_snippets
from labeler.carbon import Carbon, carbon_for
from labeler.card import achievable_text
from labeler.costs import LabelMoney, label_money
from labeler.recommend import BatchingSummary, batching_summary
from labeler.site.badge_files import badge_texts, link_own_badge, write_badge
from labeler.site.inputs import ModelDetails
from labeler.site.provenance import Provenance, build_provenance
from labeler.slugs import badge_stem, model_slug, safe_segment
from labels import HardwareRecord, ModelRecord, RunRecord
from labels.busy_host import busy_reason
from labels.latest_label import LatestLabel
from labels.recommendation import Recommendation
from labels.tactic_kinds import TacticKind, tactic_kind


@dataclass(frozen=True, slots=True)
class CheaperLink:
    """One better-graded model of the same task and hardware, and its page."""

    alternative: Alternative
    href: str


@dataclass(frozen=True, slots=True)
class BadgeSnippet:
    """A read-only text box with a copy button: how to embed the label's badge."""

    element_id: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class LabelSection:
    """Everything one label's section of a model page shows."""

    label: LatestLabel
    runs: tuple[RunRecord, ...]
    anchor: str  # the section's id, unique on its page
    achievable: str  # "C → A with …", or "" when no variant betters the grade
    applicable: tuple[Recommendation, ...]
    not_applicable: tuple[Recommendation, ...]
    mentions_pruning: bool  # a tactic of this label prunes: the page explains masked pruning
    provenance: Provenance
    snippets: tuple[BadgeSnippet, ...]  # Markdown, HTML and, with a site URL, shields.io
    badge_src: str
    compare_href: str
    money: LabelMoney | None
    carbon: Carbon | None  # CO2e per 1,000 inferences on the build's grid intensity
    busy_host: str  # "the host was busy: 47 % of a core went to other processes", or ""
    batching: BatchingSummary | None
    cheaper: ModelAlternatives | None
    cheaper_links: tuple[CheaperLink, ...]


@dataclass(frozen=True, slots=True)
class ModelPage:
    """A model page's main block: the model, then one section per label."""

    model_id: str
    model: ModelRecord | None
    tags: tuple[str, ...]
    badge_src: str  # the model's own badge
    sections: tuple[LabelSection, ...]


@dataclass
class RenderState:
    """What the model-page renderer needs; set before the worker processes fork."""

    labels_by_model: dict[str, list[LatestLabel]]
    details: ModelDetails
    hardware: dict[str, HardwareRecord]  # by fingerprint
    root: str  # the output folder, with a trailing separator
    site_url: str | None
    common: dict[str, Any]
    env: jinja2.Environment
    alternatives: dict[AlternativesKey, AlternativesSelection] = field(default_factory=dict)
    # model.html.j2 rendered once, in pieces around the title, before and after main
    model_frame: tuple[tuple[str, ...], tuple[str, ...]] = (("",), ("",))
    main_template: jinja2.Template | None = None


_TITLE_MARK, _MAIN_MARK = "\x00page-title\x00", "\x00page-main\x00"


def model_frame(
    env: jinja2.Environment, common: dict[str, Any]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The model page's template rendered once with marks for its title and main block:
    every model page is the same around those two, so a page costs a few string joins.
    Returns the pieces before and after main, split where the title goes."""
    text = env.get_template("model.html.j2").render(
        **common, root="../", page_title=_TITLE_MARK, main=Markup(_MAIN_MARK)
    )
    before, after = text.split(_MAIN_MARK)  # one main block, never in the title
    return tuple(before.split(_TITLE_MARK)), tuple(after.split(_TITLE_MARK))


def _tags(model: ModelRecord | None) -> tuple[str, ...]:
    if model is None:
        return ()
    try:
        tags = json.loads(model.tags_json or "[]")
    except ValueError:
        return ()
    return tuple(str(t) for t in tags) if isinstance(tags, list) else ()


def label_section(state: RenderState, model_id: str, label: LatestLabel) -> LabelSection:
    """The section of one label of `model_id`, from the rows `state` holds."""
    site_url = state.site_url
    runs = tuple(state.details.runs(label))
    fingerprint = runs[0].hardware_fingerprint if runs else None
    recs = label.recommendations
    selection = state.alternatives.get((model_id, label.task, label.hardware))
    cheaper = selection.resolve() if selection else None
    anchor = safe_segment(f"{label.task}--{label.hardware}")
    return LabelSection(
        label=label,
        runs=runs,
        anchor=anchor,
        achievable=achievable_text(label),
        applicable=tuple(r for r in recs if r.applies),
        not_applicable=tuple(r for r in recs if not r.applies),
        mentions_pruning=any(tactic_kind(r.variant) is TacticKind.PRUNING for r in (*recs, *runs)),
        provenance=build_provenance(
            list(runs), state.hardware.get(fingerprint) if fingerprint else None
        ),
        snippets=_snippets(anchor, badge_snippets(model_id, site_url, label.hardware)),
        badge_src=f"../badges/{badge_stem(model_id, label.hardware)}.svg",
        # urlencode's own form (quote_plus), without its per-call overhead
        compare_href=f"../compare.html?m={quote_plus(model_id)}"
        f"&task={quote_plus(label.task)}&hw={quote_plus(label.hardware)}",
        money=label_money(recs, list(runs), state.common["prices"]),
        carbon=carbon_for(label.energy_wh_per_1k, state.common["grid"]),
        busy_host=busy_reason(label.foreign_cpu_cores) if label.contended else "",
        batching=batching_summary(list(runs)),
        cheaper=cheaper,
        cheaper_links=tuple(
            CheaperLink(a, f"{model_slug(a.model_id)}.html")
            for a in (cheaper.alternatives if cheaper else ())
        ),
    )


def _snippets(anchor: str, texts: dict[str, str]) -> tuple[BadgeSnippet, ...]:
    boxes = [
        BadgeSnippet(f"md-{anchor}", "Markdown", texts["markdown"]),
        BadgeSnippet(f"html-{anchor}", "HTML", texts["html"]),
    ]
    if texts.get("shields"):
        boxes.append(
            BadgeSnippet(f"shields-{anchor}", "shields.io endpoint (Markdown)", texts["shields"])
        )
    return tuple(boxes)


def render_model(state: RenderState, write: Callable[[str, str], int], model_id: str) -> None:
    """Write the page and badge files of `model_id`."""
    details, root, site_url = state.details, state.root, state.site_url
    model_labels = sorted(state.labels_by_model[model_id], key=lambda lb: (lb.hardware, lb.task))
    sections = []
    badged: set[str] = set()
    for label in model_labels:
        section = label_section(state, model_id, label)
        sections.append(section)
        if label.hardware not in badged:
            badged.add(label.hardware)
            texts = badge_texts(
                model_id, label, section.cheaper, site_url, section.achievable, section.carbon
            )
            write_badge(write, root, model_id, texts, label.hardware)
    # the model's own badge is its first label's: the same files, linked rather than copied
    link_own_badge(root, model_id, model_labels[0].hardware)
    model = details.models.get((model_id, model_labels[0].revision))
    page = ModelPage(
        model_id=model_id,
        model=model,
        tags=_tags(model),
        badge_src=f"../badges/{badge_stem(model_id)}.svg",
        sections=tuple(sections),
    )
    template = state.main_template or state.env.get_template("model_main.html.j2")
    main = template.render(**state.common, page=page)
    before, after = state.model_frame
    title = str(escape(model_id + " \u2013 energy label"))  # a str: str.join escapes nothing
    write(
        f"{root}models/{model_slug(model_id)}.html",
        f"{title.join(before)}{main}{title.join(after)}",
    )

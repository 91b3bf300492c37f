"""Put the energy label into a model card (README.md) and push it to the Hub.

The label lives between two HTML comment markers, so it can be inserted once and replaced
in place later without touching a byte of the author's own text or YAML front matter.
"""

from __future__ import annotations

import html
import re
import tempfile
from collections.abc import Callable

from labeler.alternatives import Alternative
from labeler.badges import badge_snippets, badge_urls, markdown_text
from labeler.carbon import Carbon
from labeler.figures import achievable_sentence, format_change, format_energy
from labels.errors import HubError, LabelerError, hub_error
from labels.latest_label import LatestLabel
from labels.recommendation import Recommendation

START_MARKER = "<!-- energy-label:start -->"
END_MARKER = "<!-- energy-label:end -->"

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n.*?^---[ \t]*(?:\r?\n|\Z)", re.DOTALL | re.MULTILINE)

QUALITY_WORDS = {
    "top1_agreement": "agreement",
    "cosine_similarity": "cosine similarity",
    "next_token_agreement": "next-token agreement",
    "span_agreement": "answer-span agreement",
}


class CardError(LabelerError):
    """A model card cannot be updated safely; the message says why in one line."""


def update_card(readme_text: str, block: str) -> str:
    """`readme_text` with the label block inserted, or replaced where the markers already are.

    The first time, the block goes right after the YAML front matter (or at the top). Text
    outside the markers is kept byte for byte, and applying the same block twice is a no-op.
    """
    newline = "\r\n" if "\r\n" in readme_text else "\n"
    body = block.strip("\r\n").replace("\r\n", "\n").replace("\n", newline)
    section = f"{START_MARKER}{newline}{body}{newline}{END_MARKER}"
    start = readme_text.find(START_MARKER)
    end = readme_text.find(END_MARKER)
    if start != -1 or end != -1:
        if start == -1 or end < start:  # no start, or no end after the first start
            raise CardError("model card has an unmatched energy-label marker; fix it by hand")
        if readme_text.count(START_MARKER) > 1 or readme_text.count(END_MARKER) > 1:
            raise CardError("model card has more than one energy-label block; fix it by hand")
        return readme_text[:start] + section + readme_text[end + len(END_MARKER) :]
    match = _FRONT_MATTER.match(readme_text)
    if match:
        head = match.group(0)
        if not head.endswith("\n"):
            head += newline
        return head + section + newline + readme_text[match.end() :]
    if not readme_text:
        return section + newline
    return section + newline + newline + readme_text


def achievable_text(label: LatestLabel) -> str | None:
    """ "C → A with int8-dynamic, −41 % energy, 99.6 % agreement", or None without a better
    qualifying variant. Shared by the card block and the site."""
    grade, best = label.grade, label.best_grade
    if not grade or not best or best == grade or not label.best_variant:
        return None
    tactic = label.best_variant
    top = top_recommendation(label)
    if top and top.variant == label.best_variant and top.tactic:
        tactic = top.tactic
    energy, best_energy = label.energy_wh_per_1k, label.best_energy_wh_per_1k
    metric = label.quality_metric or ""
    return achievable_sentence(
        grade,
        best,
        str(tactic),
        best_energy / energy - 1 if energy and best_energy is not None else None,
        label.quality_retained,
        QUALITY_WORDS.get(metric, metric),
    )


def top_recommendation(label: LatestLabel) -> Recommendation | None:
    """The first recommendation that applies and qualifies (the list is ranked best first)."""
    return next((r for r in label.recommendations if r.applies and r.qualifies), None)


def card_block(
    label: LatestLabel,
    site_url: str | None,
    alternative: Alternative | None = None,
    carbon: Carbon | None = None,
) -> str:
    """Markdown for a model card: badge, grade, achievable grade, CO2e (when `carbon` is
    given), top recommendation, the cheapest comparable alternative model (when there is
    one), link."""
    model_id = label.model_id
    snippet = badge_snippets(model_id, site_url)["markdown"]
    page = badge_urls(model_id, site_url)["page"]
    grade = label.grade
    where = ", ".join(
        html.escape(value, quote=False) for value in (label.task, label.hardware) if value
    )
    scheme = html.escape(label.scheme_version or "", quote=False)
    lines = [snippet, ""]
    if grade:
        estimated = " (estimated energy, not measured)" if label.estimated else ""
        energy = label.energy_wh_per_1k
        number = f", {energy:.3g} Wh per 1,000 inferences" if energy is not None else ""
        lines.append(f"**Energy label: {grade}**{number}{estimated} ({where}, scheme {scheme}).")
        if label.contended:
            lines.append(
                "Contended: measured while other processes kept the host busy "
                f"({html.escape(label.reason or 'the host was busy', quote=False)}); graded "
                "anyway on request (--allow-busy-host)."
            )
    else:
        reason = html.escape(label.reason or "no grade", quote=False)
        lines.append(f"**Energy label: not graded** ({where}): {reason}.")
    achievable = achievable_text(label)
    if achievable:
        lines.append(f"Achievable: {html.escape(achievable, quote=False)}.")
    if grade and carbon is not None:
        lines.append(f"Carbon: {html.escape(carbon.text(), quote=False)}.")
    top = top_recommendation(label)
    if top and top.tactic:
        tactic = html.escape(top.tactic, quote=False)
        change = top.energy_change
        detail = f" ({format_change(change)} energy)" if change is not None else ""
        lines.append(f"Top recommendation: {tactic}{detail}.")
    if alternative is not None:
        lines.append(alternative_line(alternative, site_url))
    lines.append(f"Details and methodology: [{page}]({page})")
    return "\n".join(lines)


def alternative_line(alternative: Alternative, site_url: str | None) -> str:
    """ "Cheaper model for the same task: [org/small](…) (class B, …): <quality>."."""
    page = badge_urls(alternative.model_id, site_url)["page"]
    change = alternative.energy_change
    detail = f", {format_change(change)} energy" if change is not None else ""
    estimate = ", estimated" if alternative.estimated else ""
    quality = html.escape(alternative.quality.sentence, quote=False)
    for ch in "[]`*_":
        quality = quality.replace(ch, "\\" + ch)
    return (
        f"Cheaper model for the same task: [{markdown_text(alternative.model_id)}]({page}) "
        f"(class {alternative.grade}, {format_energy(alternative.energy_wh_per_1k)} Wh per "
        f"1,000 inferences{estimate}{detail}); {quality}."
    )


def push_card(
    model_id: str,
    block: str,
    *,
    token: str | None = None,
    create_pr: bool = False,
    endpoint: str | None = None,
    revision: str | None = None,
    edit_metadata: Callable[[str], str] | None = None,
) -> str:
    """Update the README.md of `model_id` on the Hub with `block`; return the commit or PR URL.

    `edit_metadata`, when given, rewrites the card's YAML metadata first (the label's
    `model-index` results). Returns "" when the card already holds all this (nothing is
    pushed). A repository without a README gets one holding just the block.
    """
    # huggingface_hub loads only to push: editing a local card must not pay its import.
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        HfHubHTTPError,
        RepositoryNotFoundError,
    )

    try:
        with tempfile.TemporaryDirectory(prefix="labeler-card-") as cache_dir:
            try:
                path = hf_hub_download(
                    model_id,
                    "README.md",
                    revision=revision,
                    token=token,
                    endpoint=endpoint,
                    cache_dir=cache_dir,
                )
                with open(path, encoding="utf-8", newline="") as handle:
                    original = handle.read()
            except EntryNotFoundError:
                original = ""
        updated = update_card(edit_metadata(original) if edit_metadata else original, block)
        if updated == original:
            return ""
        api = HfApi(endpoint=endpoint, token=token)
        info = api.upload_file(
            path_or_fileobj=updated.encode("utf-8"),
            path_in_repo="README.md",
            repo_id=model_id,
            revision=revision,
            create_pr=create_pr,
            commit_message="Add energy label to model card",
            commit_description="Energy label block generated by hf-energy-labels (labeler).",
        )
    except RepositoryNotFoundError:
        raise HubError(
            f"no model {model_id!r} on the Hub (or it is private and the token cannot see it)",
            404,
        ) from None
    except HfHubHTTPError as exc:
        raise hub_error(exc, f"the model card of {model_id}") from None
    return str(info.pr_url or info.commit_url)

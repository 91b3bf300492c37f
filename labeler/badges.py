"""Badges for model cards and READMEs: a static SVG and a shields.io endpoint JSON.

The SVG copies the shields "flat" look so it sits well beside other badges, but is drawn
here so that it works without shields.io. The grade letter is always printed, its colour
follows the EU label (dark green A to red G) and every colour pair keeps WCAG AA contrast.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from labeler.slugs import badge_stem, model_slug

if TYPE_CHECKING:
    from labeler.alternatives import Alternative
    from labeler.carbon import Carbon
    from labels.latest_label import LatestLabel

# EU label hues, nudged where needed so the letter on them reaches 4.5:1 (tests check it).
GRADE_COLOURS: dict[str, str] = {
    "A": "#00843d",
    "B": "#4cb847",
    "C": "#b5d334",
    "D": "#ffe600",
    "E": "#fbb034",
    "F": "#ef7d22",
    "G": "#d01c2b",
}
UNGRADED_COLOUR = "#6b6b6b"
LABEL_COLOUR = "#555555"
DARK_TEXT = "#1b1b1b"
LIGHT_TEXT = "#ffffff"
_LIGHT_TEXT_GRADES = {"A", "G"}

# Advance widths of Verdana 11 px, in tenths of a pixel, as shields measures text; other
# characters use the default. Good enough for short labels; exactness is not the point.
_WIDTHS: dict[str, int] = {
    **dict.fromkeys("ijl", 31),
    **dict.fromkeys("frt", 43),
    **dict.fromkeys(" I", 39),
    **dict.fromkeys("()[]", 45),
    **dict.fromkeys(".,:;", 39),
    **dict.fromkeys("abcdeghknopqsuvxyz", 68),
    **dict.fromkeys("0123456789", 70),
    **dict.fromkeys("mw", 98),
    **dict.fromkeys("ABCDEFGHJKLNOPQRSTUVXYZ", 75),
    **dict.fromkeys("MW", 93),
    "/": 49,
    "-": 49,
    "\u2192": 90,
}
_DEFAULT_WIDTH = 70


def grade_colour(grade: str | None) -> str:
    """Background colour of a grade as `#rrggbb`; grey when ungraded or unknown."""
    return GRADE_COLOURS.get(grade or "", UNGRADED_COLOUR)


def grade_text_colour(grade: str | None) -> str:
    """Colour of the letter printed on `grade_colour(grade)`: white on dark, dark on light."""
    if grade not in GRADE_COLOURS or grade in _LIGHT_TEXT_GRADES:
        return LIGHT_TEXT
    return DARK_TEXT


def contrast_ratio(colour_a: str, colour_b: str) -> float:
    """WCAG 2 contrast ratio of two `#rrggbb` colours (1 to 21)."""

    def luminance(colour: str) -> float:
        channels = [int(colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(colour_a), luminance(colour_b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _text_width_tenths(text: str) -> int:
    return sum(_WIDTHS.get(ch, _DEFAULT_WIDTH) for ch in text)


def badge_message(grade: str | None, *, estimated: bool = False, contended: bool = False) -> str:
    """The right-hand text: the letter, `n/a` when ungraded, `est.` for an estimate,
    `contended` for a grade measured on a busy host (--allow-busy-host)."""
    message = grade if grade in GRADE_COLOURS else "n/a"
    if estimated and grade in GRADE_COLOURS:
        message += " est."
    if contended and grade in GRADE_COLOURS:
        message += " contended"
    return message


def badge_svg(
    grade: str | None,
    *,
    estimated: bool = False,
    label: str = "energy",
    contended: bool = False,
) -> str:
    """A shields "flat" style SVG badge: grey `label` on the left, the grade on its colour."""
    message = badge_message(grade, estimated=estimated, contended=contended)
    spoken = f"{label} label: {grade if grade in GRADE_COLOURS else 'not graded'}"
    if estimated and grade in GRADE_COLOURS:
        spoken += " (estimated)"
    if contended and grade in GRADE_COLOURS:
        spoken += " (measured on a busy host)"
    label_text_w = _text_width_tenths(label)
    message_text_w = _text_width_tenths(message)
    label_w = (label_text_w + 100) // 10 + 1
    message_w = (message_text_w + 100) // 10 + 1
    width = label_w + message_w
    colour = grade_colour(grade)
    text_colour = grade_text_colour(grade)
    shadow = "#010101" if text_colour == LIGHT_TEXT else "#ffffff"
    label_x = label_w * 5
    message_x = label_w * 10 + message_w * 5
    esc_label = html.escape(label, quote=True)
    esc_message = html.escape(message, quote=True)
    esc_spoken = html.escape(spoken, quote=True)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{esc_spoken}">'
        f"<title>{esc_spoken}</title>"
        '<linearGradient id="s" x2="0" y2="100%">'
        '<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{width}" height="20" rx="3" fill="#fff"/></clipPath>'
        '<g clip-path="url(#r)">'
        f'<rect width="{label_w}" height="20" fill="{LABEL_COLOUR}"/>'
        f'<rect x="{label_w}" width="{message_w}" height="20" fill="{colour}"/>'
        f'<rect width="{width}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        'text-rendering="geometricPrecision" font-size="110">'
        f'<text aria-hidden="true" x="{label_x}" y="150" fill="#010101" fill-opacity=".3" '
        f'transform="scale(.1)" textLength="{label_text_w}">{esc_label}</text>'
        f'<text x="{label_x}" y="140" transform="scale(.1)" fill="#fff" '
        f'textLength="{label_text_w}">{esc_label}</text>'
        f'<text aria-hidden="true" x="{message_x}" y="150" fill="{shadow}" fill-opacity=".3" '
        f'transform="scale(.1)" textLength="{message_text_w}">{esc_message}</text>'
        f'<text x="{message_x}" y="140" transform="scale(.1)" fill="{text_colour}" '
        f'textLength="{message_text_w}">{esc_message}</text>'
        "</g></svg>\n"
    )


def shields_endpoint(
    grade: str | None,
    *,
    estimated: bool = False,
    best_grade: str | None = None,
    borderline: bool = False,
    label: str = "energy",
    contended: bool = False,
) -> dict[str, Any]:
    """The JSON shields.io's endpoint badge reads (https://shields.io/badges/endpoint-badge).

    shields validates this strictly and rejects unknown keys, so nothing else goes in here:
    the recommendations live in a `.recommendations.json` file beside it.
    """
    message = grade if grade in GRADE_COLOURS else "n/a"
    if grade in GRADE_COLOURS and best_grade in GRADE_COLOURS and best_grade != grade:
        message = f"{grade} \u2192 {best_grade}"
    if estimated and grade in GRADE_COLOURS:
        message += " est."
    if borderline and grade in GRADE_COLOURS:  # the EEI interval crosses a class boundary
        message += " borderline"
    if contended and grade in GRADE_COLOURS:  # graded on a busy host (--allow-busy-host)
        message += " contended"
    return {
        "schemaVersion": 1,
        "label": label,
        "message": message,
        "color": grade_colour(grade).lstrip("#"),
        "labelColor": LABEL_COLOUR.lstrip("#"),
        "cacheSeconds": 86400,
    }


def badge_urls(model_id: str, site_url: str | None, hardware: str | None = None) -> dict[str, str]:
    """Where a model's badge files and page live, absolute when `site_url` is known."""
    base = (site_url.rstrip("/") + "/") if site_url else ""
    stem = badge_stem(model_id, hardware)
    return {
        "svg": f"{base}badges/{stem}.svg",
        "json": f"{base}badges/{stem}.json",
        "page": f"{base}models/{model_slug(model_id)}.html",
    }


def cheaper_alternative_json(
    alternative: Alternative | None, site_url: str | None = None
) -> dict[str, Any] | None:
    """The cheapest comparable alternative as the badge details JSON names it (or None).

    Not in the shields.io endpoint JSON, which rejects unknown keys: in the
    `.recommendations.json` file beside it.
    """
    if alternative is None:
        return None
    return {
        **alternative.to_dict(),
        "page": badge_urls(alternative.model_id, site_url)["page"],
        "summary": alternative.summary(),
    }


def carbon_json(carbon: Carbon | None) -> dict[str, Any] | None:
    """The CO2e entry of the badge details JSON: grams per 1,000 inferences, the grid
    intensity, its source and whether it is the world-average default (or None)."""
    if carbon is None:
        return None
    return {**carbon.to_dict(), "text": carbon.text()}


def badge_details(label: LatestLabel, carbon: Carbon | None) -> dict[str, Any]:
    """The label's own figures for the `.recommendations.json` file beside the shields JSON
    (which rejects unknown keys), with its CO2e; `labeler badge --format details` prints it."""
    return {
        "model_id": label.model_id,
        "task": label.task,
        "hardware": label.hardware,
        "scheme_version": label.scheme_version,
        "grade": label.grade,
        "best_grade": label.best_grade,
        "energy_wh_per_1k": label.energy_wh_per_1k,
        "estimated": bool(label.estimated),
        "noisy": bool(label.noisy),
        "borderline": bool(label.borderline),
        "contended": bool(label.contended),
        "foreign_cpu_cores": label.foreign_cpu_cores,
        "eei": label.eei,
        "eei_low": label.eei_low,
        "eei_high": label.eei_high,
        "carbon": carbon_json(carbon),
    }


def markdown_text(text: str) -> str:
    """Text safe inside a Markdown link label: brackets escaped, HTML neutralised."""
    escaped = html.escape(text, quote=False)
    for ch in "\\[]()`*_":
        escaped = escaped.replace(ch, "\\" + ch)
    return escaped


def badge_snippets(
    model_id: str, site_url: str | None, hardware: str | None = None
) -> dict[str, str]:
    """Markdown and HTML that show the badge and link to the model's page.

    Without `site_url` the links are relative to the site root; the site says so next to them.
    The `shields` entry uses shields.io's endpoint badge, for READMEs that prefer it.
    """
    urls = badge_urls(model_id, site_url, hardware)
    alt = f"energy label of {model_id}"
    markdown = f"[![{markdown_text(alt)}]({urls['svg']})]({urls['page']})"
    html_snippet = (
        f'<a href="{html.escape(urls["page"], quote=True)}">'
        f'<img src="{html.escape(urls["svg"], quote=True)}" '
        f'alt="{html.escape(alt, quote=True)}"></a>'
    )
    snippets = {"markdown": markdown, "html": html_snippet}
    if site_url:
        endpoint = "https://img.shields.io/endpoint?url=" + quote(urls["json"], safe="")
        snippets["shields"] = f"[![{markdown_text(alt)}]({endpoint})]({urls['page']})"
    return snippets

"""One label's section of a model page (graphic, verdict, variants, recommendations,
batching, cheaper models, provenance), written as Python string building.

A full build renders this for every label of every model (10,000 and more), and through
Jinja it was most of the build's CPU: an `escape` and a `Markup` per value, an attribute
lookup through the environment per field, a macro call per chip. Here a value from the
catalog is escaped once and a figure this code formats itself (digits, signs, dashes) is
written as it is. The output is byte for byte what the template `model.html.j2` made before
(trim_blocks and lstrip_blocks included), so the section reads as that template did: each
line of the old template is one line here.
"""

from __future__ import annotations

import functools
from typing import Any

from markupsafe import Markup, escape

from labeler.costs import format_money
from labeler.figures import format_change, format_date, format_energy, format_percent
from labels.run_status import RunStatus
from labels.scheme import GRADES
from labels.tactic_kinds import is_baseline_variant

_ROW_H = 28
_DASH = "\u2013"
_BEST = ' class="best"'


def _e(value: Any) -> str:
    """A value as Jinja's autoescape writes it (markupsafe's escapes, None as "None"), as a
    plain str: adding a str to a Markup would escape it again. Most values hold none of the
    five characters, and a test for them is cheaper than markupsafe's call and Markup."""
    if type(value) is not str:
        if hasattr(value, "__html__"):
            return str.__str__(value.__html__())
        value = str(value)
    if "&" in value or "<" in value or ">" in value or '"' in value or "'" in value:
        return str.__str__(escape(value))
    return value


def grade_chip(
    grade: str | None, estimated: Any = False, noisy: Any = False, borderline: Any = False
) -> str:
    """The coloured class chip with its flags (the `grade_chip` macro of `_macros.html.j2`)."""
    title = _e("class " + grade) if grade else "not graded"
    text = (
        f'<span class="grade grade-{_e(grade or "na")}" title="{title}">{_e(grade or "n/a")}</span>'
    )
    if estimated:
        text += (
            ' <abbr class="flag flag-est" title="estimated energy, not measured by a counter">'
            "est.</abbr>"
        )
    if noisy:
        text += (
            ' <abbr class="flag flag-noisy" title="noisy: the windows vary more than the scheme'
            ' allows">noisy</abbr>'
        )
    if borderline:
        text += (
            ' <abbr class="flag flag-borderline" title="borderline: the EEI interval crosses a'
            ' class boundary">borderline</abbr>'
        )
    return text


def label_graphic(label: Any, anchor: str, label_bars: str) -> str:
    """The A-G label as inline SVG."""
    grade, best = label.grade, label.best_grade
    energy = format_energy(label.energy_wh_per_1k)
    hardware, task, scheme = _e(label.hardware), _e(label.task), _e(label.scheme_version)
    title = f"Energy label: {_e('class ' + grade) if grade else 'not graded'}"
    if best and grade and best != grade:
        title += f", achievable class {_e(best)}"
    title += f"; {energy} Wh per 1,000 inferences on {hardware}, task {task}, scheme {scheme}"
    if label.estimated:
        title += ", estimated"
    if label.noisy:
        title += ", noisy"
    out = [
        '<svg class="eu-label" viewBox="0 0 340 356" width="340" height="356" role="img" '
        f'aria-labelledby="label-title-{_e(anchor)}" xmlns="http://www.w3.org/2000/svg">\n'
        f'  <title id="label-title-{_e(anchor)}">{title}</title>\n'
        '  <rect x="1" y="1" width="338" height="354" rx="10" fill="#ffffff" stroke="#1b1b1b" '
        'stroke-width="2"/>\n'
        '  <text x="16" y="29" font-size="18" font-weight="700" fill="#1b1b1b">ENERGY</text>\n'
        '  <text x="324" y="29" font-size="12" fill="#444444" text-anchor="end">'
        "Wh per 1,000 inferences</text>\n"
        '  <line x1="12" y1="38" x2="328" y2="38" stroke="#1b1b1b" stroke-width="1"/>\n'
        f"  {label_bars}\n"
    ]
    if grade in GRADES:
        y = 46 + GRADES.index(grade) * _ROW_H
        out.append(
            f'  <polygon points="232,{y + 11} 248,{y - 2} 324,{y - 2} 324,{y + 24} 248,{y + 24}" '
            'fill="#1b1b1b"/>\n'
            f'  <text x="288" y="{y + 19}" font-size="22" font-weight="700" fill="#ffffff" '
            f'text-anchor="middle">{_e(grade)}</text>\n'
        )
        if best in GRADES and best != grade:
            y = 46 + GRADES.index(best) * _ROW_H
            out.append(
                f'  <polygon points="214,{y + 11} 228,{y} 324,{y} 324,{y + 22} 228,{y + 22}" '
                'fill="#ffffff" stroke="#1b1b1b" stroke-width="1.5" stroke-dasharray="4 3"/>\n'
                f'  <text x="276" y="{y + 16}" font-size="11" fill="#1b1b1b" '
                f'text-anchor="middle">achievable {_e(best)}</text>\n'
            )
    out.append('  <line x1="12" y1="246" x2="328" y2="246" stroke="#1b1b1b" stroke-width="1"/>\n')
    if grade:
        out.append(
            f'  <text x="16" y="282" font-size="30" font-weight="700" fill="#1b1b1b">{energy}'
            "</text>\n"
            '  <text x="324" y="280" font-size="13" fill="#1b1b1b" text-anchor="end">'
            "Wh / 1k inferences</text>\n"
        )
    else:
        out.append(
            '  <text x="16" y="280" font-size="20" font-weight="700" fill="#1b1b1b">'
            "Not graded</text>\n"
        )
        if label.energy_wh_per_1k is not None:
            out.append(
                '<text x="324" y="280" font-size="13" fill="#1b1b1b" text-anchor="end">'
                f"{energy} Wh / 1k</text>"
            )
    out.append(
        f'  <text x="16" y="304" font-size="12.5" fill="#1b1b1b">{hardware} \u00b7 {task}</text>\n'
        f'  <text x="16" y="322" font-size="12.5" fill="#444444">scheme {scheme} \u00b7 '
        f"measured {_e(format_date(label.measured_at))}</text>\n"
    )
    x = 16
    if label.estimated:
        out.append(
            f'  <rect x="{x}" y="330" width="78" height="18" rx="3" fill="#fff3cd" '
            'stroke="#8a6d00"/>\n'
            f'  <text x="{x + 39}" y="343" font-size="11" font-weight="700" fill="#5c4700" '
            'text-anchor="middle">ESTIMATED</text>\n'
        )
        x += 86
    if label.noisy:
        out.append(
            f'  <rect x="{x}" y="330" width="58" height="18" rx="3" fill="#fde2e1" '
            'stroke="#9b1c1c"/>\n'
            f'  <text x="{x + 29}" y="343" font-size="11" font-weight="700" fill="#7a1414" '
            'text-anchor="middle">NOISY</text>\n'
        )
    out.append("</svg>")
    return "".join(out)


def copy_snippet(element_id: str, title: str, text: str) -> str:
    """A read-only text box with a copy button."""
    element_id = _e(element_id)
    return (
        '<div class="snippet">\n'
        f'  <label for="{element_id}">{_e(title)}</label>\n'
        '  <div class="snippet-row">\n'
        f'    <textarea id="{element_id}" readonly rows="2" spellcheck="false">{_e(text)}'
        "</textarea>\n"
        f'    <button type="button" class="copy-button" data-copy-target="{element_id}">'
        "Copy</button>\n"
        "  </div>\n"
        '  <span class="copy-status" role="status" aria-live="polite"></span>\n'
        "</div>"
    )


def cheaper_models(entry: Any, links: list[tuple[Any, str]], anchor: str) -> str:
    """Better-graded models of the same task and hardware, cheapest first."""
    out = [f'<h3 id="{_e(anchor)}-cheaper">Cheaper models for the same task</h3>\n']
    if entry is None or entry.grade is None:
        out.append(
            '<p class="muted">This label has no grade, so no model is compared with it.</p>\n'
        )
    elif links:
        out.append(
            f'<p class="muted small">Models of {_e(entry.task)} on {_e(entry.hardware)} with a '
            "better grade, by energy. Quality is compared only where it means something: both "
            "model cards report the same dataset and metric, or both classifiers share a label "
            "set and were run on the same reference inputs.</p>\n"
            '<ol class="alternatives">\n'
        )
        for alt, href in links:
            change = (
                f" ({format_change(alt.energy_change)} energy)"
                if alt.energy_change is not None
                else ""
            )
            quality_class = "alt-quality" if alt.comparable else "alt-quality muted"
            out.append(
                "  <li>\n"
                f'    <a href="{_e(href)}">{_e(alt.model_id)}</a> '
                f"{grade_chip(alt.grade, estimated=alt.estimated)}\n"
                f"    {format_energy(alt.energy_wh_per_1k)} Wh per 1,000 inferences{change}:\n"
                f'    <span class="{quality_class}">{_e(alt.quality.sentence)}</span>.\n'
                "  </li>\n"
            )
        out.append("</ol>\n")
        if entry.total > len(links):
            out.append(
                f'<p class="muted small">{entry.total - len(links)} more better-graded models: '
                "<code>labeler alternatives</code> lists them all.</p>"
            )
    else:
        out.append(
            f'<p class="muted">No model of {_e(entry.task)} on {_e(entry.hardware)} in the '
            "catalog has a better grade.</p>\n"
        )
    return "".join(out)


def _fixed(value: float | None, digits: int) -> str:
    """ "%.1f" of a figure, or an en dash where it is unknown."""
    return _DASH if value is None else f"{value:.{digits}f}"


def _verdict(s: dict[str, Any], label: Any, noisy_cv: float) -> list[str]:
    out = []
    if label.grade:
        chip = grade_chip(label.grade, label.estimated, label.noisy, label.borderline)
        energy = f"{format_energy(label.energy_wh_per_1k)} Wh per 1,000 inferences"
        if label.estimated:
            energy += " (estimate)"
        if label.energy_j_per_token is not None:
            energy += f", {label.energy_j_per_token:.3g} J per generated token"
        out.append(
            f'      <p class="verdict">As published: {chip}\n'
            f'        <span class="energy">{energy}</span></p>\n'
        )
        money = s["money"]
        if money and money.baseline_cost_per_million is not None:
            currency = money.prices.currency
            out.append(
                '<p class="running-cost">Running cost: <strong>'
                f"{_e(format_money(money.baseline_cost_per_million, currency))} per 1 million "
                f'inferences</strong> <span class="muted">(energy at '
                f"{money.prices.electricity_price_per_kwh:g} {_e(currency)}/kWh + "
                f"machine time at {money.hardware_price_per_hour:g} {_e(currency)}/h)"
                "</span></p>"
            )
        if label.previous_grade:
            out.append(
                f'<p class="grade-history">Earlier grade {grade_chip(label.previous_grade)}, '
                f"changed on {_e(format_date(label.grade_changed_at))}.</p>"
            )
        if s["achievable"]:
            out.append(
                f'      <p class="achievable"><strong>Achievable:</strong> {_e(s["achievable"])}'
                "</p>\n"
            )
        elif label.best_grade:
            out.append(
                '      <p class="achievable">No tested variant reaches a better class while '
                "keeping quality.</p>\n"
            )
        out.append(
            f'      <p><a class="compare-link" href="{_e(s["compare_href"])}">Compare with other '
            f"{_e(label.task)} models on {_e(label.hardware)}</a></p>\n"
        )
        if label.eei is not None and label.eei_low is not None:
            text = (
                f'<p class="muted">Efficiency index EEI = {label.eei:.3f} (interval '
                f"{label.eei_low:.3f}\u2013{label.eei_high:.3f}), energy \u00f7 "
                f"the reference model {_e(label.reference_model)} measured beside it."
            )
            if label.measured_grade and label.measured_grade != label.grade:
                text += (
                    f" This measurement alone reads class {_e(label.measured_grade)}; its "
                    f"interval still touches class {_e(label.grade)}, so the published grade "
                    "holds."
                )
            out.append(text + "</p>\n")
            if label.borderline:
                out.append(
                    '<p class="callout callout-borderline"><strong>Borderline.</strong> The EEI '
                    "interval crosses a class boundary: the grade could be the neighbouring "
                    "class on another measurement.</p>"
                )
        elif label.eei is not None:
            out.append(
                f'<p class="muted">Efficiency index EEI = {label.eei:.3f} '
                "(energy \u00f7 reference energy).</p>"
            )
    else:
        out.append(
            f'      <p class="verdict">Not graded {grade_chip(None)}</p>\n'
            f'      <p class="reason">{_e(label.reason or "No reason recorded.")}</p>\n'
        )
    if label.estimated:
        out.append(
            '      <p class="callout callout-est"><strong>Estimated.</strong> This machine has '
            "no energy counter, so the energy comes from a documented model (TDP \u00d7 "
            "utilisation), not a measurement. Treat the class as indicative.</p>\n"
        )
    if label.noisy:
        out.append(
            '      <p class="callout callout-noisy"><strong>Noisy.</strong> The measured '
            "windows varied more than the scheme allows (coefficient of variation above "
            f"{noisy_cv * 100:.0f} %). The median is shown; rescan on a quieter "
            "machine to confirm.</p>\n"
        )
    return out


def _snippets(s: dict[str, Any], label: Any, site_url: str | None) -> str:
    anchor, snippets = s["anchor"], s["snippets"]
    text = (
        '      <div class="snippets">\n'
        "        <h3>Badge for this label</h3>\n"
        f'        <img class="badge" src="{_e(s["badge_src"])}" alt="energy label badge for '
        f'{_e(label.task)} on {_e(label.hardware)}">\n'
        f"        {copy_snippet('md-' + anchor, 'Markdown', snippets['markdown'])}\n"
        f"        {copy_snippet('html-' + anchor, 'HTML', snippets['html'])}\n"
    )
    if snippets.get("shields"):
        text += copy_snippet(
            "shields-" + anchor, "shields.io endpoint (Markdown)", snippets["shields"]
        )
    if not site_url:
        text += (
            '<p class="muted small">These links are relative to the site root: build with a '
            "site URL to get links that work in a model card.</p>"
        )
    return text + "      </div>\n"


_VARIANTS_HEAD = (
    '  <div class="table-wrap">\n'
    '  <table class="variants">\n'
    '    <caption class="visually-hidden">Variants of {model} for {task} on {hardware}'
    "</caption>\n"
    "    <thead><tr>\n"
    '      <th scope="col">Variant</th><th scope="col">Status</th>\n'
    '      <th scope="col" class="num">Wh / 1k <span class="sub">CV</span></th>\n'
    '      <th scope="col" class="num"><abbr title="energy change against the baseline windows'
    " measured between this variant's windows, and the pairs in which the variant used less\">"
    'vs baseline</abbr> <span class="sub">paired</span></th>\n'
    '      <th scope="col" class="num">Latency ms <span class="sub">p50 / p95</span></th>'
    '<th scope="col" class="num">Peak mem <span class="sub">MB</span></th>\n'
    '      <th scope="col" class="num">Quality</th><th scope="col">Qualifies</th>\n'
    '      <th scope="col" class="num">Size <span class="sub">MB</span></th><th scope="col" '
    'class="num">Build <span class="sub">s</span></th><th scope="col">Notes</th>\n'
    "    </tr></thead>\n"
    "    <tbody>\n"
)


def _variants(
    s: dict[str, Any], label: Any, model_id: str, quality_words: dict[str, str]
) -> list[str]:
    runs = s["runs"]
    if not runs:
        return ['  <p class="muted">No runs recorded for this label.</p>\n']
    out = [
        _VARIANTS_HEAD.format(model=_e(model_id), task=_e(label.task), hardware=_e(label.hardware))
    ]
    best_variant = label.best_variant
    for r in runs:
        variant = r.variant
        best = variant == best_variant and not is_baseline_variant(best_variant)
        name = _e(variant)
        if best:
            name += ' <span class="flag flag-best">best</span>'
        if r.tactic != variant:
            name += f'<span class="sub">{_e(r.tactic)}</span>'
        energy = format_energy(r.energy_wh_per_1k)
        if r.noisy:
            energy += ' <abbr class="flag flag-noisy" title="noisy">noisy</abbr>'
        if r.energy_cv is not None:
            energy += f'<span class="sub">CV {format_percent(r.energy_cv)}</span>'
        if is_baseline_variant(variant):
            paired = '<span class="muted">reference</span>'
        elif r.paired_energy_ratio is not None:
            paired = (
                f'{format_change(r.paired_energy_ratio - 1)}<span class="sub">'
                f"{_e(r.paired_cheaper_windows)}/{_e(r.windows)} pairs</span>"
            )
        else:
            paired = _DASH
        if r.latency_ms_p50 is not None:
            latency = (
                f'{r.latency_ms_p50:.1f}<span class="sub">{(r.latency_ms_p95 or 0):.1f}</span>'
            )
        else:
            latency = _DASH
        if r.quality_value is not None:
            words = quality_words.get(r.quality_metric, r.quality_metric or "")
            quality = f'{format_percent(r.quality_value)}<span class="sub">{_e(words)}</span>'
        else:
            quality = _DASH
        if is_baseline_variant(variant):
            qualifies = '<span class="muted">reference</span>'
        elif r.qualifies:
            qualifies = "yes"
        elif r.qualifies is None:
            qualifies = _DASH
        else:
            qualifies = "no"
        notes = _e(r.reason or "")
        if r.reason and r.notes:
            notes += "; "
        notes += _e(r.notes or "")
        out.append(
            f"      <tr{_BEST if best else ''}>\n"
            f'        <th scope="row" data-label="Variant">{name}</th>\n'
            f'        <td data-label="Status"><span class="status status-{_e(r.status)}">'
            f"{_e(r.status)}</span></td>\n"
            f'        <td class="num" data-label="Wh / 1k">{energy}</td>\n'
            f'        <td class="num" data-label="vs baseline">{paired}</td>\n'
            f'        <td class="num" data-label="Latency ms">{latency}</td>\n'
            f'        <td class="num" data-label="Peak mem MB">{_fixed(r.peak_mem_mb, 0)}</td>\n'
            f'        <td class="num" data-label="Quality">{quality}</td>\n'
            f'        <td data-label="Qualifies">{qualifies}</td>\n'
            f'        <td class="num" data-label="Size MB">{_fixed(r.size_mb, 1)}</td>\n'
            f'        <td class="num" data-label="Build s">{_fixed(r.build_s, 1)}</td>\n'
            f'        <td class="notes" data-label="Notes">{notes}</td>\n'
            "      </tr>\n"
        )
    out.append("    </tbody>\n  </table>\n  </div>\n")
    return out


def _recommendation(r: Any, money: Any, quality_words: dict[str, str]) -> str:
    head = f"<strong>{_e(r.tactic)}</strong>"
    if r.variant:
        head += f' <span class="muted">({_e(r.variant)})</span>'
    text = f"    <li>\n      {head}:\n      {format_change(r.energy_change)} energy"
    if r.latency_change is not None:
        text += f", {format_change(r.latency_change)} latency"
    if r.quality_value is not None:
        words = quality_words.get(r.quality_metric, r.quality_metric or "")
        text += f", {format_percent(r.quality_value)} {_e(words)}"
    if r.grade:
        text += f" \u2192 class {grade_chip(r.grade)}"
    if r.qualifies is False:
        text += ' <span class="flag flag-noisy">below the quality gate</span>'
    text += '      <span class="rec-detail">\n'
    if r.size_mb is not None:
        text += f"size {r.size_mb:.1f} MB \u00b7 "
    if r.build_s is not None:
        text += f"build {r.build_s:.1f} s"
    if r.build_energy_wh is not None:
        text += f" ({format_energy(r.build_energy_wh)} Wh)"
    if r.payback_inferences:
        text += f" \u00b7 pays back its build energy after {r.payback_inferences:,} inferences"
    cash = money.by_variant.get(r.variant) if money else None
    if cash and cash.cost_per_million is not None:
        currency = cash.currency
        text += f" \u00b7 {_e(format_money(cash.cost_per_million, currency))} per 1M inferences"
        if cash.cost_change is not None:
            text += f" ({format_change(cash.cost_change)})"
        payback = cash.payback
        if payback:
            text += f"; build cost {_e(format_money(payback.build_cost, currency))}"
            if payback.inferences is None:
                text += ", never paid back in money"
            elif payback.inferences:
                text += f", paid back in money after {payback.inferences:,} inferences"
    text += "      </span>\n"
    if r.note:
        text += f'<span class="rec-note">{_e(r.note)}</span>'
    return text + "    </li>\n"


def _batching(batching: Any, model_id: str) -> str:
    sentence = batching.sentence
    if sentence:
        advice = (
            f'<p class="batching-advice"><strong>{_e(sentence.capitalize())}</strong> '
            "(against batch 1).</p>"
        )
    else:
        advice = (
            '<p class="muted">No batch size measured used less energy per inference than '
            "batch 1.</p>"
        )
    out = [
        "  <h3>Batching</h3>\n",
        advice,
        '  <div class="table-wrap">\n'
        '  <table class="batching">\n'
        f'    <caption class="visually-hidden">The baseline of {_e(model_id)} at several batch '
        "sizes</caption>\n"
        '    <thead><tr><th scope="col" class="num">Batch</th><th scope="col" class="num">'
        'Wh / 1k</th><th scope="col" class="num">Latency per request <span class="sub">ms'
        '</span></th><th scope="col" class="num">Inferences / s</th><th scope="col">Notes'
        "</th></tr></thead>\n"
        "    <tbody>\n",
    ]
    for p in batching.points:
        energy = format_energy(p.energy_wh_per_1k) if p.energy_wh_per_1k is not None else _DASH
        if p.status != RunStatus.OK:
            notes = f"{_e(p.status)}: {_e(p.reason or '')}"
        elif p.batch_size == 1:
            notes = "interactive (the AI Energy Score's batch size)"
        else:
            notes = ""
        out.append(
            f'      <tr><th scope="row" class="num" data-label="Batch">{_e(p.batch_size)}</th>\n'
            f'        <td class="num" data-label="Wh / 1k">{energy}</td>\n'
            f'        <td class="num" data-label="Latency per request">'
            f"{_fixed(p.latency_ms_per_request, 1)}</td>\n"
            f'        <td class="num" data-label="Inferences / s">{_fixed(p.inferences_per_s, 1)}'
            "</td>\n"
            f'        <td data-label="Notes">{notes}</td></tr>\n'
        )
    out.append(
        "    </tbody>\n  </table>\n  </div>\n"
        '  <p class="muted small">Measured beside the label on the same machine; the grade '
        "always uses the scheme's fixed workload.</p>\n"
    )
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def _group_head(title: str, items: tuple[tuple[str, str], ...]) -> str:
    """A provenance group up to its label-specific lines. The device, meter and software
    groups are the same for every model measured on one machine: made once there."""
    title = _e(title)
    rows = "".join(f"<div><dt>{_e(name)}</dt><dd>{_e(value)}</dd></div>" for name, value in items)
    return (
        f'    <section class="provenance-group" aria-label="{title}">\n'
        f"      <h4>{title}</h4>\n"
        f"      <dl>\n{rows}"
    )


def _provenance(provenance: Any, label: Any) -> str:
    if not provenance.groups:
        return '  <p class="muted">No provenance recorded.</p>\n'
    out = ['  <div class="provenance">\n']
    for group in provenance.groups:
        out.append(_group_head(group.title, tuple(group.items)))
        if group.title == "Protocol":
            out.append(
                f"        <div><dt>Scheme</dt><dd>{_e(label.scheme_version)}</dd></div>\n"
                "        <div><dt>Measured</dt>"
                f"<dd>{_e(format_date(label.measured_at))}</dd></div>\n"
                f"        <div><dt>Graded</dt><dd>{_e(format_date(label.graded_at))}</dd></div>\n"
            )
        out.append("      </dl>\n    </section>\n")
    out.append("  </div>\n")
    if provenance.raw_json:
        out.append(
            '  <details class="raw-provenance"><summary>Raw provenance (JSON, as recorded by '
            "the harness)</summary>\n"
            f'    <pre class="code">{_e(provenance.raw_json)}</pre>\n'
            "  </details>\n"
        )
    return "".join(out)


def label_section(
    s: dict[str, Any],
    model_id: str,
    site_url: str | None,
    noisy_cv: float,
    label_bars: str,
    quality_words: dict[str, str],
) -> Markup:
    """The <section> of one label on its model page, from the section dict that
    `labeler.site` assembles (label, runs, money, batching, cheaper models, provenance)."""
    label, anchor = s["label"], _e(s["anchor"])
    out = [
        f'<section class="label-section" id="{anchor}" aria-labelledby="{anchor}-h">\n'
        f'  <h2 id="{anchor}-h">{_e(label.task)} on {_e(label.hardware)}</h2>\n'
        '  <div class="label-grid">\n'
        f'    <div class="label-figure">{label_graphic(label, s["anchor"], label_bars)}</div>\n'
        '    <div class="label-summary">\n'
    ]
    out.extend(_verdict(s, label, noisy_cv))
    out.append(_snippets(s, label, site_url))
    out.append("    </div>\n  </div>\n\n  <h3>Variants</h3>\n")
    out.extend(_variants(s, label, model_id, quality_words))
    out.append("\n  <h3>Recommendations</h3>\n")
    if s["applicable"]:
        out.append('  <ol class="recommendations">\n')
        out.extend(_recommendation(r, s["money"], quality_words) for r in s["applicable"])
        out.append("  </ol>\n")
    else:
        out.append(
            '  <p class="muted">No recommendation: no tested tactic saved energy at kept '
            "quality.</p>\n"
        )
    if s["batching"]:
        out.append(_batching(s["batching"], model_id))
    if s["not_applicable"]:
        out.append(
            '  <details class="not-applicable"><summary>Tactics that do not apply here '
            f"({len(s['not_applicable'])})</summary>\n"
            "    <ul>"
        )
        out.extend(
            f"<li><strong>{_e(r.tactic)}</strong>: {_e(r.note or 'not applicable')}</li>"
            for r in s["not_applicable"]
        )
        out.append("</ul>\n  </details>\n")
    if s["mentions_pruning"]:
        out.append(
            '  <p class="callout"><strong>About pruning:</strong> masked (unstructured) pruning '
            "sets weights to zero but keeps the dense shapes, so it saves nothing unless the "
            "kernels skip zeros. Its energy here is measured, not assumed.</p>\n"
        )
    out.append(f"\n  {cheaper_models(s['cheaper'], s['cheaper_links'], s['anchor'])}\n")
    out.append("\n  <h3>Provenance</h3>\n")
    out.append(_provenance(s["provenance"], label))
    out.append("</section>")
    return Markup("".join(out))


def model_main(
    model_id: str,
    model: Any,
    tags: list[str],
    sections: list[dict[str, Any]],
    badge_src: str,
) -> Markup:
    """The main block of a model page: what the model is, a table of its labels when it
    has several, then each label's section (`label_section`, in the "html" of each)."""
    model_id_text = _e(model_id)
    out = [
        '<p class="breadcrumb"><a href="../index.html">All models</a> \u203a</p>\n'
        f'<h1 class="model-id">{model_id_text}</h1>\n'
        '<div class="model-page">\n'
        '<div class="model-about">\n'
        '<div class="model-meta">\n'
        f'  <img class="badge" src="{_e(badge_src)}" alt="energy label badge of '
        f'{model_id_text}">\n'
    ]
    if model:
        out.append(f"  <span>source: {_e(model.source)}</span>\n")
        if model.synthetic:
            out.append('<span class="flag flag-est">synthetic model</span>')
        if model.license:
            out.append(f"<span>license: {_e(model.license)}</span>")
        if model.downloads is not None:
            out.append(f"<span>{model.downloads:,} downloads</span>")
        if model.params:
            out.append(f"<span>{model.params / 1e6:,.1f} M parameters</span>")
    out.append("</div>\n")
    if tags:
        out.append('<ul class="tags" aria-label="Tags">')
        out.extend(f"<li>{_e(tag)}</li>" for tag in tags)
        out.append("</ul>\n")
    if model and model.card_summary:
        out.append(f'<p class="card-summary">{_e(model.card_summary)}</p>')
    out.append("\n")
    if len(sections) > 1:
        out.append('<nav class="toc" aria-label="Labels of this model">\n  <ul>')
        out.extend(
            f'<li><a href="#{_e(s["anchor"])}">{_e(s["label"].task)} on '
            f"{_e(s['label'].hardware)}</a> {grade_chip(s['label'].grade)}</li>"
            for s in sections
        )
        out.append("</ul>\n</nav>\n")
    out.append("</div>\n\n")
    out.extend(f"{s['html']}\n" for s in sections)
    out.append("</div>\n")
    return Markup("".join(out))

"""Build the static label website from the catalog.

Everything is rendered at build time (the label graphics and charts are inline SVG), so the
pages read well without JavaScript and work from file:// or any static host: relative
links only, no CDN, no fonts from elsewhere. The index embeds its rows as JSON and a small
script sorts, filters, searches and paginates them in the browser.

The catalog is read once up front (labels, runs, models, hardware) and grouped in Python,
and each template is compiled once, so 10,000 models build in seconds, not minutes.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from labeler.badges import (
    GRADE_COLOURS,
    badge_snippets,
    badge_svg,
    grade_colour,
    grade_text_colour,
    shields_endpoint,
)
from labeler.card import QUALITY_WORDS, achievable_text, recommendations, top_recommendation
from labeler.figures import format_change, format_energy, format_percent
from labeler.slugs import badge_stem, model_slug, safe_segment
from labels import (
    Catalog,
    HardwareRecord,
    ModelRecord,
    RunRecord,
    Scheme,
    export_csv,
    export_parquet,
    load_scheme,
)
from labels.scheme import GRADES

SITE_SOURCE = Path(__file__).resolve().parent.parent / "site"
ROWS_PER_PAGE = 100
# A chart with more points than this shows an even sample; its Pareto front uses them all.
MAX_CHART_POINTS = 2000
_MARKER_FILE = ".labeler-site"
# Every key a template reads from a recommendation, so an older or partial list still renders.
_RECOMMENDATION_DEFAULTS: dict[str, Any] = dict.fromkeys(
    (
        "tactic",
        "variant",
        "energy_wh_per_1k",
        "energy_change",
        "latency_change",
        "quality_metric",
        "quality_value",
        "qualifies",
        "grade",
        "size_mb",
        "build_s",
        "build_energy_wh",
        "payback_inferences",
        "note",
    )
) | {"applies": True}
_OWNED_DIRS = ("models", "tasks", "badges", "data", "static")


@dataclass(frozen=True)
class SiteSummary:
    out_dir: Path
    models: int
    pages: int
    index_bytes: int
    build_s: float


# -- formatting --------------------------------------------------------------------------


def format_date(value: Any) -> str:
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    return str(value or "")


def script_json(data: Any) -> Markup:
    """JSON that is safe inside a <script> element: `<`, `>` and `&` become \\u escapes.

    Script contents are not entity-decoded by the browser, so HTML escaping would corrupt
    the data; these escapes keep `</script>` in a model id from closing the element.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(SITE_SOURCE / "templates")),
        autoescape=True,
        auto_reload=False,  # templates never change during a build; skip a stat per render
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        energy=format_energy,
        percent=format_percent,
        change=format_change,
        day=format_date,
        script_json=script_json,
        grade_colour=grade_colour,
        grade_text=grade_text_colour,
        task_file=task_page_name,
    )
    env.globals.update(
        grades=GRADES,
        quality_words=QUALITY_WORDS,
        grade_css=_grade_css(),
        label_bars=_label_bars(),
    )
    return env


def _label_bars(row_h: int = 28) -> Markup:
    """The A-G arrows of the label graphic: the same on every page, so drawn once here."""
    parts = []
    for i, grade in enumerate(GRADES):
        y, w = 46 + i * row_h, 64 + i * 20
        parts.append(
            f'<polygon points="14,{y} {14 + w},{y} {26 + w},{y + 11} {14 + w},{y + 22} '
            f'14,{y + 22}" fill="{grade_colour(grade)}"/>'
            f'<text x="24" y="{y + 17}" font-size="16" font-weight="700" '
            f'fill="{grade_text_colour(grade)}">{grade}</text>'
        )
    return Markup("\n  ".join(parts))


def _grade_css() -> Markup:
    rules = [
        f".grade-{g}{{background:{c};color:{grade_text_colour(g)}}}"
        for g, c in GRADE_COLOURS.items()
    ]
    rules.append(f".grade-na{{background:{grade_colour(None)};color:{grade_text_colour(None)}}}")
    return Markup("".join(rules))


# -- charts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    title: str
    kind: str  # baseline | qualifies | fails


def _log_ticks(low: float, high: float) -> list[float]:
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    return [10.0**k for k in range(first, last + 1)]


def pareto_front(points: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points no other point beats on both less energy and more quality, by energy."""
    front: list[tuple[float, float]] = []
    best_quality = -math.inf
    for energy, quality in sorted(points, key=lambda p: (p[0], -p[1])):
        if quality > best_quality:
            front.append((energy, quality))
            best_quality = quality
    return front


def scatter_chart(runs: list[RunRecord]) -> dict[str, Any] | None:
    """Geometry of an energy (log x) versus quality (y) scatter of one task on one profile."""
    data = [
        (r.energy_wh_per_1k, 1.0 if r.variant == "baseline" else r.quality_value, r)
        for r in runs
        if r.status == "ok"
        and r.energy_wh_per_1k
        and r.energy_wh_per_1k > 0
        and (r.variant == "baseline" or r.quality_value is not None)
    ]
    if not data:
        return None
    width, height, left, right, top, bottom = 640, 360, 64, 20, 16, 48
    energies = [d[0] for d in data]
    qualities = [float(d[1]) for d in data]
    ticks = _log_ticks(min(energies), max(energies))
    x_low, x_high = math.log10(ticks[0]), math.log10(ticks[-1])
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
        ticks = [10.0**x_low, *ticks, 10.0**x_high]
    y_low = min(0.9, math.floor(min(qualities) * 20) / 20)
    y_high = 1.0

    def px(energy: float) -> float:
        return left + (math.log10(energy) - x_low) / (x_high - x_low) * (width - left - right)

    def py(quality: float) -> float:
        q = min(max(quality, y_low), y_high)
        return top + (y_high - q) / (y_high - y_low) * (height - top - bottom)

    step = max(1, math.ceil(len(data) / MAX_CHART_POINTS))
    points = []
    for energy, quality, run in data[::step]:
        kind = (
            "baseline" if run.variant == "baseline" else ("qualifies" if run.qualifies else "fails")
        )
        title = (
            f"{run.model_id} \u00b7 {run.variant}: {format_energy(energy)} Wh/1k, "
            f"quality {format_percent(quality)}"
        )
        points.append(ChartPoint(round(px(energy), 1), round(py(float(quality)), 1), title, kind))
    front = pareto_front((e, float(q)) for e, q, _ in data)
    front_path = []
    for i, (energy, quality) in enumerate(front):
        if i:
            front_path.append((round(px(energy), 1), round(py(front[i - 1][1]), 1)))
        front_path.append((round(px(energy), 1), round(py(quality), 1)))
    y_ticks = []
    value = y_high
    while value >= y_low - 1e-9:
        y_ticks.append({"y": round(py(value), 1), "label": format_percent(value, 0)})
        value = round(value - (0.02 if y_high - y_low <= 0.1 else 0.05), 4)
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": height - bottom,
        "points": points,
        "shown": len(points),
        "total": len(data),
        "front": " ".join(f"{x},{y}" for x, y in front_path),
        "front_size": len(front),
        "x_ticks": [{"x": round(px(t), 1), "label": f"{t:g}"} for t in ticks],
        "y_ticks": y_ticks,
    }


def grade_bars(labels: list[dict[str, Any]]) -> dict[str, Any]:
    """Geometry of a bar chart: how many labels in each class, plus the ungraded."""
    counts = {g: 0 for g in GRADES}
    ungraded = 0
    for label in labels:
        if label["grade"] in counts:
            counts[label["grade"]] += 1
        else:
            ungraded += 1
    entries = [(g, g, counts[g]) for g in GRADES] + [("na", "n/a", ungraded)]
    width, height, left, top, bottom, bar_w, gap = 440, 220, 16, 24, 32, 40, 12
    peak = max(1, *(count for _, _, count in entries))
    bars = []
    for i, (key, letter, count) in enumerate(entries):
        bar_h = (height - top - bottom) * count / peak
        x = left + i * (bar_w + gap)
        bars.append(
            {
                "key": key,
                "letter": letter,
                "count": count,
                "x": x,
                "y": round(height - bottom - bar_h, 1),
                "h": round(bar_h, 1),
                "w": bar_w,
                "grade": letter if key != "na" else None,
            }
        )
    return {"width": width, "height": height, "base": height - bottom, "bars": bars}


# -- data ---------------------------------------------------------------------------------


def _label_key(label: dict[str, Any]) -> tuple[str, str, str, str]:
    return (label["model_id"], label["revision"], label["task"], label["hardware"])


def _sort_key(label: dict[str, Any]) -> tuple[int, float, str]:
    grade = label.get("grade")
    rank = GRADES.index(grade) if grade in GRADES else len(GRADES)
    energy = label.get("energy_wh_per_1k")
    return (rank, energy if energy is not None else math.inf, label["model_id"])


def _index_row(label: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": label["model_id"],
        "u": f"models/{model_slug(label['model_id'])}.html",
        "t": label["task"],
        "h": label["hardware"],
        "g": label["grade"] or "",
        "b": label["best_grade"] or "",
        "e": label["energy_wh_per_1k"],
        "q": label["quality_retained"],
        "est": bool(label.get("estimated")),
        "n": bool(label.get("noisy")),
    }


def _provenance(runs: list[RunRecord], hardware: HardwareRecord | None) -> list[tuple[str, str]]:
    baseline = next((r for r in runs if r.variant == "baseline"), runs[0] if runs else None)
    items: list[tuple[str, str]] = []
    if hardware is not None:
        items.append(("Device", hardware.device_name))
        items.append(("CPU", f"{hardware.cpu_model} ({hardware.cpu_cores} cores)"))
        items.append(("Memory", f"{hardware.memory_gb:g} GB"))
        if hardware.gpu_driver:
            items.append(("GPU driver", hardware.gpu_driver))
        if hardware.gpu_power_limit_w:
            items.append(("GPU power limit", f"{hardware.gpu_power_limit_w:g} W"))
    if baseline is None:
        return items
    for name, value in [
        ("Revision", baseline.revision),
        ("Energy method", baseline.energy_method),
        ("dtype", baseline.dtype),
        ("Batch size", baseline.batch_size),
        ("Input shape", baseline.input_shape),
        ("Measured windows", baseline.windows or None),
        ("Harness version", baseline.harness_version),
        ("torch", baseline.torch_version),
        ("transformers", baseline.transformers_version),
        ("CUDA", baseline.cuda_version),
        ("Hardware fingerprint", baseline.hardware_fingerprint),
    ]:
        if value not in (None, ""):
            items.append((name, str(value)))
    try:
        extra = json.loads(baseline.provenance_json or "{}")
    except ValueError:
        extra = {}
    if isinstance(extra, dict):
        for key, value in sorted(extra.items()):
            if isinstance(value, dict | list):
                value = json.dumps(value, sort_keys=True)
            items.append((str(key), str(value)))
    return items


def _tags(model: ModelRecord | None) -> list[str]:
    if model is None:
        return []
    try:
        tags = json.loads(model.tags_json or "[]")
    except ValueError:
        return []
    return [str(t) for t in tags] if isinstance(tags, list) else []


class _FileWriter:
    """Writes files on a few threads: with 10,000 models the build is mostly file creation,
    which waits on the filesystem rather than the CPU, so overlapping the waits pays."""

    def __init__(self, threads: int = 8) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="site-write")
        self._pending: list[Future[None]] = []
        self._made_dirs: set[Path] = set()

    def write(self, path: Path, text: str) -> int:
        if path.parent not in self._made_dirs:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made_dirs.add(path.parent)
        data = text.encode("utf-8")
        self._pending.append(self._pool.submit(path.write_bytes, data))
        if len(self._pending) > 512:
            self._drain()
        return len(data)

    def _drain(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            future.result()

    def close(self) -> None:
        try:
            self._drain()
        finally:
            self._pool.shutdown(wait=True)


def _prepare(out_dir: Path) -> None:
    """Clear what an earlier build of ours left, never a directory we did not make."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if (out_dir / _MARKER_FILE).exists():
        for name in _OWNED_DIRS:
            shutil.rmtree(out_dir / name, ignore_errors=True)
    (out_dir / _MARKER_FILE).write_text("built by labeler.site; safe to delete\n")


# -- build --------------------------------------------------------------------------------


def build_site(
    catalog: Catalog,
    out_dir: Path,
    scheme: Scheme | None = None,
    site_url: str | None = None,
) -> SiteSummary:
    """Render the whole site into `out_dir` and return what was written."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    scheme = scheme or load_scheme()
    _prepare(out_dir)
    shutil.copytree(SITE_SOURCE / "static", out_dir / "static", dirs_exist_ok=True)
    env = _environment()
    writer = _FileWriter()
    try:
        models, pages, index_bytes = _build(catalog, out_dir, scheme, site_url, env, writer)
    finally:
        writer.close()
    return SiteSummary(
        out_dir=out_dir,
        models=models,
        pages=pages,
        index_bytes=index_bytes,
        build_s=time.perf_counter() - started,
    )


def _build(
    catalog: Catalog,
    out_dir: Path,
    scheme: Scheme,
    site_url: str | None,
    env: jinja2.Environment,
    writer: _FileWriter,
) -> tuple[int, int, int]:
    """Render every page; return (models, pages, index bytes)."""
    _write = writer.write
    built_on = format_date(datetime.now())

    labels = sorted(catalog.latest_labels(), key=_sort_key)
    runs_by_label: dict[tuple[str, str, str, str], list[RunRecord]] = defaultdict(list)
    for run in catalog.latest_runs():
        runs_by_label[(run.model_id, run.revision, run.task, run.hardware_profile)].append(run)
    models = {(m.model_id, m.revision): m for m in catalog.models()}
    hardware_cache: dict[str, HardwareRecord | None] = {}

    def hardware_for(fingerprint: str) -> HardwareRecord | None:
        if fingerprint not in hardware_cache:
            hardware_cache[fingerprint] = catalog.hardware(fingerprint)
        return hardware_cache[fingerprint]

    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for label in labels:
        by_model[label["model_id"]].append(label)
    tasks = sorted({label["task"] for label in labels})
    hardware_profiles = sorted({label["hardware"] for label in labels})
    common = {"site_url": site_url, "scheme": scheme, "built_on": built_on, "tasks": tasks}
    pages = 0

    # Index.
    rows = [_index_row(label) for label in labels]
    index_html = env.get_template("index.html.j2").render(
        **common,
        root="",
        page_title="Energy labels for Hugging Face models",
        rows=rows,
        first_rows=labels[:ROWS_PER_PAGE],
        rows_per_page=ROWS_PER_PAGE,
        model_count=len(by_model),
        hardware_profiles=hardware_profiles,
        model_slug=model_slug,
    )
    index_bytes = _write(out_dir / "index.html", index_html)
    pages += 1

    # Model pages and badges.
    model_template = env.get_template("model.html.j2")
    for model_id, model_labels in by_model.items():
        model_labels = sorted(model_labels, key=lambda lb: (lb["hardware"], lb["task"]))
        sections = []
        badged: set[str] = set()
        for label in model_labels:
            runs = runs_by_label.get(_label_key(label), [])
            fingerprint = runs[0].hardware_fingerprint if runs else None
            recs = [{**_RECOMMENDATION_DEFAULTS, **r} for r in recommendations(label)]
            sections.append(
                {
                    "label": label,
                    "runs": runs,
                    "achievable": achievable_text(label),
                    "applicable": [r for r in recs if r.get("applies", True)],
                    "not_applicable": [r for r in recs if not r.get("applies", True)],
                    "mentions_pruning": any(
                        "prun" in str(r.get("tactic", "")).lower() for r in recs
                    )
                    or any("prun" in r.tactic.lower() for r in runs),
                    "provenance": _provenance(runs, hardware_for(fingerprint))
                    if fingerprint
                    else [],
                    "snippets": badge_snippets(model_id, site_url, label["hardware"]),
                    "badge_src": f"../badges/{badge_stem(model_id, label['hardware'])}.svg",
                    "anchor": safe_segment(f"{label['task']}--{label['hardware']}"),
                }
            )
            if label["hardware"] not in badged:
                badged.add(label["hardware"])
                _write_badge(_write, out_dir, model_id, label, label["hardware"])
        _write_badge(_write, out_dir, model_id, model_labels[0], None)
        first = model_labels[0]
        model = models.get((model_id, first["revision"]))
        html_text = model_template.render(
            **common,
            root="../",
            page_title=f"{model_id} \u2013 energy label",
            model_id=model_id,
            model=model,
            tags=_tags(model),
            sections=sections,
            snippets=badge_snippets(model_id, site_url),
            badge_src=f"../badges/{badge_stem(model_id)}.svg",
        )
        _write(out_dir / "models" / f"{model_slug(model_id)}.html", html_text)
        pages += 1

    # Task pages.
    task_template = env.get_template("task.html.j2")
    for task in tasks:
        task_labels = [label for label in labels if label["task"] == task]
        profiles = []
        for hardware in sorted({label["hardware"] for label in task_labels}):
            profile_labels = [label for label in task_labels if label["hardware"] == hardware]
            profile_runs = [
                run for label in profile_labels for run in runs_by_label.get(_label_key(label), [])
            ]
            profiles.append(
                {
                    "hardware": hardware,
                    "labels": profile_labels,
                    "scatter": scatter_chart(profile_runs),
                    "bars": grade_bars(profile_labels),
                    "reference": scheme.reference(task, hardware),
                }
            )
        html_text = task_template.render(
            **common,
            root="../",
            page_title=f"{task} \u2013 energy labels",
            task=task,
            profiles=profiles,
            model_slug=model_slug,
        )
        _write(out_dir / "tasks" / f"{safe_segment(task)}.html", html_text)
        pages += 1

    # Methodology.
    html_text = env.get_template("methodology.html.j2").render(
        **common,
        root="",
        page_title="Methodology \u2013 energy labels",
        thresholds=_threshold_rows(scheme),
        references=sorted(scheme.references.values(), key=lambda r: (r.task, r.hardware)),
    )
    _write(out_dir / "methodology.html", html_text)
    pages += 1

    # Runs under the AI Energy Score's protocol: apart from the labels, never graded.
    scores = catalog.query(
        "SELECT * FROM energy_scores ORDER BY task, hardware, energy_wh_per_1k_queries"
    )
    html_text = env.get_template("energy_score.html.j2").render(
        **common,
        root="",
        page_title="AI Energy Score protocol \u2013 energy labels",
        rows=[dict(zip(scores.columns, row, strict=True)) for row in scores.rows],
    )
    _write(out_dir / "energy-score.html", html_text)
    pages += 1

    export_parquet(catalog, out_dir / "data" / "latest_labels.parquet")
    export_csv(catalog, out_dir / "data" / "latest_labels.csv")

    return len(by_model), pages, index_bytes


def task_page_name(task: str) -> str:
    return f"{safe_segment(task)}.html"


def _threshold_rows(scheme: Scheme) -> list[dict[str, Any]]:
    rows = []
    lower = 0.0
    for grade in GRADES:
        upper = scheme.upper_eei.get(grade)
        rows.append({"grade": grade, "lower": lower, "upper": upper})
        lower = upper if upper is not None else lower
    return rows


def _write_badge(
    write: Callable[[Path, str], int],
    out_dir: Path,
    model_id: str,
    label: dict[str, Any],
    hardware: str | None,
) -> None:
    stem = out_dir / "badges" / badge_stem(model_id, hardware)
    estimated = bool(label.get("estimated"))
    write(stem.with_name(stem.name + ".svg"), badge_svg(label["grade"], estimated=estimated))
    endpoint = shields_endpoint(
        label["grade"],
        estimated=estimated,
        best_grade=label.get("best_grade"),
        borderline=bool(label.get("borderline")),
    )
    write(stem.with_name(stem.name + ".json"), str(script_json(endpoint)) + "\n")
    details = {
        "model_id": model_id,
        "task": label["task"],
        "hardware": label["hardware"],
        "scheme_version": label["scheme_version"],
        "grade": label["grade"],
        "best_grade": label.get("best_grade"),
        "energy_wh_per_1k": label.get("energy_wh_per_1k"),
        "estimated": estimated,
        "noisy": bool(label.get("noisy")),
        "borderline": bool(label.get("borderline")),
        "eei": label.get("eei"),
        "eei_low": label.get("eei_low"),
        "eei_high": label.get("eei_high"),
        "reference_model": label.get("reference_model"),
        "energy_j_per_token": label.get("energy_j_per_token"),
        "achievable": achievable_text(label),
        "top_recommendation": top_recommendation(label),
        "recommendations": recommendations(label),
    }
    write(stem.with_name(stem.name + ".recommendations.json"), str(script_json(details)) + "\n")

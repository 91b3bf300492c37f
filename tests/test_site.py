"""The static site built from a real DuckDB catalog: files, escaping, links, charts."""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import re
import shutil
import signal
import threading
from pathlib import Path

import pytest

import labeler.site.build
import labeler.site.manifest
import labeler.site.rows
import labeler.site.shared_pages
from benchmarks.site_scale import change_one_model, fill_synthetic_catalog
from labeler.carbon import GridIntensity
from labeler.site import (
    SiteSummary,
    build_site,
    link_file,
    pareto_front,
    script_json,
    write_file,
)
from labeler.slugs import badge_stem, model_segments, model_slug, safe_segment
from tests.site_catalog import (
    BROKEN_ID,
    DISTILBERT_ID,
    HOSTILE_ID,
    MINILM_ID,
    VIT_ID,
    fill_catalog,
)

SITE_URL = "https://labels.example.org"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[SiteSummary, Path]:
    root = tmp_path_factory.mktemp("site")
    catalog = fill_catalog(root / "catalog.duckdb")
    summary = build_site(catalog, root / "site", site_url=SITE_URL)
    return summary, root / "site"


def _page(site: Path, model_id: str) -> str:
    return (site / "models" / f"{model_slug(model_id)}.html").read_text(encoding="utf-8")


def test_summary_and_files(built: tuple[SiteSummary, Path]) -> None:
    summary, site = built
    assert summary.models == 5
    # index, models, tasks, methodology, compare, energy score
    assert summary.pages == 1 + 5 + 4 + 1 + 1 + 1
    assert summary.index_bytes == (site / "index.html").stat().st_size
    for name in [
        "index.html",
        "methodology.html",
        "static/style.css",
        "static/index.js",
        "static/copy.js",
        "static/rows.js",
        "static/compare.js",
        "compare.html",
        "data/rows/rows-0000.js",
        "data/latest_labels.parquet",
        "data/latest_labels.csv",
        "tasks/text-classification.html",
        "badges/sentence-transformers/all-MiniLM-L6-v2.svg",
        "badges/sentence-transformers/all-MiniLM-L6-v2.json",
        "badges/sentence-transformers/all-MiniLM-L6-v2.recommendations.json",
        "badges/sentence-transformers/all-MiniLM-L6-v2--gpu-h100-80gb.svg",
        "badges/sentence-transformers/all-MiniLM-L6-v2--cpu-x86-64.json",
    ]:
        assert (site / name).is_file(), name


def test_primary_badge_is_first_hardware_profile(built: tuple[SiteSummary, Path]) -> None:
    _, site = built
    primary = json.loads((site / "badges/sentence-transformers/all-MiniLM-L6-v2.json").read_text())
    assert primary["message"] == "C \u2192 A est."  # cpu-x86-64 sorts before gpu-h100-80gb
    gpu = json.loads(
        (site / "badges/sentence-transformers/all-MiniLM-L6-v2--gpu-h100-80gb.json").read_text()
    )
    assert gpu["message"] == "B"
    details = json.loads(
        (site / "badges/sentence-transformers/all-MiniLM-L6-v2.recommendations.json").read_text()
    )
    assert details["top_recommendation"]["tactic"] == "int8 dynamic quantization"


def test_every_written_file_stays_inside_out_dir(built: tuple[SiteSummary, Path]) -> None:
    _, site = built
    root = site.resolve()
    for path in site.rglob("*"):
        assert root in path.resolve().parents
    assert (site / "badges" / f"{badge_stem(HOSTILE_ID)}.svg").is_file()


@pytest.mark.parametrize(
    "model_id", ["../../etc/passwd", "a/../../b", "/abs/path", "..", "a\\b", ""]
)
def test_slugs_of_hostile_ids_are_single_safe_names(model_id: str) -> None:
    slug = model_slug(model_id)
    assert slug and "/" not in slug and not slug.startswith(".")
    for segment in badge_stem(model_id).split("/"):
        assert segment not in ("", ".", "..") and re.fullmatch(r"[A-Za-z0-9._-]+", segment)


def test_distinct_ids_get_distinct_slugs() -> None:
    ids = ["a/b", "a--b", "a_b", "a b", "a/b c", "a/b_c"]
    assert len({model_slug(i) for i in ids}) == len(ids)
    assert safe_segment("bert-base") == "bert-base"


def test_the_plain_id_shortcut_agrees_with_the_segment_rule() -> None:
    ids = [
        "a/b",
        "a-/-b",
        "-a/_b.c",
        "a" * 80 + "/b",
        "a" * 81,
        ".a/b",
        "a/.b",
        "a//b",
        "a/",
        "a--b/c",
        "a b/c",
        "ü/b",
        "a/b\n",
        "org/name.v2",
        "a/b/c",
    ]
    for model_id in ids:
        general = "--".join(model_segments(model_id))
        if "--" in model_id:
            general += "-" + hashlib.sha1(model_id.encode("utf-8")).hexdigest()[:8]
        assert model_slug(model_id) == general, model_id


def test_hostile_id_is_inert_everywhere(built: tuple[SiteSummary, Path]) -> None:
    _, site = built
    for path in site.rglob("*"):
        if path.suffix in {".html", ".svg", ".json"}:
            text = path.read_text(encoding="utf-8")
            assert "<script>alert" not in text, path
            assert "<img src=x" not in text, path
    page = _page(site, HOSTILE_ID)
    assert "evil/&lt;script&gt;alert(1)&lt;/script&gt;&#34;&#39;" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#34;quoted&#34; &#39;single&#39;" in page


def _chunk_rows(site: Path) -> list[list]:
    rows = []
    for path in sorted((site / "data" / "rows").glob("rows-*.js")):
        match = re.fullmatch(r"labelRows\((\d+),(.*)\);\n", path.read_text("utf-8"), re.DOTALL)
        assert match, path
        rows += json.loads(match.group(2))
    return rows


def test_index_rows_live_in_safe_script_chunks(built: tuple[SiteSummary, Path]) -> None:
    _, site = built
    html = (site / "index.html").read_text(encoding="utf-8")
    match = re.search(
        r'<script type="application/json" id="site-config">(.*?)</script>', html, re.DOTALL
    )
    assert match
    config = json.loads(match.group(1))
    assert config["labels"] == 6 and len(config["chunks"]) == 1
    rows = _chunk_rows(site)
    assert {r[0] for r in rows} >= {MINILM_ID, HOSTILE_ID, VIT_ID, BROKEN_ID}
    assert len(rows) == 6
    chunk = (site / "data/rows/rows-0000.js").read_text("utf-8")
    assert "<script>" not in chunk and "\\u003cscript\\u003e" in chunk
    assert json.loads(str(script_json({"x": "</script>&"}))) == {"x": "</script>&"}


def test_index_renders_first_page_without_javascript(built: tuple[SiteSummary, Path]) -> None:
    _, site = built
    html = (site / "index.html").read_text(encoding="utf-8")
    body = html.split('<tbody id="labels-body">')[1].split("</tbody>")[0]
    assert body.count("<tr>") == 6
    assert 'href="models/sentence-transformers--all-MiniLM-L6-v2.html"' in body


def test_pages_use_only_relative_links_and_no_external_resources(
    built: tuple[SiteSummary, Path],
) -> None:
    _, site = built
    for path in site.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        assert '<html lang="en">' in html
        for _attr, target in re.findall(r'(href|src)="([^"]*)"', html):
            assert not target.startswith(("/", "http:", "https:", "//")), (path, target)
            if not target.startswith("#"):
                resolved = (path.parent / re.split("[#?]", target)[0]).resolve()
                assert resolved.exists(), (path, target)


def test_accessibility_basics(built: tuple[SiteSummary, Path]) -> None:
    _, site = built
    html = (site / "index.html").read_text(encoding="utf-8")
    for control in ["search", "filter-task", "filter-hardware", "filter-grade"]:
        assert f'<label for="{control}">' in html
    assert html.count('<button type="button" class="sort"') == 7
    assert "@media (max-width" in (site / "static/style.css").read_text()


def test_model_page_shows_every_label_with_graphic_and_details(
    built: tuple[SiteSummary, Path],
) -> None:
    _, site = built
    page = _page(site, MINILM_ID)
    assert page.count('<svg class="eu-label"') == 2
    assert (
        "feature-extraction on cpu-x86-64" in page and "feature-extraction on gpu-h100-80gb" in page
    )
    assert (
        "C \u2192 A with int8 dynamic quantization, \u221241 % energy, 99.6 % cosine similarity"
        in page
    )
    assert "ESTIMATED" in page and "NOISY" in page
    assert "saves nothing unless the kernels skip zeros" in page
    assert "half precision needs a GPU" in page  # a tactic that does not apply, with its reason
    for provenance in [
        "2.13.0",
        "5.23.0",
        "float32",
        "8x128",
        "Harness version",
        "estimate",
        "NVIDIA H100 80GB HBM3",
    ]:
        assert provenance in page
    assert (
        "https://labels.example.org/badges/sentence-transformers/all-MiniLM-L6-v2--cpu-x86-64.svg"
        in page
    )
    assert 'class="copy-button"' in page


def test_ungraded_and_failed_models_render_their_reason(built: tuple[SiteSummary, Path]) -> None:
    _, site = built
    vit = _page(site, VIT_ID)
    assert "Not graded" in vit
    assert "no reference energy for image-classification on cpu-x86-64 in scheme v1" in vit
    broken = _page(site, BROKEN_ID)
    assert "failed: load error: &lt;b&gt;unsupported&lt;/b&gt; architecture" in broken
    badge = (site / "badges/acme/broken-model.svg").read_text()
    assert ">n/a<" in badge


def test_task_page_has_scatter_with_pareto_front_and_grade_bars(
    built: tuple[SiteSummary, Path],
) -> None:
    _, site = built
    page = (site / "tasks/feature-extraction.html").read_text(encoding="utf-8")
    assert page.count("<polyline") == 2  # one front per hardware profile
    assert "Number of labels per class: A 0, B 0, C 1" in page
    assert "Energy vs quality" in page


def test_methodology_explains_scheme_protocol_and_reproduction(
    built: tuple[SiteSummary, Path],
) -> None:
    _, site = built
    page = (site / "methodology.html").read_text(encoding="utf-8")
    for text in [
        "0.125",
        "Warm-up",
        "Median",
        "Idle power",
        "coefficient of variation",
        "labeler scan --source",
        "labeler grade",
        "labeler sql",
        "Estimated",
        "Noisy",
    ]:
        assert text in page, text


def test_rebuild_removes_stale_pages(tmp_path: Path) -> None:
    catalog = fill_catalog(tmp_path / "c.duckdb")
    site = tmp_path / "site"
    build_site(catalog, site)
    stale = site / "models" / "gone--model.html"
    stale.write_text("old")
    build_site(catalog, site)
    assert not stale.exists()


def test_large_catalog_paginates_and_keeps_first_page_server_side(tmp_path: Path) -> None:
    catalog = fill_synthetic_catalog(tmp_path / "c.duckdb", 250)
    summary = build_site(catalog, tmp_path / "site")
    assert summary.models == 250
    html = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    body = html.split('<tbody id="labels-body">')[1].split("</tbody>")[0]
    assert body.count("<tr>") == 100
    assert len(list((tmp_path / "site" / "models").glob("*.html"))) == 250


def test_pareto_front_keeps_only_undominated_points() -> None:
    points = [(1.0, 1.0), (0.5, 0.99), (0.6, 0.995), (0.4, 0.9), (0.7, 0.98), (2.0, 1.0)]
    assert pareto_front(points) == [(0.4, 0.9), (0.5, 0.99), (0.6, 0.995), (1.0, 1.0)]


def _snapshot(site: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(site)): (p.stat().st_mtime_ns, p.read_bytes())
        for p in site.rglob("*")
        if p.is_file() and not p.name.startswith(".")  # the manifest is rewritten each build
    }


def test_incremental_build_renders_only_the_changed_model(tmp_path: Path) -> None:
    catalog = fill_catalog(tmp_path / "c.duckdb")
    site = tmp_path / "site"
    first = build_site(catalog, site, site_url=SITE_URL)
    assert first.full and first.rendered_models == 5
    before = _snapshot(site)
    unchanged = build_site(catalog, site, site_url=SITE_URL)
    assert not unchanged.full and unchanged.rendered_models == 0
    assert _snapshot(site) == before  # nothing rewritten, not even with the same bytes

    with catalog.transaction() as con:
        con.execute(
            "UPDATE labels SET energy_wh_per_1k = energy_wh_per_1k * 2 WHERE model_id = ?",
            [DISTILBERT_ID],
        )
    changed = build_site(catalog, site, site_url=SITE_URL)
    # DistilBERT is the cheaper, better-graded alternative of the other text classifier on
    # the same hardware: that page quotes DistilBERT's energy, so it is rendered again too.
    assert changed.rendered_models == 2
    after = _snapshot(site)
    differ = {rel for rel in before if before[rel] != after.get(rel)}
    owned = {
        rel
        for model_id in (DISTILBERT_ID, HOSTILE_ID)
        for rel in after
        if rel == f"models/{model_slug(model_id)}.html"
        or rel.startswith(f"badges/{badge_stem(model_id)}")
    }
    assert f"models/{model_slug(DISTILBERT_ID)}.html" in differ
    assert f"models/{model_slug(HOSTILE_ID)}.html" in differ
    per_model = {rel for rel in differ if rel.startswith(("models/", "badges/"))}
    assert per_model <= owned  # no other model's page or badge changed

    # A model that leaves the catalog loses its page and badges; --full renders all again.
    # (Its task stays, so the task list in every page's header does not change.)
    with catalog.transaction() as con:
        con.execute("DELETE FROM labels WHERE model_id = ?", [HOSTILE_ID])
    gone = build_site(catalog, site, site_url=SITE_URL)
    assert gone.models == 4 and gone.rendered_models == 0
    assert not (site / "models" / f"{model_slug(HOSTILE_ID)}.html").exists()
    assert not (site / "badges" / f"{badge_stem(HOSTILE_ID)}.svg").exists()
    assert (site / "models" / f"{model_slug(VIT_ID)}.html").exists()
    assert build_site(catalog, site, site_url=SITE_URL, full=True).rendered_models == 4


def test_own_badge_is_a_link_that_a_new_first_profile_replaces(tmp_path: Path) -> None:
    gpu, cpu, own = (str(tmp_path / name) for name in ("gpu.svg", "cpu.svg", "own.svg"))
    write_file(gpu, "gpu badge")
    write_file(cpu, "cpu badge")
    link_file(gpu, own)
    assert Path(own).read_text() == "gpu badge" and os.path.samefile(gpu, own)
    link_file(cpu, own)  # the first profile changed: the link moves, nothing is written through
    assert Path(own).read_text() == "cpu badge" and Path(gpu).read_text() == "gpu badge"
    link_file(cpu, str(tmp_path / "new" / "dir" / "own.svg"))  # makes the folder
    assert (tmp_path / "new" / "dir" / "own.svg").read_text() == "cpu badge"


def test_a_new_site_url_renders_every_page_again(tmp_path: Path) -> None:
    catalog = fill_catalog(tmp_path / "c.duckdb")
    build_site(catalog, tmp_path / "site")
    again = build_site(catalog, tmp_path / "site", site_url=SITE_URL)
    assert again.full and again.rendered_models == 5
    assert SITE_URL in _page(tmp_path / "site", MINILM_ID)


def test_a_change_to_any_module_the_pages_use_renders_every_page_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest hashes whole folders (labels/, labeler/, site/), so a module no list
    named (labels/batching.py decides the batching advice's text) still makes every page
    stale; a change to the command line, which makes no page, keeps them."""
    repo = Path(labeler.site.manifest.__file__).resolve().parents[2]
    copy = tmp_path / "repo"
    for folder in ("labels", "labeler", "site"):
        shutil.copytree(repo / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(labeler.site.manifest, "_REPO", copy)
    catalog = fill_catalog(tmp_path / "catalog.duckdb")
    site = tmp_path / "site"
    assert build_site(catalog, site, workers=1).rendered_models == 5
    assert build_site(catalog, site, workers=1).rendered_models == 0

    with (copy / "labels" / "batching.py").open("a") as module:
        module.write("\n# a change to page text\n")
    again = build_site(catalog, site, workers=1)
    assert again.full and again.rendered_models == 5

    with (copy / "labeler" / "cli.py").open("a") as module:
        module.write("\n# a change to the command line\n")
    assert build_site(catalog, site, workers=1).rendered_models == 0


def test_model_page_shows_provenance_as_labelled_groups(built: tuple[SiteSummary, Path]) -> None:
    _, site = built
    page = _page(site, MINILM_ID)
    for group in ["Device", "Meter", "Protocol", "Software"]:
        assert f"<h4>{group}</h4>" in page
    assert '<details class="raw-provenance">' in page
    assert "&#34;python&#34;: &#34;3.11.9&#34;" in page  # raw JSON, escaped, in the disclosure
    assert 'data-label="Quality"' in page  # the phone layout labels each cell


def test_compare_page_and_links(built: tuple[SiteSummary, Path]) -> None:
    _, site = built
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="compare.html"' in index and 'id="compare-form"' in index
    page = _page(site, MINILM_ID)
    assert "../compare.html?m=sentence-transformers%2Fall-MiniLM-L6-v2&amp;task=" in page
    compare = (site / "compare.html").read_text(encoding="utf-8")
    assert '<script src="static/compare.js"></script>' in compare
    assert "<script>alert" not in compare


def test_a_parallel_build_ends_under_a_sigterm_handler_that_does_not_exit(
    tmp_path: Path,
) -> None:
    """The nightly schedule handles SIGTERM itself (stop after the current model), and Ray's
    driver does too; forked render workers inherit the handler. Stopping a pool by SIGTERM
    then left a worker waiting for work forever, and the build with it."""
    catalog = fill_synthetic_catalog(tmp_path / "c.duckdb", 400)
    received: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, _frame: received.append(signum))
    try:
        summaries: list[SiteSummary] = []
        builder = threading.Thread(
            target=lambda: summaries.append(build_site(catalog, tmp_path / "site", workers=2)),
            daemon=True,
        )
        builder.start()
        builder.join(120)
        assert not builder.is_alive(), "the site build hung after its pages were rendered"
        assert summaries[0].rendered_models == 400
        # and a worker stops by SIGTERM's default action, whatever its parent handles
        reset = labeler.site.build._worker_signals_default
        with mp.get_context("fork").Pool(1, initializer=reset) as pool:
            assert pool.apply(signal.getsignal, (signal.SIGTERM,)) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert received == []  # this process was never signalled


def test_one_changed_model_reads_only_the_rows_it_shows_up_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Change detection compares digests, so an incremental build reads the labels of the
    changed model, of its row chunk and of the pages that list it: not the whole catalog."""
    monkeypatch.setattr(labeler.site.rows, "MODELS_PER_CHUNK", 40)
    monkeypatch.setattr(labeler.site.shared_pages, "ROWS_PER_PAGE", 10)
    monkeypatch.setattr(labeler.site.shared_pages, "TASK_TABLE_ROWS", 10)
    catalog = fill_synthetic_catalog(tmp_path / "c.duckdb", 400)  # 10 chunks, 5 tasks
    site = tmp_path / "site"
    calls: list[tuple[int, int]] = []
    # two worker processes render the pages while this one makes the shared pages
    first = build_site(catalog, site, workers=2, progress=lambda *call: calls.append(call))
    assert first.full and first.labels_read >= 400 and first.rendered_models == 400
    assert calls[0] == (0, 400) and calls[-1] == (400, 400) and len(calls) > 2  # a bar moves
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    nothing = build_site(catalog, site, workers=1)
    assert nothing.rendered_models == 0
    assert nothing.labels_read == 10  # the index's first page, rendered on every build
    before = _snapshot(site)

    changed_id = "synthetic-org-1/model-00001"
    change_one_model(catalog, changed_id)
    one = build_site(catalog, site, workers=1)
    assert one.rendered_models == 1 and not one.full
    after = _snapshot(site)
    differ = {rel for rel in after if before.get(rel) != after[rel]}
    chunk = next(
        rel
        for rel in differ
        if rel.startswith("data/rows/") and changed_id in after[rel][1].decode()
    )
    chunk_rows = after[chunk][1].decode().count('["synthetic-org-')
    assert chunk_rows < 100
    # the chunk's rows, the index's first page, the task page's table (one hardware profile)
    assert one.labels_read <= chunk_rows + 10 + 10
    task = labeler.site.task_page_name("image-classification")  # model 1's task
    shared = {rel for rel in differ if not rel.startswith(("models/", "badges/"))}
    assert shared <= {
        chunk,
        "index.html",
        "compare.html",  # both carry the chunks' versions
        f"tasks/{task}",
        "data/latest_labels.csv",
        "data/latest_labels.parquet",
    }
    assert f"tasks/{task}" in shared
    assert {rel for rel in differ if rel.startswith("models/")} == {
        f"models/{model_slug(changed_id)}.html"
    }


def test_model_page_and_badge_json_show_co2e_and_mark_the_default_grid(
    tmp_path: Path, built: tuple[SiteSummary, Path]
) -> None:
    _, site = built
    page = _page(site, MINILM_ID)
    details = json.loads(
        (
            site / "badges" / f"{badge_stem(MINILM_ID, 'cpu-x86-64')}.recommendations.json"
        ).read_text()
    )
    carbon = details["carbon"]
    # the default grid, said as a default on the page and in the JSON
    assert carbon["grid_intensity_is_default"] is True
    assert carbon["co2e_g_per_1k"] == pytest.approx(
        details["energy_wh_per_1k"] / 1000 * carbon["grid_intensity_g_per_kwh"]
    )
    assert f"{carbon['co2e_g_per_1k']:.3g} g CO2e per 1,000 inferences" in page
    assert "default: Ember" in page

    # a given grid intensity: another figure, no default mark, and every page rebuilt
    catalog = fill_catalog(tmp_path / "catalog.duckdb")
    out = tmp_path / "site"
    build_site(catalog, out, site_url=SITE_URL)
    again = build_site(catalog, out, site_url=SITE_URL, grid=GridIntensity(100.0, "given", False))
    assert again.full
    given = _page(out, MINILM_ID)
    co2e = details["energy_wh_per_1k"] / 1000 * 100.0
    assert f"{co2e:.3g} g CO2e per 1,000 inferences" in given
    assert "grid 100 g CO2e/kWh, given" in given
    assert "default: Ember" not in given


def test_a_contended_label_is_marked_on_its_page_badges_rows_and_provenance(
    tmp_path: Path,
) -> None:
    """Graded with --allow-busy-host: the grade shows with a 'contended' flag and the
    host's load everywhere the label shows, and the baseline's provenance says how busy."""
    catalog = fill_catalog(tmp_path / "catalog.duckdb")
    with catalog.transaction() as con:
        con.execute(
            "UPDATE labels SET contended = TRUE, foreign_cpu_cores = 0.94 WHERE model_id = ?",
            [DISTILBERT_ID],
        )
        con.execute(
            "UPDATE runs SET contended = TRUE, busy_host_allowed = TRUE, foreign_cpu_cores = 0.94,"
            " foreign_cpu_share = 0.47, foreign_load_method = 'proc-stat', busy_remeasured = 3,"
            " cpu_threads = 2 WHERE model_id = ? AND variant = 'baseline'",
            [DISTILBERT_ID],
        )
    out = tmp_path / "site"
    build_site(catalog, out)
    page = _page(out, DISTILBERT_ID)
    assert 'class="flag flag-contended"' in page
    assert "the host was busy: 94 % of a core went to other processes" in page
    assert "0.94 cores (47 % of our CPUs)" in page  # provenance, Host load group
    assert "Busy windows measured again" in page
    # an uncontended model's page has no such flag
    assert "flag-contended" not in _page(out, MINILM_ID)

    stem = badge_stem(DISTILBERT_ID, catalog.latest_label(DISTILBERT_ID).hardware)
    svg = (out / "badges" / f"{stem}.svg").read_text()
    endpoint = json.loads((out / "badges" / f"{stem}.json").read_text())
    details = json.loads((out / "badges" / f"{stem}.recommendations.json").read_text())
    assert "contended" in svg and "contended" in endpoint["message"]
    assert details["contended"] is True and details["foreign_cpu_cores"] == pytest.approx(0.94)

    rows = {row[0]: row for row in _chunk_rows(out)}
    assert rows[DISTILBERT_ID][8] & 4 and not rows[MINILM_ID][8] & 4

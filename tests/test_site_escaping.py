"""The Python that writes a page's HTML outside Jinja's autoescape, one function at a time:
`script_json` (data inside <script>), the provenance rows (markupsafe, built once per group)
and the values they show. Fast on purpose: `make mutants` runs these for every mutant of
labeler/site/environment.py and labeler/site/provenance.py (docs/mutants.md)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from markupsafe import Markup

from labeler.site.environment import environment, script_json, task_page_name
from labeler.site.provenance import (
    Provenance,
    ProvenanceGroup,
    _flat,
    _host_load,
    _items,
    build_provenance,
    group_rows,
)
from labels import HardwareRecord, ModelRecord
from tests.site_catalog import CPU, MINILM_ID, _run


def model_record(model_id: str) -> ModelRecord:
    return ModelRecord(model_id=model_id, revision="r1", task="feature-extraction", source="demo")


HOSTILE = "</script><script>alert('x')</script>&\"\u2028\u2029"


def test_script_json_keeps_every_character_and_no_markup() -> None:
    text = script_json({"id": HOSTILE, "n": 1.5, "list": [None, True]})
    assert isinstance(text, Markup)
    assert str(text) == (
        '{"id":"\\u003c/script\\u003e\\u003cscript\\u003ealert(\'x\')\\u003c/script\\u003e'
        '\\u0026\\"\\u2028\\u2029","n":1.5,"list":[null,true]}'
    )
    for raw in "<>&\u2028\u2029":
        assert raw not in str(text)
    assert json.loads(str(text)) == {"id": HOSTILE, "n": 1.5, "list": [None, True]}
    assert str(script_json("é")) == '"é"'  # not ASCII-escaped: the page is UTF-8


def test_provenance_rows_escape_names_and_values() -> None:
    group = ProvenanceGroup("Software", (("<b>name</b>", HOSTILE), ("plain", "1 & 2")))
    rows = group_rows(group)
    assert isinstance(rows, Markup)
    assert str(rows) == (
        "<div><dt>&lt;b&gt;name&lt;/b&gt;</dt><dd>&lt;/script&gt;&lt;script&gt;alert("
        "&#39;x&#39;)&lt;/script&gt;&amp;&#34;\u2028\u2029</dd></div>"
        "<div><dt>plain</dt><dd>1 &amp; 2</dd></div>"
    )
    assert str(group_rows(ProvenanceGroup("Empty", ()))) == ""


def test_values_read_as_a_person_writes_them() -> None:
    assert _flat({"a": 1, "b": None, "c": "", "d": [], "e": 2.50}) == "a 1, e 2.5"
    assert _flat([1, 0.1, "x"]) == "1, 0.1, x"
    assert _flat((3, {"k": 1e-07})) == "3, k 1e-07"
    assert _flat(True) == "True"


def test_hostile_provenance_keys_and_values_reach_the_page_escaped() -> None:
    minilm = model_record(MINILM_ID)
    stored = {"<i>key</i>": HOSTILE, "software": {"lib": "<b>", "torch": "shown above"}}
    run = _run(minilm, CPU, "baseline", "baseline", provenance_json=json.dumps(stored))
    provenance = build_provenance([run], CPU)
    html = "".join(str(group_rows(g)) for g in provenance.groups)
    assert "<i>" not in html and "<b>" not in html and "<script>" not in html
    assert "&lt;i&gt;key&lt;/i&gt;" in html and "<dt>lib</dt><dd>&lt;b&gt;</dd>" in html
    assert "shown above" not in html  # torch is shown from the run's own field
    assert json.loads(provenance.raw_json) == stored


def test_provenance_that_is_not_json_is_shown_raw_and_grouped_from_the_run() -> None:
    minilm = model_record(MINILM_ID)
    run = _run(minilm, CPU, "baseline", "baseline", provenance_json="{not json")
    provenance = build_provenance([run], None)
    assert provenance.raw_json == "{not json"
    assert [g.title for g in provenance.groups] == ["Device", "Meter", "Protocol", "Software"]
    assert build_provenance([], None) == Provenance([], "")


def test_host_load_says_how_busy_the_host_was() -> None:
    minilm = model_record(MINILM_ID)
    busy = _run(
        minilm,
        CPU,
        "baseline",
        "baseline",
        foreign_cpu_cores=0.94,
        foreign_cpu_share=0.47,
        foreign_cpu_share_max=0.5,
        foreign_gpu_processes=2,
        foreign_gpu_util_pct=35.5,
        foreign_load_method="proc-stat+nvml-per-process",
        busy_remeasured=3,
        contended=True,
        cpu_threads=2,
    )
    assert _host_load(busy, {}) == [
        ("Foreign CPU load (median window)", "0.94 cores (47 % of our CPUs)"),
        ("Busiest kept window", "50 %"),
        ("Other GPU processes", 2),
        ("Their GPU utilisation", "35.5 %"),
        ("Foreign load method", "proc-stat+nvml-per-process"),
        ("Busy windows measured again", 3),
        ("Contended", "yes: clean windows could not be had"),
        ("CPU threads", 2),
    ]
    quiet = _run(minilm, CPU, "baseline", "baseline", foreign_cpu_cores=0.0)
    assert _host_load(quiet, {"not_measured": "no /proc/stat"})[:1] == [
        ("Foreign CPU load (median window)", "0.00 cores")
    ]
    unmeasured = dict(_host_load(_run(minilm, CPU, "baseline", "baseline"), {"not_measured": "x"}))
    assert unmeasured["Foreign load method"] == "not measured"
    assert unmeasured["Contended"] is None and unmeasured["Busy windows measured again"] is None


@pytest.mark.parametrize("task", ["text-classification", "a/b<c>"])
def test_every_page_template_autoescapes_and_names_tasks_safely(task: str) -> None:
    env = environment()
    assert env.autoescape is True
    assert env.filters["script_json"] is script_json
    assert env.filters["provenance_rows"] is group_rows
    name = task_page_name(task)
    assert name.endswith(".html") and "/" not in name and "<" not in name


def test_hardware_rows_of_a_gpu_say_its_driver_and_power_limit() -> None:
    gpu = HardwareRecord("fp-g", "gpu-h100-80gb", "gpu", "NVIDIA H100", "Xeon", 16, 128.0)
    gpu = dataclasses.replace(gpu, gpu_driver="550.54", gpu_power_limit_w=700.0)
    [device] = [g for g in build_provenance([], gpu).groups if g.title == "Device"]
    assert dict(device.items)["GPU power limit"] == "700 W"
    assert dict(device.items)["GPU driver"] == "550.54"


def test_script_json_writes_other_values_as_their_text() -> None:
    from datetime import date

    assert str(script_json({"day": date(2026, 12, 7), "path": Path("a/b")})) == (
        '{"day":"2026-12-07","path":"a/b"}'
    )


def test_the_environment_autoescapes_strictly_and_is_made_once_per_template_version() -> None:
    import jinja2

    from labeler.badges import grade_text_colour

    env = environment("issue-26-test")
    assert env.autoescape is True and env.auto_reload is False
    assert env.undefined is jinja2.StrictUndefined
    assert env.trim_blocks is True and env.lstrip_blocks is True
    assert isinstance(env.bytecode_cache, jinja2.FileSystemBytecodeCache)
    assert env.filters["grade_text"] is grade_text_colour
    assert isinstance(env.globals["grade_css"], Markup) and str(env.globals["grade_css"])
    assert isinstance(env.globals["label_bars"], Markup) and str(env.globals["label_bars"])
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()
    assert env.from_string("{% if 1 %}\n  x\n{% endif %}\n").render() == "  x\n"
    assert environment("issue-26-test") is env  # one per version of the templates
    assert environment() is not environment()  # no version given: never cached


def test_empty_values_are_left_out_of_the_rows() -> None:
    pairs = [("none", None), ("empty", ""), ("list", []), ("dict", {}), ("zero", 0), ("x", "y")]
    assert _items(pairs) == (("zero", "0"), ("x", "y"))

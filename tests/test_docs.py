"""Docs that cannot drift: every command and every catalog table or view is documented."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest
import typer.main

from labeler.cli import app
from labels.migrations import migrate

DOCS = Path(__file__).resolve().parents[1] / "docs"
COMMANDS = typer.main.get_command(app).commands


def _relations() -> dict[str, list[str]]:
    con = duckdb.connect()
    try:
        migrate(con)
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "ORDER BY table_name, ordinal_position"
        ).fetchall()
    finally:
        con.close()
    relations: dict[str, list[str]] = {}
    for table, column in rows:
        relations.setdefault(table, []).append(column)
    return relations


RELATIONS = _relations()


@pytest.fixture(scope="module")
def cli_md() -> str:
    return (DOCS / "cli.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def catalog_md() -> str:
    return (DOCS / "catalog.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_is_documented_with_help(cli_md, name):
    assert re.search(rf"^## labeler {re.escape(name)}$", cli_md, re.MULTILINE), name
    assert (COMMANDS[name].help or "").strip(), f"{name} has no help text"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_option_is_documented(cli_md, name):
    section = cli_md.split(f"## labeler {name}\n", 1)[1].split("\n## ", 1)[0]
    for param in COMMANDS[name].params:
        for opt in param.opts:
            if opt.startswith("--") and opt != "--help":
                assert f"`{opt}`" in section, f"{name} {opt}"


@pytest.mark.parametrize("relation", sorted(RELATIONS))
def test_table_or_view_is_documented(catalog_md, relation):
    assert re.search(rf"^### {re.escape(relation)}$", catalog_md, re.MULTILINE), relation


@pytest.mark.parametrize("relation", sorted(RELATIONS))
def test_every_column_is_documented(catalog_md, relation):
    section = catalog_md.split(f"### {relation}\n", 1)[1].split("\n### ", 1)[0]
    for column in RELATIONS[relation]:
        assert f"| `{column}` |" in section, f"{relation}.{column}"


# -- figures the docs quote, read from the docs and compared with the code -------------------
#
# Each check reads the number out of the prose or the table a reader sees, so changing a
# constant without the docs (or the docs without the constant) fails here.


@pytest.fixture(scope="module")
def methodology_md() -> str:
    return (DOCS / "methodology.md").read_text(encoding="utf-8")


def _number(pattern: str, text: str) -> float:
    found = re.search(pattern, text)
    assert found, f"the docs no longer say {pattern!r}"
    return float(found.group(1))


def test_default_watts_per_core_is_the_figure_the_methodology_quotes(methodology_md):
    from scanner.meters.estimate import DEFAULT_WATTS_PER_CORE, watts_per_core_for

    prose = _number(r"The default of ([\d.]+) W per core", methodology_md)
    table = _number(r"\*\*any other CPU\*\* \|[^\n]*\*\*([\d.]+)\*\* \(default\)", methodology_md)
    assert prose == table == DEFAULT_WATTS_PER_CORE
    assert watts_per_core_for("A CPU nobody has heard of")[0] == prose


def test_cpu_power_table_matches_the_code(methodology_md):
    from scanner.meters.estimate import CPU_POWER_SPECS, watts_per_core_for

    rows = re.findall(
        r"^\| ((?:AMD|Intel|Ampere) [^|]+?) \| (\d+) W \| (\d+) \| ([\d.]+) \|$",
        methodology_md,
        re.MULTILINE,
    )
    assert len(rows) == len(CPU_POWER_SPECS)
    for name, tdp_w, cores, per_core in rows:
        watts, source = watts_per_core_for(name)
        assert f"{float(tdp_w):g} W TDP / {int(cores)} cores" in source, name
        assert watts == pytest.approx(float(per_core), abs=0.005 + 1e-9), name  # 2 decimals


def test_protocol_defaults_are_the_figures_the_methodology_quotes(methodology_md):
    from scanner.harness import Protocol

    cpu, gpu = Protocol.for_device("cpu"), Protocol.for_device("cuda")
    idle = re.search(r"for `idle_s` \(([\d.]+) s on CPU, ([\d.]+) s on\s+GPU\)", methodology_md)
    assert idle and (float(idle[1]), float(idle[2])) == (cpu.idle_s, gpu.idle_s)
    warmup = re.search(
        r"\(CPU: ([\d.]+) s and (\d+) calls?; GPU: ([\d.]+) s and (\d+) calls?\)", methodology_md
    )
    assert warmup, "the warm-up figures are gone from the methodology"
    assert (float(warmup[1]), int(warmup[2])) == (cpu.warmup_s, cpu.warmup_iterations)
    assert (float(warmup[3]), int(warmup[4])) == (gpu.warmup_s, gpu.warmup_iterations)
    assert _number(r"`windows` windows \(default (\d+)", methodology_md) == cpu.windows
    cpu_window = re.search(r"\(CPU: ([\d.]+) s and (\d+) calls,", methodology_md)
    assert cpu_window and (float(cpu_window[1]), int(cpu_window[2])) == (
        cpu.window_s,
        cpu.window_iterations,
    )
    gpu_window = re.search(r"GPU: ([\d.]+) s and (\d+) calls, because NVML", methodology_md)
    assert gpu_window and (float(gpu_window[1]), int(gpu_window[2])) == (
        gpu.window_s,
        gpu.window_iterations,
    )
    assert _number(r"`cooldown_s` \(([\d.]+) s\)", methodology_md) == gpu.cooldown_s
    assert cpu.cooldown_s == 0.0  # the methodology names a cooldown on GPU only


def test_noisy_cv_is_the_figure_the_docs_quote(methodology_md):
    from labels.scheme import load_scheme

    quoted = _number(r"`noisy_cv`\s+\(([\d.]+) in scheme v1\)", methodology_md)
    assert quoted == load_scheme("v1").noisy_cv


def test_scheme_v1_thresholds_and_gates_are_the_figures_the_docs_quote():
    from labels.scheme import load_scheme

    scheme_md = (DOCS / "scheme.md").read_text(encoding="utf-8")
    scheme = load_scheme("v1")
    bounds = dict(re.findall(r"^\| ([A-F]) \| [^|]*?([\d.]+) \| ", scheme_md, re.MULTILINE))
    assert {grade: float(bound) for grade, bound in bounds.items()} == scheme.upper_eei
    last = re.search(r"^\| G \| ≥ ([\d.]+) \|", scheme_md, re.MULTILINE)
    assert last and float(last[1]) == scheme.upper_eei["F"]
    gates = re.findall(
        r"^\| ([a-z0-9-]+(?:, [a-z0-9-]+)*) \| ([^|]+) \| ([\d.]+) \|$", scheme_md, re.M
    )
    quoted = {task: float(minimum) for tasks, _, minimum in gates for task in tasks.split(", ")}
    # the table is v2's gates, each extra minimum quoted in its metric's cell
    v2 = load_scheme("v2")
    assert quoted == {task: gate.minimum for task, gate in v2.quality_gates.items()}
    metrics = {task: text for tasks, text, _ in gates for task in tasks.split(", ")}
    for task, gate in v2.quality_gates.items():
        assert f"`{gate.metric}`" in metrics[task] or not gate.also, task
        for metric, minimum in gate.also.items():
            assert f"`{metric}` ≥ {minimum}" in metrics[task], (task, metric)
    # v1's are the same figures for the tasks it has, but for its cosine embedding gate
    v1_cosine = _number(r"at least ([\d.]+) \(`cosine_similarity`\)", scheme_md)
    expected_v1 = {t: quoted[t] for t in scheme.quality_gates}
    expected_v1["feature-extraction"] = v1_cosine
    assert {t: g.minimum for t, g in scheme.quality_gates.items()} == expected_v1
    assert scheme.quality_gate("feature-extraction").metric == "cosine_similarity"

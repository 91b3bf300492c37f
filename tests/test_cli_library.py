"""The library behind the thin CLI: what each command calls, tested without a command line,
and the command's output checked against it (80 columns, in a pipe, the same figures).

Real DuckDB catalogs from tests/site_catalog.py; no model is benchmarked here (the scan
runner of a cycle is a recording function; the CLI's scans are tested in test_cli.py).
"""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
import typer
import typer.main
from typer.testing import CliRunner

from labeler.cli import app
from labeler.cli_options import MeterName, ProtocolName, enum_parser
from labeler.costs import Prices, label_money
from labeler.label_lookup import NoLabelError, find_label
from labeler.recommend import PRIORITIES, Priority
from labeler.recommendation_report import recommendation_report
from labels.catalog import Catalog
from labels.errors import LabelerError
from scanner.discovery.base import DiscoveryError
from scanner.discovery.hub import HubSort
from scanner.discovery.selection import (
    HubRanking,
    ModelSelection,
    discover_models,
    read_models_file,
)
from scanner.energy_score import PROTOCOLS
from scanner.meters.select import METHODS
from scanner.scan_checks import (
    ScanOptionError,
    batch_sizes_option,
    check_device,
    check_protocol,
    check_scan_options,
    check_tactics,
    eval_data_path,
)
from tests.site_catalog import BROKEN_ID, CPU, GPU, MINILM_ID, fill_catalog
from tests.tiny_models import make_not_a_model


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> Catalog:
    return fill_catalog(tmp_path_factory.mktemp("cli-library") / "catalog.duckdb")


def _lines(text: str) -> list[str]:
    return text.splitlines()


def assert_fits_80_columns(text: str) -> None:
    long = [line for line in _lines(text) if len(line) > 80]
    assert not long, long
    assert "…" not in text, text


# -- the label lookup: one query ---------------------------------------------------------


@pytest.mark.parametrize("hardware", [None, CPU.profile, GPU.profile, "tpu-v5"])
@pytest.mark.parametrize("model_id", [MINILM_ID, BROKEN_ID, "org/none"])
def test_latest_label_is_the_first_label_the_full_list_gives(labelled, model_id, hardware):
    everything = [
        label
        for label in labelled.latest_labels()
        if label.model_id == model_id and hardware in (None, label.hardware)
    ]
    assert labelled.latest_label(model_id, hardware) == (everything[0] if everything else None)


def test_a_model_on_two_profiles_gives_the_one_asked_for(labelled):
    assert labelled.latest_label(MINILM_ID).hardware == CPU.profile  # first by hardware
    assert labelled.latest_label(MINILM_ID, GPU.profile).hardware == GPU.profile


def test_find_label_names_what_is_missing_in_one_line(labelled):
    with pytest.raises(NoLabelError) as missing:
        find_label(labelled, MINILM_ID, "tpu-v5")
    assert isinstance(missing.value, LabelerError) and missing.value.exit_code == 2
    assert missing.value.one_line().startswith(f"no label for {MINILM_ID!r} on tpu-v5 in ")
    assert find_label(labelled, MINILM_ID, GPU.profile).hardware == GPU.profile


# -- recommend's money is costs.label_money's ---------------------------------------------


@pytest.mark.parametrize("hardware", [CPU.profile, GPU.profile])
def test_recommendation_money_is_label_money(labelled, hardware):
    prices = Prices(electricity_price_per_kwh=0.2, hardware_price_per_hour=1.5, currency="EUR")
    report = recommendation_report(labelled, MINILM_ID, hardware, Priority.COST, prices)
    label = labelled.latest_label(MINILM_ID, hardware)
    runs = labelled.latest_runs(MINILM_ID, label.revision, label.task, hardware)
    assert report.money == label_money(label.recommendations, runs, prices)
    assert report.money is not None
    assert bool(report.money.by_variant) == bool(label.recommendations)


def test_a_failed_baseline_gives_no_money(labelled):
    """The pick the CLI's own copy got wrong: a failed baseline run measured nothing."""
    report = recommendation_report(labelled, BROKEN_ID, None, Priority.ENERGY, Prices())
    assert report.money is None and report.baseline_line() is None
    result = CliRunner().invoke(app, ["recommend", BROKEN_ID, "--catalog", str(labelled.path)])
    assert result.exit_code == 0, result.output
    assert "baseline:" not in result.stdout


def test_recommendation_order_follows_the_priority(labelled):
    prices = Prices()
    by = {
        priority: [
            r.variant
            for r in recommendation_report(
                labelled, MINILM_ID, CPU.profile, priority, prices
            ).recommendations
        ]
        for priority in Priority
    }
    assert all(sorted(order) == sorted(by[Priority.ENERGY]) for order in by.values())
    assert by[Priority.ENERGY][0] == "int8-dynamic"  # qualifies and saves energy: first


def test_recommend_prints_the_library_figures_within_80_columns(labelled):
    prices = Prices(electricity_price_per_kwh=0.13, currency="USD")
    report = recommendation_report(labelled, MINILM_ID, None, Priority.ENERGY, prices)
    result = CliRunner().invoke(app, ["recommend", MINILM_ID, "--catalog", str(labelled.path)])
    assert result.exit_code == 0, result.output
    assert_fits_80_columns(result.stdout)
    words = set(result.stdout.split())
    for row in report.rows():
        if not row.applies:
            continue
        money = report.money.by_variant[
            next(r.variant for r in report.recommendations if r.tactic == row.tactic)
        ]
        for figure in (row.energy, row.latency, row.cost_per_million, row.build_cost):
            assert figure.split()[0] in words, (figure, result.stdout)
        assert row.money_payback == str(money.payback.inferences)
        assert row.money_payback in words
    assert re.search(r"^baseline: 0\.\d+ USD per 1M inferences", result.stdout, re.MULTILINE)


# -- the other tables: 80 columns in a pipe, nothing cut -----------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "SELECT model_id, hardware, grade FROM latest_labels ORDER BY ALL",
        "SELECT * FROM latest_labels ORDER BY model_id, hardware",  # 30 columns
    ],
)
def test_sql_table_fits_80_columns_and_keeps_every_value(labelled, query):
    result = CliRunner().invoke(app, ["sql", query, "--catalog", str(labelled.path)])
    assert result.exit_code == 0, result.output
    assert_fits_80_columns(result.stdout)
    for _model_id, hardware, grade in labelled.query(
        "SELECT model_id, hardware, grade FROM latest_labels"
    ).rows:
        assert MINILM_ID in result.stdout and hardware in result.stdout
        assert grade is None or grade in result.stdout.split()


@pytest.mark.parametrize("command", sorted(typer.main.get_command(app).commands))
def test_help_fits_80_columns_and_keeps_the_defaults(command):
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert_fits_80_columns(result.stdout)
    for param in typer.main.get_command(app).commands[command].params:
        if param.help and "[default: $" in param.help:  # rich once read these as markup
            assert "[default:" in result.stdout and "$LABELER_" in result.stdout


def test_alternatives_fit_80_columns(labelled):
    result = CliRunner().invoke(app, ["alternatives", MINILM_ID, "--catalog", str(labelled.path)])
    assert result.exit_code == 0, result.output
    assert_fits_80_columns(result.stdout)


# -- choices are Enums, in step with the library, and a bad one is one line ----------------


def test_choice_enums_list_what_the_library_knows():
    assert [p.value for p in ProtocolName] == list(PROTOCOLS)
    assert tuple(m.value for m in MeterName) == METHODS
    assert tuple(p.value for p in Priority) == PRIORITIES
    assert tuple(r.value for r in HubRanking) == typing.get_args(HubSort)


def test_enum_parser_gives_members_and_names_the_known_values():
    parse = enum_parser(ProtocolName, "protocol")
    assert parse("energy-score") is ProtocolName.ENERGY_SCORE
    assert parse(ProtocolName.SCHEME) is ProtocolName.SCHEME
    with pytest.raises(typer.BadParameter, match=r"unknown protocol 'x' \(known: scheme, energy"):
        parse("x")


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["sql", "SELECT 1", "--format", "xml"], "error: --format: unknown format 'xml'"),
        (["scan", "--sort", "stars"], "error: --sort: unknown ranking 'stars'"),
        (["scan", "--meter", "watts"], "error: --meter: unknown meter 'watts'"),
        (["scan", "--top", "0"], "error: --top: "),
        (["recommend", "org/x", "--priority", "speed"], "error: --priority: unknown priority"),
    ],
)
def test_a_bad_choice_or_number_is_one_error_line(tmp_path, args, line):
    catalog = tmp_path / "catalog.duckdb"
    result = CliRunner().invoke(app, [*args, "--catalog", str(catalog)])
    assert result.exit_code == 2, result.output
    (only,) = _lines(result.stderr)
    assert only.startswith(line), only
    assert not catalog.exists()


# -- model selection --------------------------------------------------------------------


def test_models_file_keeps_ids_and_drops_comments_and_blanks(tmp_path):
    listing = tmp_path / "models.txt"
    listing.write_text("# popular\norg/a\n\n  org/b  \n#org/c\n", encoding="utf-8")
    assert read_models_file(listing) == ["org/a", "org/b"]
    with pytest.raises(DiscoveryError, match="no such models file"):
        read_models_file(tmp_path / "none.txt")


def test_hub_selection_needs_tasks_or_models(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n", encoding="utf-8")
    for selection in (
        ModelSelection(source="hub"),
        ModelSelection(source="hub", models_file=empty),
    ):
        with pytest.raises(DiscoveryError, match="--source hub needs --task or --models"):
            discover_models(selection)


def test_a_folder_selection_lists_its_models(tmp_path):
    make_not_a_model(tmp_path / "models" / "org" / "m")
    (ref,) = discover_models(ModelSelection(source=str(tmp_path / "models")))
    assert ref.model_id == "org/m" and ref.source == "local"
    with pytest.raises(DiscoveryError, match="no such folder"):
        discover_models(ModelSelection(source=str(tmp_path / "none")))


# -- option checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (lambda: check_scan_options("v2", ["no-task"], "inprocess", None, "cpu"), "unknown task"),
        (lambda: check_scan_options("v2", None, "pigeon", None, "cpu"), "unknown executor"),
        (lambda: check_scan_options("v2", None, "inprocess", ["x"], "cpu"), "unknown tactic"),
        (lambda: check_device("tpu"), "unknown device 'tpu' (cpu, cuda or cuda:N)"),
        (lambda: check_tactics(["no-such"]), "unknown tactic 'no-such'"),
        (lambda: check_protocol("leaderboard", None), "unknown protocol 'leaderboard'"),
        (lambda: check_protocol("energy-score", ["dynamic-int8"]), "baseline alone"),
        (lambda: batch_sizes_option("1,8", "energy-score"), "goes with the scheme protocol"),
        (lambda: batch_sizes_option("1,eight", "scheme"), "--batch-sizes: "),
    ],
)
def test_each_bad_scan_option_is_a_scan_option_error(check, message):
    with pytest.raises(ScanOptionError) as error:
        check()
    assert message in error.value.one_line() and error.value.exit_code == 2


def test_good_scan_options_pass_and_parse(tmp_path):
    check_scan_options("v2", ["text-classification"], "inprocess", ["baseline"], "cpu")
    check_protocol("energy-score", None)
    assert batch_sizes_option(None, "energy-score") == []
    assert batch_sizes_option("1,8,32", "scheme") == [1, 8, 32]
    assert eval_data_path(None) is None


# -- the schedule's cycle ------------------------------------------------------------------


def test_a_cycle_scans_grades_builds_and_snapshots(tmp_path):
    from labeler.scan_cycles import run_cycle
    from labeler.site import build_site
    from scanner.scan import ScanOptions, ScanSummary

    catalog = fill_catalog(tmp_path / "catalog.duckdb")
    make_not_a_model(tmp_path / "models" / "org" / "m")
    scanned: list[list[str]] = []

    def record_scan(plan, should_stop):
        scanned.append([ref.model_id for ref in plan.refs])
        assert plan.catalog.path == catalog.path and not should_stop()
        return ScanSummary(scan_id="s1", benchmarked=1, unchanged=2, failed=0)

    done = run_cycle(
        catalog.path,
        ModelSelection(source=str(tmp_path / "models")),
        ScanOptions(),
        tmp_path / "site",
        keep_snapshots=2,
        build_site=build_site,
        run_scan=record_scan,
    )
    assert scanned == [["org/m"]]
    assert done.graded.labels and (tmp_path / "site" / "index.html").is_file()
    assert done.site.models == len({label.model_id for label in catalog.latest_labels()})
    assert done.snapshot is not None and Path(done.snapshot).is_file()
    assert done.one_line().startswith(
        f"1 benchmarked, 2 unchanged, 0 failed; {done.graded.graded} graded; site "
    )
    assert done.one_line().endswith(
        f"; snapshot {done.snapshot}; 0 contended (measured again next cycle)"
    )


def test_the_demo_scans_its_plan_then_grades_and_builds(tmp_path):
    from labeler.scan_cycles import run_demo
    from labeler.site import build_site
    from scanner.discovery.base import ModelRef
    from scanner.discovery.demo import demo_scan_plan
    from scanner.scan import ScanSummary

    refs = [
        ModelRef(f"demo/{name}", "r1", "text-classification", "demo", None, synthetic=synthetic)
        for name, synthetic in [("real", False), ("tiny-a", True), ("tiny-b", True)]
    ]
    scanned: list[tuple[list[str], list[str] | None, str]] = []

    def record_scan(plan, should_stop):
        options = plan.options
        scanned.append(([r.model_id for r in plan.refs], options.tactics, options.device))
        assert options.protocol == {"windows": 1} and not should_stop()
        return ScanSummary(scan_id=f"s{len(scanned)}", failed=len(scanned) - 1)

    catalog = fill_catalog(tmp_path / "catalog.duckdb")
    done = run_demo(
        catalog,
        {"windows": 1},
        tmp_path / "site",
        build_site=build_site,
        run_scan=record_scan,
        refs=refs,
    )
    plan = demo_scan_plan(refs)
    assert scanned == [([r.model_id for r in group], tactics, "cpu") for group, tactics in plan]
    assert [ids for ids, _, _ in scanned] == [["demo/real"], ["demo/tiny-a", "demo/tiny-b"]]
    assert not done.ok  # the second group "failed" one model
    assert done.graded.labels and (tmp_path / "site" / "index.html").is_file()

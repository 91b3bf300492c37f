"""Money: cost per 1M inferences, build cost and payback, prices and their precedence,
bad prices (one line, exit 2), and `labeler recommend --priority`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from labeler.cli import app
from labeler.costs import (
    CURRENCY_ENV,
    DEFAULT_CPU_PRICE_PER_HOUR,
    DEFAULT_CURRENCY,
    DEFAULT_ELECTRICITY_PRICE_PER_KWH,
    DEFAULT_GPU_PRICE_PER_HOUR,
    ELECTRICITY_ENV,
    HARDWARE_ENV,
    Payback,
    PriceError,
    Prices,
    baseline_cost_per_million,
    build_cost,
    cost_per_million,
    format_money,
    hours_per_million,
    label_money,
    payback,
    resolve_prices,
    variant_money,
)
from labeler.recommend import recommendations
from labels.recommendation import Recommendation
from tests.site_catalog import MINILM_ID, fill_catalog
from tests.test_cli_errors import assert_one_error_line
from tests.test_grading import run

PRICES = Prices(electricity_price_per_kwh=0.20, hardware_price_per_hour=2.0, currency="EUR")


@pytest.fixture(autouse=True)
def no_price_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (ELECTRICITY_ENV, HARDWARE_ENV, CURRENCY_ENV):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def labelled_catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.duckdb"
    fill_catalog(path)
    return path


# -- arithmetic, with expectations computed by hand --------------------------------------


def test_hours_per_million_from_the_latency_of_a_batch():
    # 12 ms per batch of 8 = 1.5 ms an inference; 1M inferences = 1,500 s = 0.41667 h
    assert hours_per_million(12.0, 8) == pytest.approx(1500 / 3600)
    assert hours_per_million(None, 8) is None
    assert hours_per_million(12.0, None) is None
    assert hours_per_million(12.0, 0) is None


def test_cost_per_million_is_energy_times_price_plus_time_times_price():
    # 0.9 Wh/1k = 0.9 kWh per 1M: 0.9 x 0.20 = 0.18; 0.5 h x 2.0 = 1.0
    assert cost_per_million(0.9, 0.5, PRICES) == pytest.approx(1.18)
    assert cost_per_million(None, 0.5, PRICES) is None
    assert cost_per_million(0.9, None, PRICES) is None  # energy alone would understate it


def test_default_hardware_price_depends_on_the_profile():
    prices = Prices()
    assert prices.electricity_price_per_kwh == DEFAULT_ELECTRICITY_PRICE_PER_KWH
    assert prices.hardware_price_for("cpu-x86-64") == DEFAULT_CPU_PRICE_PER_HOUR
    assert prices.hardware_price_for("gpu-h100-80gb") == DEFAULT_GPU_PRICE_PER_HOUR
    # 1 kWh and 1 h on a GPU: 0.13 + 3.00
    assert cost_per_million(1.0, 1.0, prices, "gpu-h100-80gb") == pytest.approx(3.13)
    assert PRICES.hardware_price_for("gpu-h100-80gb") == 2.0  # a set price wins


def test_build_cost_and_payback_in_money():
    # 50 Wh at 0.20/kWh = 0.01; 180 s at 2.0/h = 0.10
    assert build_cost(50.0, 180.0, PRICES) == pytest.approx(0.11)
    assert build_cost(None, None, PRICES) == 0.0
    # saves 1.0 per 1M: 0.11 is paid back after 110,000 inferences
    assert payback(3.0, 2.0, 0.11) == Payback(0.11, pytest.approx(1.0), 110_000)
    assert payback(3.0, 3.5, 0.11) == Payback(0.11, pytest.approx(-0.5), None)
    assert payback(3.0, 2.0, 0.0).inferences == 0
    assert payback(None, 2.0, 0.11) is None


def test_a_variants_money_uses_its_paired_energy_and_latency_change():
    baseline = run(energy_wh_per_1k=2.0, latency_ms_p50=36.0, batch_size=10)
    variant = run(
        "dynamic-int8",
        energy_wh_per_1k=1.0,
        paired_energy_ratio=0.5,
        paired_latency_ratio=0.5,
        paired_cheaper_windows=5,
        windows=5,
        build_energy_wh=10.0,
        build_s=36.0,
    )
    [rec] = recommendations(baseline, [variant], {}, lambda _e: None)
    money = variant_money(rec, baseline, PRICES)
    # baseline: 36 ms / 10 = 3.6 ms an inference = 1 h per 1M; 2.0 x 0.20 + 1 x 2.0 = 2.4
    assert money.baseline_cost_per_million == pytest.approx(2.4)
    # variant: 1.0 kWh x 0.20 + 0.5 h x 2.0 = 1.2, half the baseline's
    assert money.cost_per_million == pytest.approx(1.2)
    assert money.cost_change == pytest.approx(-0.5)
    # build: 0.01 kWh x 0.20 + 0.01 h x 2.0 = 0.022; saves 1.2 per 1M -> 18,334 inferences
    assert money.payback.build_cost == pytest.approx(0.022)
    assert money.payback.inferences == 18_334
    assert money.currency == "EUR"


def test_label_money_needs_a_measured_baseline():
    baseline = run(energy_wh_per_1k=2.0, latency_ms_p50=36.0, batch_size=10)
    rec = Recommendation(tactic="t", variant="t", energy_wh_per_1k=1.0, latency_change=0.0)
    money = label_money([rec], [baseline], PRICES)
    assert money.baseline_cost_per_million == pytest.approx(2.4)
    assert money.by_variant["t"].cost_per_million == pytest.approx(0.2 + 2.0)
    assert label_money([rec], [run(status="failed")], PRICES) is None


def test_money_is_printed_with_the_digits_a_fraction_of_a_cent_needs():
    assert format_money(1.234, "USD") == "1.23 USD"
    assert format_money(0.1545, "USD") == "0.1545 USD"
    assert format_money(0.000123, "EUR") == "0.0001230 EUR"  # 4 significant digits
    assert format_money(None, "USD") == "n/a"


# -- prices: options, then environment variables, then defaults ----------------------------


def test_option_beats_environment_beats_default():
    env = {ELECTRICITY_ENV: "0.30", HARDWARE_ENV: "1.5", CURRENCY_ENV: "EUR"}
    assert resolve_prices(environ={}) == Prices()
    assert resolve_prices(environ=env) == Prices(0.30, 1.5, "EUR")
    assert resolve_prices("0.05", "4", "GBP", environ=env) == Prices(0.05, 4.0, "GBP")
    assert resolve_prices("0.05", environ=env) == Prices(0.05, 1.5, "EUR")
    assert resolve_prices(environ={ELECTRICITY_ENV: "", HARDWARE_ENV: ""}) == Prices()
    assert resolve_prices(electricity_price_per_kwh="0", environ={}).electricity_price_per_kwh == 0


@pytest.mark.parametrize("bad", ["-0.1", "cheap", "nan", "inf", ""])
def test_bad_prices_are_price_errors_naming_their_source(bad):
    with pytest.raises(PriceError, match="--electricity-price-per-kwh"):
        resolve_prices(electricity_price_per_kwh=bad, environ={})
    if bad:  # an empty environment variable means unset
        with pytest.raises(PriceError, match=HARDWARE_ENV):
            resolve_prices(environ={HARDWARE_ENV: bad})


@pytest.mark.parametrize(
    ("options", "environ", "message"),
    [
        (
            {"electricity_price_per_kwh": "x"},
            {},
            "--electricity-price-per-kwh must be a number, got 'x'",
        ),
        ({}, {ELECTRICITY_ENV: "x"}, f"{ELECTRICITY_ENV} must be a number, got 'x'"),
        (
            {"hardware_price_per_hour": "-2"},
            {},
            "--hardware-price-per-hour must be a finite number of zero or more, got '-2'",
        ),
        (
            {},
            {HARDWARE_ENV: "-2"},
            f"{HARDWARE_ENV} must be a finite number of zero or more, got '-2'",
        ),
    ],
)
def test_a_bad_price_names_the_option_or_variable_it_came_from(options, environ, message):
    with pytest.raises(PriceError) as refused:
        resolve_prices(**options, environ=environ)
    assert str(refused.value) == message


def test_prices_come_from_the_process_environment_unless_given_one(monkeypatch):
    monkeypatch.setenv(ELECTRICITY_ENV, "0.3")
    monkeypatch.setenv(HARDWARE_ENV, "1.5")
    monkeypatch.setenv(CURRENCY_ENV, " EUR ")
    assert resolve_prices() == Prices(0.3, 1.5, "EUR")
    assert resolve_prices(environ={}) == Prices()
    monkeypatch.setenv(CURRENCY_ENV, "  ")
    assert resolve_prices().currency == DEFAULT_CURRENCY  # blank: the default


def test_one_inference_a_batch_and_the_hardware_profile_of_every_figure():
    assert hours_per_million(36.0, 1) == pytest.approx(10.0)  # 36 ms x 1M = 10 h
    assert hours_per_million(36.0, -1) is None
    # a GPU baseline, default prices: its time costs the GPU's price everywhere
    prices = Prices()
    baseline = run(
        energy_wh_per_1k=1.0, latency_ms_p50=36.0, batch_size=10, hardware_profile="gpu-h100-80gb"
    )
    assert baseline_cost_per_million(baseline, prices) == pytest.approx(0.13 + 3.0)
    assert build_cost(0.0, 3600.0, prices, "gpu-h100-80gb") == pytest.approx(3.0)
    assert build_cost(0.0, 3600.0, prices) == pytest.approx(0.09)
    rec = Recommendation(
        tactic="t", variant="t", energy_wh_per_1k=1.0, latency_change=-0.5, build_s=3600.0
    )
    money = variant_money(rec, baseline, prices)
    assert money.cost_per_million == pytest.approx(0.13 + 1.5)
    assert money.payback == Payback(pytest.approx(3.0), pytest.approx(1.5), 2_000_000)
    label = label_money([rec], [baseline], prices)
    assert label.prices is prices
    assert label.hardware_price_per_hour == 3.0
    assert label.baseline_cost_per_million == pytest.approx(3.13)
    assert label.by_variant == {"t": money}


def test_without_a_latency_change_a_variant_has_no_running_cost():
    baseline = run(energy_wh_per_1k=2.0, latency_ms_p50=36.0, batch_size=10)
    rec = Recommendation(tactic="t", variant="t", energy_wh_per_1k=1.0, latency_change=None)
    money = variant_money(rec, baseline, PRICES)
    assert money.cost_per_million is None and money.payback is None
    assert money.cost_change is None
    no_latency = run(energy_wh_per_1k=2.0, latency_ms_p50=None, batch_size=10)
    rec = Recommendation(tactic="t", variant="t", energy_wh_per_1k=1.0, latency_change=-0.5)
    assert variant_money(rec, no_latency, PRICES).cost_per_million is None


def test_a_saving_of_nothing_never_pays_back_and_a_free_build_at_once():
    assert payback(3.0, 3.0, 5.0) == Payback(5.0, 0.0, None)
    assert payback(3.0, 2.0, 0.0) == Payback(0.0, 1.0, 0)
    assert payback(3.0, 2.0, -1.0) == Payback(-1.0, 1.0, 0)
    assert payback(3.0, None, 1.0) is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0 USD"),
        (0.0, "0 USD"),
        (1, "1.00 USD"),
        (-2.5, "-2.50 USD"),
        (0.999, "0.9990 USD"),
        (-0.05, "-0.05000 USD"),
        (1.234e-8, "0.00000001 USD"),  # at most 8 decimals
        (1.234e-7, "0.00000012 USD"),
    ],
)
def test_money_at_the_edges_of_its_formats(value, text):
    assert format_money(value, "USD") == text


@pytest.mark.parametrize(
    "args",
    [
        ["--electricity-price-per-kwh", "-1"],
        ["--hardware-price-per-hour", "lots"],
    ],
)
def test_recommend_with_a_bad_price_option_is_one_line_exit_2(labelled_catalog, args):
    result = CliRunner().invoke(
        app, ["recommend", MINILM_ID, *args, "--catalog", str(labelled_catalog)]
    )
    assert_one_error_line(result, contains=args[0])


def test_recommend_and_site_with_a_bad_price_variable_are_one_line_exit_2(
    labelled_catalog, tmp_path, monkeypatch
):
    monkeypatch.setenv(ELECTRICITY_ENV, "-0.5")
    cat = ["--catalog", str(labelled_catalog)]
    assert_one_error_line(
        CliRunner().invoke(app, ["recommend", MINILM_ID, *cat]), contains=ELECTRICITY_ENV
    )
    assert_one_error_line(
        CliRunner().invoke(app, ["site", "--out", str(tmp_path / "site"), *cat]),
        contains=ELECTRICITY_ENV,
    )


def test_recommend_prints_cost_per_million_from_the_catalog(
    labelled_catalog, monkeypatch, wide_console
):
    # tests/site_catalog.py: MiniLM on cpu-x86-64, baseline 0.9 Wh/1k at 12 ms per batch of 8
    # = 0.41667 h per 1M: 0.9 x 0.10 + 0.41667 x 0.60 = 0.09 + 0.25 = 0.34 EUR
    monkeypatch.setenv(CURRENCY_ENV, "EUR")
    monkeypatch.setenv(HARDWARE_ENV, "0.60")
    result = CliRunner().invoke(
        app,
        [
            "recommend",
            MINILM_ID,
            "--hardware",
            "cpu-x86-64",
            "--electricity-price-per-kwh",
            "0.10",
            "--catalog",
            str(labelled_catalog),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "baseline: 0.3400 EUR per 1M inferences" in result.stdout
    assert "electricity 0.1 EUR/kWh, machine 0.6 EUR/h" in result.stdout
    assert "EUR/1M" in result.stdout


def test_recommend_rejects_an_unknown_priority(labelled_catalog):
    result = CliRunner().invoke(
        app, ["recommend", MINILM_ID, "--priority", "speed", "--catalog", str(labelled_catalog)]
    )
    assert_one_error_line(result, contains="--priority")

"""Loading a label scheme: what a scheme file must hold, and the one-line errors when it
does not. A scheme is what every grade rests on, so a malformed one must never load."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from labels.scheme import SCHEMES_DIR, SchemeError, available_schemes, load_scheme


def write_scheme(tmp_path: Path, **thresholds: float) -> Path:
    """scheme v1 with some thresholds replaced, written to `tmp_path`."""
    text = (SCHEMES_DIR / "v1.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    bounds = {**data["thresholds"], **thresholds}
    start = text.index("[thresholds]")
    end = text.index("\n[", start + 1)
    table = "[thresholds]\n" + "".join(f"{g} = {v}\n" for g, v in bounds.items())
    path = tmp_path / "test-scheme.toml"
    path.write_text(text[:start] + table + text[end:], encoding="utf-8")
    return path


def test_available_schemes_are_the_toml_files_sorted() -> None:
    names = available_schemes()
    assert "v1" in names
    assert names == sorted(p.stem for p in SCHEMES_DIR.iterdir() if p.suffix == ".toml")


def test_an_unknown_version_names_the_ones_there_are() -> None:
    with pytest.raises(SchemeError) as error:
        load_scheme("v0")
    assert str(error.value) == f"no label scheme 'v0' (have: {', '.join(available_schemes())})"


def test_a_copy_of_v1_loads_from_a_path(tmp_path: Path) -> None:
    scheme = load_scheme(path=write_scheme(tmp_path))
    v1 = load_scheme("v1")
    assert (scheme.version, scheme.upper_eei, scheme.quality_gates) == (
        v1.version,
        v1.upper_eei,
        v1.quality_gates,
    )


@pytest.mark.parametrize(
    "thresholds",
    [
        {"A": 0.3},  # A above B
        {"C": 0.25},  # C equal to B: two classes with one bound
        {"F": 1.5},  # the last bound below E's
        {"E": 4.0},  # E equal to F
    ],
)
def test_thresholds_must_increase_strictly_from_a_to_f(
    tmp_path: Path, thresholds: dict[str, float]
) -> None:
    with pytest.raises(SchemeError) as error:
        load_scheme(path=write_scheme(tmp_path, **thresholds))
    assert str(error.value) == "scheme test-scheme.toml: thresholds must increase from A to F"


def test_workload_is_a_copy_and_an_unknown_task_is_an_error() -> None:
    scheme = load_scheme("v1")
    workload = scheme.workload("text-classification")
    assert workload == {"batch_size": 8, "sequence_length": 128}
    workload["batch_size"] = 1
    assert scheme.workload("text-classification")["batch_size"] == 8

    with pytest.raises(SchemeError) as error:
        scheme.workload("speech-recognition")
    assert str(error.value) == "scheme v1 has no reference workload for 'speech-recognition'"

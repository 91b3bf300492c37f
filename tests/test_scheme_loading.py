"""Loading a label scheme: what a scheme file must hold, and the one-line errors when it
does not. A scheme is what every grade rests on, so a malformed one must never load."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from labels.scheme import (
    SCHEMES_DIR,
    QualityGate,
    SchemeError,
    available_schemes,
    load_scheme,
)


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


def test_v1_gates_name_the_metric_they_judge() -> None:
    gates = load_scheme("v1").quality_gates
    assert gates["text-classification"] == QualityGate("top1_agreement", 0.98)
    assert gates["feature-extraction"] == QualityGate("cosine_similarity", 0.99)


def test_v1_reads_its_references_and_metadata() -> None:
    v1 = load_scheme("v1")
    reference = v1.reference("text-classification", "cpu-x86-64")
    assert reference is not None
    assert (reference.task, reference.hardware) == ("text-classification", "cpu-x86-64")
    assert reference.energy_wh_per_1k == 1.1
    assert reference.basis.startswith("bert-base (110M) sequence classifier at 8x128 tokens")
    assert v1.reference("text-classification", "no-such-hardware") is None
    assert (v1.version, v1.published) == ("v1", "2026-11-23")
    assert v1.description.startswith("Energy per 1,000 inferences of the reference workload")


def test_references_and_their_basis_are_optional(tmp_path: Path) -> None:
    text = (SCHEMES_DIR / "v1.toml").read_text(encoding="utf-8")
    head = text[: text.index("[[reference]]")]
    path = tmp_path / "bare.toml"
    path.write_text(head, encoding="utf-8")
    assert load_scheme(path=path).references == {}
    path.write_text(
        head + '[[reference]]\ntask = "t"\nhardware = "h"\nenergy_wh_per_1k = 2.0\n',
        encoding="utf-8",
    )
    [reference] = load_scheme(path=path).references.values()
    assert reference.basis == "" and reference.energy_wh_per_1k == 2.0


def test_optional_fields_have_their_defaults_and_are_read_when_given(tmp_path: Path) -> None:
    text = (SCHEMES_DIR / "v1.toml").read_text(encoding="utf-8")
    start, end = text.index('description = """'), text.index('"""\n', text.index('"""') + 3)
    bare = text[:start] + text[end + 4 :]
    path = tmp_path / "bare.toml"
    path.write_text(bare.replace("noisy_cv = 0.10", ""), encoding="utf-8")
    assert (load_scheme(path=path).description, load_scheme(path=path).noisy_cv) == ("", 0.1)
    assert load_scheme(path=path).eei_confidence == 0.9
    given = "noisy_cv = 0.25\neei_confidence = 0.8"
    path.write_text(bare.replace("noisy_cv = 0.10", given), encoding="utf-8")
    assert (load_scheme(path=path).noisy_cv, load_scheme(path=path).eei_confidence) == (0.25, 0.8)


def test_errors_say_what_is_wrong() -> None:
    v1 = load_scheme("v1")
    with pytest.raises(ValueError, match=r"^EEI cannot be negative: -0\.5$"):
        v1.grade_for_eei(-0.5)
    with pytest.raises(SchemeError, match=r"^scheme v1 has no quality gate for 'speech'$"):
        v1.quality_gate("speech")


def test_v2_gates_embeddings_on_neighbours_kept_and_similarity_ranks() -> None:
    gate = load_scheme("v2", path=SCHEMES_DIR / "v2.toml").quality_gate("feature-extraction")
    assert gate == QualityGate("top10_overlap", 0.9, {"similarity_spearman": 0.95})
    assert gate.passes({"top10_overlap": 0.9, "similarity_spearman": 0.95}, fallback=0.0)
    assert gate.shortfalls({"top10_overlap": 0.95, "similarity_spearman": 0.9}, 0.0) == [
        "similarity_spearman 0.9000 < 0.95"
    ]
    assert gate.shortfalls({"top10_overlap": 0.95}, 0.0) == ["similarity_spearman not measured"]
    # an adapter without the scheme's metric is judged on its own primary value
    assert QualityGate("top10_overlap", 0.9).value_of({"cosine_similarity": 0.5}, 0.5) == 0.5
    assert not QualityGate("top10_overlap", 0.9).passes({"cosine_similarity": 0.5}, 0.5)


@pytest.mark.parametrize(
    ("also", "message"),
    [
        ("3", "^scheme v9.toml: quality.feature-extraction.also must be a table of metric = min"),
        ('{ similarity_spearman = "x" }', "malformed"),
    ],
)
def test_a_malformed_extra_minimum_is_a_scheme_error(
    tmp_path: Path, also: str, message: str
) -> None:
    text = (SCHEMES_DIR / "v1.toml").read_text(encoding="utf-8")
    old = 'metric = "cosine_similarity"\nmin = 0.99\n'
    assert old in text
    bad = tmp_path / "v9.toml"
    bad.write_text(text.replace(old, f"{old}also = {also}\n"), encoding="utf-8")
    with pytest.raises(SchemeError, match=message):
        load_scheme("v9", path=bad)


def test_the_main_metric_under_its_minimum_says_its_value_and_the_minimum() -> None:
    gate = QualityGate("top10_overlap", 0.9, {"similarity_spearman": 0.95})
    assert gate.shortfalls({"top10_overlap": 0.85, "similarity_spearman": 0.9}, 0.0) == [
        "top10_overlap 0.8500 < 0.9",
        "similarity_spearman 0.9000 < 0.95",
    ]


def test_grade_bounds_are_the_eei_range_of_each_class() -> None:
    v1 = load_scheme("v1")
    assert v1.grade_bounds("A") == (0.0, 0.125)
    assert v1.grade_bounds("B") == (0.125, 0.25)
    assert v1.grade_bounds("F") == (2.0, 4.0)
    assert v1.grade_bounds("G") == (4.0, float("inf"))


def test_schemes_come_from_labeler_schemes_dir_when_it_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labels.scheme import schemes_dir

    (tmp_path / "v7.toml").write_bytes((SCHEMES_DIR / "v1.toml").read_bytes())
    monkeypatch.setenv("LABELER_SCHEMES_DIR", str(tmp_path))
    assert schemes_dir() == tmp_path
    assert available_schemes() == ["v7"]
    assert load_scheme("v7").upper_eei == load_scheme(path=SCHEMES_DIR / "v1.toml").upper_eei
    monkeypatch.setenv("LABELER_SCHEMES_DIR", "")  # empty: the shipped schemes
    assert schemes_dir() == SCHEMES_DIR
    monkeypatch.delenv("LABELER_SCHEMES_DIR")
    assert schemes_dir() == SCHEMES_DIR

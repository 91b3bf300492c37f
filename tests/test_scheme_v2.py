"""Scheme v2: the shipped file, its reference configs and hashes, the EEI interval, the
borderline and re-grading rules, and grading from pair ratios (v1 labels left alone)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from labeler.grading import grade_catalog, grade_runs
from labels import Catalog, HardwareRecord, ModelRecord, RunRecord, RunResult
from labels.eei import eei_interval, is_borderline, median_interval, published_grade
from labels.scheme import (
    DEFAULT_SCHEME_VERSION,
    GRADES,
    SCHEMES_DIR,
    SchemeError,
    file_sha256,
    load_scheme,
)

T0 = datetime(2026, 11, 23, 12, 0, 0)


@pytest.fixture(scope="module")
def v2():
    return load_scheme("v2", SCHEMES_DIR / "v2.toml")  # the shipped file, real references


def test_v2_is_the_default_and_every_task_has_a_hashed_reference_model(v2) -> None:
    assert DEFAULT_SCHEME_VERSION == "v2"
    assert v2.paired_reference and not v2.references  # no stored reference energy at all
    assert set(v2.reference_models) == set(v2.tasks)
    for spec in v2.reference_models.values():
        assert spec.config_path.is_file()
        assert file_sha256(spec.config_path) == spec.config_sha256
        assert spec.config()["model_type"] in {
            "bert",
            "vit",
            "gpt2",
            "t5",
            "whisper",
            "detr",
            "clip",
        }
    assert v2.reference_model("text-generation").energy_multiple == 16.0
    for task in ("summarization", "translation", "text2text-generation"):
        assert v2.reference_model(task).energy_multiple == 2.0  # bart-base-sized: scheme.md
    assert [v2.upper_eei[g] for g in GRADES[:-1]] == [0.125, 0.25, 0.5, 1.0, 2.0, 4.0]
    assert v2.has_references_for("gpu-some-future-board-96gb")


def test_v1_is_unchanged_and_has_no_reference_models() -> None:
    v1 = load_scheme("v1", SCHEMES_DIR / "v1.toml")
    assert not v1.paired_reference
    assert v1.reference("feature-extraction", "cpu-x86-64").energy_wh_per_1k == 1.1
    assert not v1.has_references_for("gpu-h100-80gb")


def _copy_v2(tmp_path: Path) -> Path:
    folder = tmp_path / "schemes"
    shutil.copytree(SCHEMES_DIR, folder)
    return folder


def test_a_changed_reference_config_is_refused(tmp_path: Path) -> None:
    folder = _copy_v2(tmp_path)
    config = folder / "v2" / "bert-base-encoder.json"
    config.write_text(
        config.read_text().replace('"num_hidden_layers": 12', '"num_hidden_layers": 6')
    )
    expected = load_scheme("v2", SCHEMES_DIR / "v2.toml").reference_model("feature-extraction")
    with pytest.raises(SchemeError) as error:
        load_scheme("v2", folder / "v2.toml")
    assert str(error.value) == (
        "scheme v2.toml: reference config v2/bert-base-encoder.json does not match its hash "
        f"(expected {expected.config_sha256[:12]}, found {file_sha256(config)[:12]}); "
        "a changed reference is a new scheme version"
    )


OPTIONAL_FIELDS = """seed = 0
energy_multiple = 1.0
stands_for = "BERT-base (110M), like all-mpnet-base-v2 or bge-base"
"""
FEATURE_REFERENCE = (
    """[reference_model.feature-extraction]
id = "v2/bert-base-encoder"
config = "v2/bert-base-encoder.json"
config_sha256 = "e09e4b43c0d2c3a22efc8b57a7fa43dbfe1460f75ba202a75ff2109993c64c6b"
"""
    + OPTIONAL_FIELDS
)


def _v2_with_feature_reference(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the v2 schemes folder whose feature-extraction reference has `old` -> `new`."""
    folder = _copy_v2(tmp_path)
    scheme = folder / "v2.toml"
    text = scheme.read_text(encoding="utf-8")
    assert FEATURE_REFERENCE in text and old in FEATURE_REFERENCE
    scheme.write_text(
        text.replace(FEATURE_REFERENCE, FEATURE_REFERENCE.replace(old, new)), encoding="utf-8"
    )
    return scheme


def test_a_reference_model_reads_its_seed_multiple_and_description(tmp_path: Path) -> None:
    given = 'seed = 7\nenergy_multiple = 2.5\nstands_for = "a big encoder"\n'
    scheme = _v2_with_feature_reference(tmp_path, OPTIONAL_FIELDS, given)
    spec = load_scheme("v2", scheme).reference_model("feature-extraction")
    assert (spec.task, spec.model_id, spec.seed, spec.energy_multiple, spec.stands_for) == (
        "feature-extraction",
        "v2/bert-base-encoder",
        7,
        2.5,
        "a big encoder",
    )
    assert spec.config_path == scheme.parent / "v2" / "bert-base-encoder.json"


def test_a_reference_models_optional_fields_have_defaults(tmp_path: Path) -> None:
    scheme = _v2_with_feature_reference(tmp_path, OPTIONAL_FIELDS, "")
    spec = load_scheme("v2", scheme).reference_model("feature-extraction")
    assert (spec.seed, spec.energy_multiple, spec.stands_for) == (0, 1.0, "")


@pytest.mark.parametrize("multiple", ["0.0", "-1.0"])
def test_an_energy_multiple_must_be_positive(tmp_path: Path, multiple: str) -> None:
    scheme = _v2_with_feature_reference(
        tmp_path, "energy_multiple = 1.0", f"energy_multiple = {multiple}"
    )
    with pytest.raises(SchemeError) as error:
        load_scheme("v2", scheme)
    assert str(error.value) == "scheme v2.toml: energy_multiple of feature-extraction must be > 0"


def test_a_missing_reference_config_is_refused(tmp_path: Path) -> None:
    folder = _copy_v2(tmp_path)
    (folder / "v2" / "gpt2-decoder.json").unlink()
    with pytest.raises(SchemeError, match="reference config for text-generation is missing"):
        load_scheme("v2", folder / "v2.toml")


@pytest.mark.parametrize(
    ("n", "confidence", "k", "coverage"),
    [
        (5, 0.90, 1, 0.9375),  # five pairs: [min, max]
        (9, 0.90, 2, 1 - 2 * 10 / 512),
        (9, 0.80, 3, 1 - 2 * 46 / 512),
        (3, 0.90, 1, 0.75),  # too few pairs for 90 %: [min, max] with its own coverage
        (1, 0.90, 1, 0.0),
    ],
)
def test_order_statistic_interval_for_the_median(n, confidence, k, coverage) -> None:
    assert median_interval(list(range(n)), confidence) == (k, pytest.approx(coverage))


def test_eei_interval_from_pairs_and_energy_multiple() -> None:
    interval = eei_interval([3.2, 2.8, 3.0, 3.1, 2.9], energy_multiple=2.0, confidence=0.9)
    assert interval.eei == pytest.approx(1.5)
    assert (interval.eei_low, interval.eei_high) == (pytest.approx(1.4), pytest.approx(1.6))
    assert interval.pairs == 5 and interval.coverage == pytest.approx(0.9375)
    with pytest.raises(ValueError):
        eei_interval([], 1.0, 0.9)


def test_borderline_is_an_interval_across_a_class_boundary(v2) -> None:
    assert is_borderline(v2, 0.45, 0.55)  # C | D
    assert not is_borderline(v2, 0.55, 0.95)  # inside D
    assert not is_borderline(v2, 0.5, 0.99)  # a bound is the lower edge of D: still D
    assert is_borderline(v2, 3.9, 4.1)  # F | G


@pytest.mark.parametrize(
    ("previous", "low", "high", "measured", "published"),
    [
        (None, 0.2, 0.3, "C", "C"),  # first grade: what was measured
        ("C", 0.26, 0.4, "C", "C"),
        ("C", 0.2, 0.26, "B", "C"),  # measured B, but the interval still touches C
        ("C", 0.15, 0.24, "B", "B"),  # wholly below C: the grade moves
        ("C", 0.5, 0.7, "D", "D"),  # wholly above C (0.5 is D's lower edge)
        ("D", 0.45, 0.55, "D", "D"),
        ("G", 3.5, 5.0, "G", "G"),
        ("G", 3.0, 3.9, "F", "F"),
    ],
)
def test_regrading_rule(v2, previous, low, high, measured, published) -> None:
    assert published_grade(v2, previous, low, high, measured) == published


# -- grading from pair ratios ----------------------------------------------------------------


def baseline_run(ratios: list[float] | None, *, at: datetime = T0, **changes) -> RunRecord:
    spec = load_scheme("v2").reference_model("feature-extraction")
    values = {
        "run_id": f"run-{at.isoformat()}",
        "scan_id": f"scan-{at.isoformat()}",
        "model_id": "org/encoder",
        "revision": "r1",
        "task": "feature-extraction",
        "hardware_profile": "cpu-x86-64",
        "hardware_fingerprint": "fp",
        "variant": "baseline",
        "tactic": "baseline",
        "status": "ok",
        "energy_method": "estimate",
        "scheme_version": "v2",
        "harness_version": "2",
        "finished_at": at,
        "windows": 5,
        "energy_wh_per_1k": 0.4,
        "energy_cv": 0.02,
        "quality_metric": "top10_overlap",  # v2 gates embeddings on neighbours kept
        "quality_value": 1.0,
        "qualifies": True,
        "reference_model": spec.model_id,
        "reference_config_sha256": spec.config_sha256,
        "reference_energy_wh_per_1k": 1.6,
        "reference_ratios_json": json.dumps(ratios) if ratios is not None else None,
    }
    return RunRecord(**{**values, **changes})


def test_grade_comes_from_the_median_pair_ratio_on_any_hardware() -> None:
    v2 = load_scheme("v2")
    label = grade_runs(
        [baseline_run([0.3, 0.32, 0.35, 0.31, 0.33], hardware_profile="gpu-b200-180gb")], v2
    )
    assert label.grade == label.measured_grade == "C"
    assert label.eei == pytest.approx(0.32)
    assert (label.eei_low, label.eei_high) == (pytest.approx(0.3), pytest.approx(0.35))
    assert not label.borderline and label.reason is None
    assert label.reference_model == "v2/bert-base-encoder"
    assert label.energy_j_per_token is None  # not a generation task


def test_a_baseline_measured_without_the_reference_stays_ungraded_with_the_reason() -> None:
    label = grade_runs([baseline_run(None, scheme_version="v1")], load_scheme("v2"))
    assert label.grade is None
    assert "rescan with --scheme v2" in label.reason


def test_a_baseline_measured_beside_another_reference_stays_ungraded() -> None:
    label = grade_runs(
        [baseline_run([0.3] * 5, reference_config_sha256="0" * 64)], load_scheme("v2")
    )
    assert label.grade is None and "different reference" in label.reason


def test_text_generation_stores_joules_per_generated_token() -> None:
    run = baseline_run([8.0] * 5, task="text-generation", energy_wh_per_1k=4.0)
    spec = load_scheme("v2").reference_model("text-generation")
    run = dataclasses.replace(
        run, reference_model=spec.model_id, reference_config_sha256=spec.config_sha256
    )
    label = grade_runs([run], load_scheme("v2"))
    assert label.eei == pytest.approx(0.5)  # 8 x GPT-2 = half of the 16 x GPT-2 boundary
    assert label.grade == "D"
    # 4 Wh per 1,000 prompts = 14.4 J per prompt of 16 new tokens
    assert label.energy_j_per_token == pytest.approx(0.9)


def _record(catalog: Catalog, run: RunRecord) -> None:
    catalog.record_model_results(
        ModelRecord(model_id=run.model_id, revision=run.revision, task=run.task, source="local"),
        HardwareRecord(
            fingerprint="fp", profile=run.hardware_profile, kind="cpu", device_name="cpu",
            cpu_model="test", cpu_cores=2, memory_gb=8.0,
        ),
        [RunResult(run)],
    )  # fmt: skip


def _published(catalog: Catalog) -> dict:
    return next(label for label in catalog.latest_labels() if label.scheme_version == "v2")


def test_published_grade_moves_only_when_the_interval_leaves_it(fresh_catalog: Catalog) -> None:
    v2 = load_scheme("v2")
    _record(fresh_catalog, baseline_run([0.3, 0.32, 0.35, 0.31, 0.33], at=T0))
    grade_catalog(fresh_catalog, v2)
    first = _published(fresh_catalog)
    assert first.grade == "C" and first.previous_grade is None

    # re-measured: the median reads B but the interval still reaches into C -> stays C
    second_at = T0 + timedelta(days=1)
    _record(fresh_catalog, baseline_run([0.2, 0.22, 0.24, 0.23, 0.27], at=second_at))
    grade_catalog(fresh_catalog, v2)
    second = _published(fresh_catalog)
    assert (second.grade, second.measured_grade) == ("C", "B")
    assert second.previous_grade is None and second.grade_changed_at == T0

    grade_catalog(fresh_catalog, v2)  # grading the same measurement again changes nothing
    assert _published(fresh_catalog).grade == "C"

    # re-measured: wholly inside B -> the grade moves, the page can say from what and when
    third_at = T0 + timedelta(days=2)
    _record(fresh_catalog, baseline_run([0.2, 0.21, 0.22, 0.2, 0.23], at=third_at))
    grade_catalog(fresh_catalog, v2)
    third = _published(fresh_catalog)
    assert (third.grade, third.previous_grade) == ("B", "C")
    assert third.grade_changed_at == third_at

    history = fresh_catalog.label_history("org/encoder", "feature-extraction", "cpu-x86-64", "v2")
    assert [(h["grade"], h["measured_grade"]) for h in history] == [
        ("C", "C"),
        ("C", "B"),
        ("B", "B"),
    ]


def test_grading_under_v2_leaves_v1_labels_untouched(fresh_catalog: Catalog) -> None:
    _record(fresh_catalog, baseline_run([0.3] * 5))
    grade_catalog(fresh_catalog, load_scheme("v1"))
    sql = "SELECT * FROM labels WHERE scheme_version = 'v1'"
    before = fresh_catalog.query(sql).rows
    assert before and before[0][5] == "C"  # 0.4 Wh/1k against v1's stored 1.1: EEI 0.36
    grade_catalog(fresh_catalog, load_scheme("v2"))
    assert fresh_catalog.query(sql).rows == before
    versions = fresh_catalog.query("SELECT scheme_version, grade FROM labels ORDER BY 1").rows
    assert versions == [("v1", before[0][5]), ("v2", "C")]


def test_site_and_badge_show_borderline_and_the_earlier_grade(
    fresh_catalog: Catalog, tmp_path: Path
) -> None:
    from labeler.site import build_site

    v2 = load_scheme("v2")
    _record(fresh_catalog, baseline_run([0.3, 0.32, 0.35, 0.31, 0.33], at=T0))
    grade_catalog(fresh_catalog, v2)
    changed_at = T0 + timedelta(days=3)
    _record(fresh_catalog, baseline_run([0.2, 0.21, 0.22, 0.2, 0.23], at=changed_at))
    grade_catalog(fresh_catalog, v2)
    _record(fresh_catalog, baseline_run([0.22, 0.23, 0.24, 0.26, 0.23], at=T0 + timedelta(4)))
    grade_catalog(fresh_catalog, v2)
    label = _published(fresh_catalog)
    assert (label.grade, label.previous_grade, label.borderline) == ("B", "C", True)

    out = tmp_path / "site"
    build_site(fresh_catalog, out, scheme=v2)
    page = next(
        p.read_text(encoding="utf-8")
        for p in out.rglob("*.html")
        if "Earlier grade" in p.read_text(encoding="utf-8")
    )
    assert "flag-borderline" in page and "callout-borderline" in page
    assert f"changed on {changed_at:%Y-%m-%d}" in page
    assert "0.230 (interval 0.220–0.260)" in page and "v2/bert-base-encoder" in page
    badges = sorted(out.rglob("badges/**/*.json"))
    endpoint = next(p for p in badges if not p.name.endswith(".recommendations.json"))
    assert json.loads(endpoint.read_text(encoding="utf-8"))["message"].endswith("borderline")
    details_file = next(p for p in badges if p.name.endswith(".recommendations.json"))
    details = json.loads(details_file.read_text(encoding="utf-8"))
    assert details["borderline"] is True and details["eei_low"] == pytest.approx(0.22)


# -- why a v2 baseline is not graded, and the regrading rule's edges -------------------------


def test_paired_eei_says_exactly_why_a_baseline_cannot_be_graded() -> None:
    from labeler.grading import paired_eei

    v2 = load_scheme("v2")
    interval, why_not = paired_eei(baseline_run([0.3, 0.32, 0.35, 0.31, 0.33]), v2)
    assert interval is not None and interval.eei == pytest.approx(0.32) and why_not == ""
    assert paired_eei(baseline_run(None, scheme_version=None), v2) == (
        None,
        "measured without the scheme v2 reference model (scanned under another scheme; "
        "rescan with --scheme v2)",
    )
    assert paired_eei(baseline_run([0.3] * 5, reference_config_sha256=None), v2) == (
        None,
        "measured beside a different reference (v2/bert-base-encoder, config ?) than scheme v2's",
    )
    other = baseline_run([0.3] * 5, reference_model="v1/x", reference_config_sha256="ab" * 32)
    assert paired_eei(other, v2) == (
        None,
        "measured beside a different reference (v1/x, config abababababab) than scheme v2's",
    )
    assert paired_eei(baseline_run([]), v2) == (
        None,
        "no window of the reference model used measurable energy",
    )


def test_a_grade_that_moves_at_the_second_measurement_names_the_first(
    fresh_catalog: Catalog,
) -> None:
    from labeler.grading import _apply_regrading_rule

    v2 = load_scheme("v2")
    fresh_catalog.write_labels([grade_runs([baseline_run([0.3, 0.32, 0.35], at=T0)], v2)])
    second_at = T0 + timedelta(days=1)
    wholly_b = grade_runs([baseline_run([0.2, 0.21, 0.22, 0.2, 0.23], at=second_at)], v2)
    regraded = _apply_regrading_rule(fresh_catalog, wholly_b, v2)
    assert (regraded.grade, regraded.previous_grade, regraded.grade_changed_at) == (
        "B",
        "C",
        second_at,
    )


def test_an_ungraded_measurement_between_is_no_published_grade(fresh_catalog: Catalog) -> None:
    from labeler.grading import _apply_regrading_rule

    v2 = load_scheme("v2")
    fresh_catalog.write_labels([grade_runs([baseline_run([0.3, 0.32, 0.35], at=T0)], v2)])
    # re-measured without the reference (scanned under v1): ungraded under v2
    unpaired = grade_runs([baseline_run(None, at=T0 + timedelta(days=1), scheme_version="v1")], v2)
    fresh_catalog.write_labels([unpaired])
    assert unpaired.grade is None
    # the median reads B, the interval touches C: the last published grade, C, stays
    third_at = T0 + timedelta(days=2)
    touching_c = grade_runs([baseline_run([0.2, 0.22, 0.24, 0.23, 0.27], at=third_at)], v2)
    regraded = _apply_regrading_rule(fresh_catalog, touching_c, v2)
    assert (regraded.grade, regraded.measured_grade, regraded.previous_grade) == ("C", "B", None)
    assert regraded.grade_changed_at == T0


def test_the_measurements_own_earlier_grading_is_not_an_earlier_grade(
    fresh_catalog: Catalog,
) -> None:
    from labeler.grading import _apply_regrading_rule

    v2 = load_scheme("v2")
    fresh_catalog.write_labels([grade_runs([baseline_run([0.3, 0.32, 0.35], at=T0)], v2)])
    # graded once on its own (B, the median's class), as if the T0 label had not been there
    second_at = T0 + timedelta(days=1)
    touching_c = grade_runs([baseline_run([0.2, 0.22, 0.24, 0.23, 0.27], at=second_at)], v2)
    fresh_catalog.write_labels([touching_c])
    assert touching_c.grade == "B"
    regraded = _apply_regrading_rule(fresh_catalog, touching_c, v2)
    assert (regraded.grade, regraded.grade_changed_at) == ("C", T0)


def test_a_label_without_a_grade_or_a_whole_interval_is_left_as_it_is(
    fresh_catalog: Catalog,
) -> None:
    from labeler.grading import _apply_regrading_rule

    v2 = load_scheme("v2")
    label = grade_runs([baseline_run([0.3, 0.32, 0.35, 0.31, 0.33])], v2)
    for incomplete in (
        dataclasses.replace(label, grade=None),
        dataclasses.replace(label, eei_low=None),
        dataclasses.replace(label, eei_high=None),
    ):
        assert _apply_regrading_rule(fresh_catalog, incomplete, v2) == incomplete
    assert _apply_regrading_rule(fresh_catalog, label, v2).grade_changed_at == T0


def test_a_v2_label_names_its_reference_and_flags_a_borderline_interval() -> None:
    v2 = load_scheme("v2")
    spec = v2.reference_model("feature-extraction")
    label = grade_runs([baseline_run([0.22, 0.23, 0.24, 0.26, 0.23])], v2)
    assert (label.grade, label.borderline) == ("B", True)  # [0.22, 0.26] crosses B | C
    assert (label.reference_model, label.reference_config_sha256) == (
        spec.model_id,
        spec.config_sha256,
    )
    # an ungraded label still says the baseline was noisy
    unpaired = grade_runs([baseline_run(None, noisy=True)], v2)
    assert (unpaired.grade, unpaired.noisy) == (None, True)

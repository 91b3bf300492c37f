"""Which models count as better and comparable (labeler/alternatives.py), on labelled models
built in memory: the rules one at a time, cheap enough for the mutation run (docs/mutants.md)
to run per mutant. tests/test_alternatives.py checks the same through a catalog, the CLI and
the site; the two catalog tests here read a real DuckDB file.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from labeler.alternatives import (
    NOT_COMPARED,
    Alternative,
    AlternativesSelection,
    LabelledModel,
    ModelAlternatives,
    QualityComparison,
    Top1Labels,
    UnknownModelError,
    _top1_from_json,
    alternatives_for,
    compare_quality,
    find_alternatives,
    read_labelled_models,
    select_alternatives,
)
from labels import Catalog, ModelRecord, RunResult
from labels.model_index import ReportedResult
from tests.catalog_copies import copy_of
from tests.site_catalog import CPU, GPU, _label, _run
from tests.test_alternatives import _sst2, _top1, add_model

TASK, CPU_PROFILE = "text-classification", "cpu-x86-64"
SST2 = ReportedResult("glue", "accuracy", 0.93, "GLUE SST2", "sst2", "validation")
LABELS = frozenset({"NEGATIVE", "POSITIVE"})


def labelled(
    model_id: str,
    grade: str | None,
    energy: float | None,
    *,
    task: str = TASK,
    hardware: str = CPU_PROFILE,
    results: tuple[ReportedResult, ...] = (),
    top1: Top1Labels | None = None,
    estimated: bool = False,
) -> LabelledModel:
    return LabelledModel(
        model_id=model_id,
        revision="r1",
        task=task,
        hardware=hardware,
        grade=grade,
        energy_wh_per_1k=energy,
        estimated=estimated,
        results=results,
        top1=top1,
        fingerprint=f"fp-{model_id}",
    )


def top1(*classes: str, labels: frozenset[str] = LABELS, inputs: str = "tok:4") -> Top1Labels:
    return Top1Labels(labels, tuple(classes), inputs)


def accuracy(value: float) -> tuple[ReportedResult, ...]:
    return (ReportedResult("glue", "accuracy", value, "GLUE SST2", "sst2", "validation"),)


# -- reading a baseline's top-1 classes ------------------------------------------------------


def test_top1_classes_are_read_from_their_json() -> None:
    text = json.dumps({"labels": ["b", "a", 1], "top1": ["a", 1], "inputs": "tok:2"})
    assert _top1_from_json(text) == Top1Labels(frozenset({"a", "b", "1"}), ("a", "1"), "tok:2")
    no_inputs = json.dumps({"labels": ["a"], "top1": ["a"]})
    assert _top1_from_json(no_inputs) == Top1Labels(frozenset({"a"}), ("a",), "")


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "not json",
        "[1, 2]",
        '{"labels": "ab", "top1": ["a"]}',
        '{"labels": ["a"], "top1": "a"}',
        '{"labels": ["a"], "top1": []}',
        '{"top1": ["a"]}',
    ],
)
def test_anything_else_is_no_top1_classes(text: str | None) -> None:
    assert _top1_from_json(text) is None


def test_a_classifiers_comparison_key_is_its_label_set_inputs_and_count() -> None:
    assert top1("a", "b", inputs="tok:2").key == (LABELS, "tok:2", 2)


# -- comparing quality ---------------------------------------------------------------------


def test_quality_from_the_result_both_cards_report() -> None:
    model = labelled("org/big", "D", 4.0, results=accuracy(0.93), top1=top1("a", "b"))
    other = labelled("org/small", "B", 0.5, results=accuracy(0.91), top1=top1("a", "a"))
    comparison = compare_quality(model, other)
    assert comparison == QualityComparison(
        method="model-index",
        sentence="accuracy on glue/sst2 (validation), as the model cards report: 0.91 "
        "against 0.93 for org/big",
        dataset="glue/sst2 (validation)",
        metric="accuracy",
        model_value=0.93,
        alternative_value=0.91,
    )
    assert comparison.compared


def test_a_named_metric_is_called_by_its_name() -> None:
    named = (ReportedResult("glue", "accuracy", 0.9, "GLUE SST2", "sst2", "validation", "Acc"),)
    comparison = compare_quality(labelled("m", "D", 4.0, results=named), labelled("o", "B", 1.0))
    assert comparison.method == "none"  # only one card reports it
    both = compare_quality(
        labelled("m", "D", 4.0, results=named), labelled("o", "B", 1.0, results=named)
    )
    assert both.metric == "Acc" and both.sentence.startswith("Acc on glue/sst2 (validation)")


def test_quality_from_top1_agreement_on_the_same_label_set_and_inputs() -> None:
    model = labelled("org/big", "D", 4.0, top1=top1("POSITIVE", "NEGATIVE", "POSITIVE", "POSITIVE"))
    other = labelled("org/b", "C", 1.0, top1=top1("POSITIVE", "NEGATIVE", "NEGATIVE", "POSITIVE"))
    assert compare_quality(model, other) == QualityComparison(
        method="top1-agreement",
        sentence="the same top-1 class as org/big on 75.0 % of 4 reference inputs (same label set)",
        top1_agreement=0.75,
        inputs=4,
    )


@pytest.mark.parametrize(
    "other_top1",
    [
        top1("a", "b", labels=frozenset({"a", "b"})),  # another label set
        top1("NEGATIVE", "POSITIVE", inputs="tok:8"),  # other inputs
        top1("NEGATIVE", "POSITIVE", "POSITIVE"),  # another count
        None,
    ],
)
def test_no_comparison_without_the_same_label_set_inputs_and_count(other_top1) -> None:
    model = labelled("org/big", "D", 4.0, top1=top1("NEGATIVE", "POSITIVE"))
    other = labelled("org/x", "A", 0.1, top1=other_top1)
    assert compare_quality(model, other) == QualityComparison(method="none", sentence=NOT_COMPARED)
    assert compare_quality(other, model).method == "none"
    assert not compare_quality(model, other).compared


# -- an alternative -------------------------------------------------------------------------


def test_an_alternatives_summary_and_dict() -> None:
    model = labelled("org/big", "D", 4.0, results=accuracy(0.93))
    found = find_alternatives([model, labelled("org/s", "B", 0.5, results=accuracy(0.91))])
    (alternative,) = found[model.key].alternatives
    assert alternative.energy_change == pytest.approx(-0.875)
    assert alternative.summary() == (
        "org/s (B, 0.500 Wh per 1,000 inferences, −88 % energy): accuracy on glue/sst2 "
        "(validation), as the model cards report: 0.91 against 0.93 for org/big"
    )
    assert alternative.to_dict() == {
        "model_id": "org/s",
        "revision": "r1",
        "grade": "B",
        "energy_wh_per_1k": 0.5,
        "energy_change": pytest.approx(-0.875),
        "estimated": False,
        "quality_compared": True,
        "quality_method": "model-index",
        "quality": alternative.quality.sentence,
        "top1_agreement": None,
        "inputs": None,
        "dataset": "glue/sst2 (validation)",
        "metric": "accuracy",
        "model_value": 0.93,
        "alternative_value": 0.91,
    }


def test_an_estimate_says_so_and_a_model_of_no_energy_has_no_change() -> None:
    quality = QualityComparison(method="none", sentence=NOT_COMPARED)
    alternative = Alternative("org/s", "r1", "A", 0.05, None, True, quality)
    assert alternative.summary() == (
        "org/s (A, 0.0500 Wh per 1,000 inferences (estimate)): quality was not compared"
    )
    assert not alternative.comparable
    top1_quality = QualityComparison("top1-agreement", "s", top1_agreement=0.5, inputs=4)
    as_dict = Alternative("o", "r2", "B", 1.0, 0.1, False, top1_quality).to_dict()
    assert (as_dict["top1_agreement"], as_dict["inputs"], as_dict["revision"]) == (0.5, 4, "r2")
    assert as_dict["energy_change"] == 0.1 and as_dict["quality_compared"]


def test_a_model_of_zero_energy_has_no_relative_change() -> None:
    model = labelled("org/free", "C", 0.0)
    (alternative,) = find_alternatives([model, labelled("org/a", "A", 0.0)])[model.key].alternatives
    assert alternative.energy_change is None


def test_zero_energy_is_the_cheapest_of_all() -> None:
    model = labelled("org/m", "D", 4.0, results=accuracy(0.9))
    cheap = labelled("org/b-cheap", "C", 0.5, results=accuracy(0.9))
    free = labelled("org/z-free", "C", 0.0, results=accuracy(0.9))  # sorts last by name
    entry = find_alternatives([model, cheap, free])[model.key]
    assert [a.model_id for a in entry.alternatives] == ["org/z-free", "org/b-cheap"]
    assert entry.cheapest_comparable.model_id == "org/z-free"


# -- which models count as better ---------------------------------------------------------------


def group() -> list[LabelledModel]:
    return [
        labelled("org/big", "D", 4.0, results=accuracy(0.93), top1=top1("a", "b")),
        labelled("org/small-a", "B", 0.5, results=accuracy(0.91)),
        labelled("org/small-b", "C", 1.0, top1=top1("a", "a")),
        labelled("org/unrelated", "A", 0.2),
        labelled("org/worse-but-cheap", "E", 0.1, results=accuracy(0.99)),
        labelled("org/same-class", "D", 3.0, results=accuracy(0.95)),
        labelled("org/ungraded", None, None),
        labelled("org/graded-no-energy", "A", None, results=accuracy(0.9)),
        labelled("org/on-gpu", "A", 0.01, hardware="gpu-h100", results=accuracy(0.95)),
        labelled("org/other-task", "A", 0.01, task="token-classification"),
    ]


def test_better_graded_models_of_the_same_task_and_hardware_cheapest_first() -> None:
    found = find_alternatives(group())
    big = found[("org/big", TASK, CPU_PROFILE)]
    assert [a.model_id for a in big.alternatives] == ["org/unrelated", "org/small-a", "org/small-b"]
    assert big.total == 3 and big.notes == ()
    assert (big.model_id, big.revision, big.task, big.hardware) == (
        "org/big",
        "r1",
        TASK,
        CPU_PROFILE,
    )
    assert (big.grade, big.energy_wh_per_1k) == ("D", 4.0)
    # the cheapest whose quality could be compared: small-a by the cards (B, 0.5)
    assert big.cheapest_comparable is not None
    assert big.cheapest_comparable.model_id == "org/small-a"
    # same-class models are not better; the cheapest of D is no alternative to itself
    assert [a.model_id for a in found[("org/same-class", TASK, CPU_PROFILE)].alternatives] == [
        "org/unrelated",
        "org/small-a",
        "org/small-b",
    ]
    # class A is better than B: a B model lists the A models
    b_class = found[("org/small-a", TASK, CPU_PROFILE)]
    assert [a.model_id for a in b_class.alternatives] == ["org/unrelated"]
    a_class = found[("org/unrelated", TASK, CPU_PROFILE)]
    assert a_class.alternatives == () and a_class.total == 0 and a_class.cheapest_comparable is None
    assert a_class.notes == ()


def test_ties_in_energy_are_ordered_by_model_id() -> None:
    models = [labelled("org/m", "C", 1.0), labelled("org/z", "A", 0.2), labelled("org/y", "B", 0.2)]
    found = find_alternatives(models)
    assert [a.model_id for a in found[models[0].key].alternatives] == ["org/y", "org/z"]


def test_the_cheapest_comparable_is_the_cheapest_of_every_comparison_bucket() -> None:
    models = [
        labelled("org/big", "D", 4.0, results=accuracy(0.93), top1=top1("a", "b")),
        labelled("org/by-cards", "C", 2.0, results=accuracy(0.9)),
        labelled("org/by-top1", "B", 1.5, top1=top1("a", "a")),
        labelled("org/worse", "E", 0.1, top1=top1("b", "b")),
    ]
    found = find_alternatives(models)
    cheapest = found[models[0].key].cheapest_comparable
    assert cheapest is not None and cheapest.model_id == "org/by-top1"
    assert cheapest.quality.method == "top1-agreement" and cheapest.quality.top1_agreement == 0.5
    # a model of class C with no top-1 classes: B's top-1 bucket is not its
    assert found[models[1].key].cheapest_comparable is None


def test_top1_classes_of_another_label_set_are_never_comparable() -> None:
    models = [
        labelled("org/big", "D", 4.0, top1=top1("a", "b")),
        labelled("org/cats", "A", 0.1, top1=top1("cat", "dog", labels=frozenset({"cat", "dog"}))),
    ]
    entry = find_alternatives(models)[models[0].key]
    assert [a.model_id for a in entry.alternatives] == ["org/cats"]
    assert entry.cheapest_comparable is None


def test_the_cheapest_comparable_is_found_beyond_the_listed_few() -> None:
    models = [
        labelled("org/big", "D", 4.0, results=accuracy(0.93)),
        labelled("org/a1", "A", 0.1),
        labelled("org/a2", "A", 0.2),
        labelled("org/c", "C", 2.0, results=accuracy(0.9)),
    ]
    entry = find_alternatives(models, limit=1)[models[0].key]
    assert [a.model_id for a in entry.alternatives] == ["org/a1"] and entry.total == 3
    assert entry.cheapest_comparable is not None
    assert entry.cheapest_comparable.model_id == "org/c"
    unlimited = find_alternatives(models)[models[0].key]
    assert [a.model_id for a in unlimited.alternatives] == ["org/a1", "org/a2", "org/c"]
    assert find_alternatives(models, limit=0)[models[0].key].alternatives == ()


def test_a_label_with_no_grade_or_no_energy_has_none_and_says_why() -> None:
    found = find_alternatives(group())
    for model_id in ("org/ungraded", "org/graded-no-energy"):
        entry = found[(model_id, TASK, CPU_PROFILE)]
        assert entry.alternatives == () and entry.total == 0
        assert entry.cheapest_comparable is None
        assert entry.notes == ("this label has no grade and energy to compare with",)
    assert found[("org/graded-no-energy", TASK, CPU_PROFILE)].grade == "A"


def test_an_ungraded_model_of_the_same_bucket_is_never_an_alternative() -> None:
    models = [
        labelled("org/big", "D", 4.0, results=accuracy(0.93)),
        labelled("org/none", None, 0.1, results=accuracy(0.95)),
        labelled("org/no-energy", "A", None, results=accuracy(0.95)),
    ]
    entry = find_alternatives(models)[models[0].key]
    assert entry.alternatives == () and entry.cheapest_comparable is None


def test_a_selections_digest_changes_with_what_it_would_say() -> None:
    models = group()
    selection = select_alternatives(models)[("org/big", TASK, CPU_PROFILE)]
    assert selection.digest == (
        "fp-org/big:3:fp-org/unrelated:fp-org/small-a:fp-org/small-b:fp-org/small-a"
    )
    alone = AlternativesSelection(models[3])
    assert alone.digest == "fp-org/unrelated:0:-"
    assert select_alternatives(models, limit=1)[models[0].key].digest == (
        "fp-org/big:3:fp-org/unrelated:fp-org/small-a"
    )


def test_model_alternatives_as_a_dict() -> None:
    found = find_alternatives(group())
    entry = found[("org/big", TASK, CPU_PROFILE)]
    as_dict = entry.to_dict()
    assert as_dict == {
        "model_id": "org/big",
        "revision": "r1",
        "task": TASK,
        "hardware": CPU_PROFILE,
        "grade": "D",
        "energy_wh_per_1k": 4.0,
        "total": 3,
        "alternatives": [a.to_dict() for a in entry.alternatives],
        "cheapest_comparable": entry.cheapest_comparable.to_dict(),
        "notes": [],
    }
    nothing = ModelAlternatives("m", "r", TASK, CPU_PROFILE, None, None, notes=("why",))
    assert nothing.to_dict()["cheapest_comparable"] is None
    assert nothing.to_dict()["notes"] == ["why"]


# -- from a catalog ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """One catalog for the module's tests, written once a process and then copied
    (tests/catalog_copies.py)."""
    return copy_of(_fill, tmp_path_factory.mktemp("alternatives") / "catalog.duckdb")


def _fill(path: Path) -> Catalog:
    catalog = Catalog(path)
    add_model(catalog, "org/big", "D", 4.0, model_index=_sst2(0.93), top1=_top1(["POSITIVE"]))
    add_model(catalog, "org/big", "C", 2.0, hw=GPU, model_index=_sst2(0.93))  # one model row
    add_model(catalog, "org/small", None, None)
    add_model(catalog, "org/small-gpu", "A", 0.1, hw=GPU)
    # a label whose energy is an estimate, not a meter's reading
    estimated = ModelRecord(model_id="org/estimated", revision="r1", task=TASK, source="hub")
    catalog.record_model_results(
        estimated, CPU, [RunResult(_run(estimated, CPU, "baseline", "baseline"))]
    )
    catalog.write_labels(
        [_label(estimated, CPU, grade="E", energy_wh_per_1k=8.0, energy_method="estimate")]
    )
    return catalog


def test_labelled_models_are_read_with_their_results_and_top1_classes(catalog: Catalog) -> None:
    models = {(m.model_id, m.hardware): m for m in read_labelled_models(catalog)}
    big, plain = models[("org/big", CPU_PROFILE)], models[("org/small", CPU_PROFILE)]
    assert (big.model_id, big.revision, big.task, big.hardware) == (
        "org/big",
        "r1",
        TASK,
        CPU_PROFILE,
    )
    assert (big.grade, big.energy_wh_per_1k, big.estimated) == ("D", 4.0, False)
    assert [(r.dataset_type, r.metric_type, r.value) for r in big.results] == [
        ("glue", "accuracy", 0.93)
    ]
    assert big.top1 == Top1Labels(LABELS, ("POSITIVE",), "tokenizer:32x128")
    assert len(big.fingerprint) == 16 and big.fingerprint != plain.fingerprint
    assert (plain.grade, plain.energy_wh_per_1k, plain.results, plain.top1) == (
        None,
        None,
        (),
        None,
    )
    assert plain.estimated is False
    assert models[("org/estimated", CPU_PROFILE)].estimated is True
    assert models[("org/big", GPU.profile)].top1 is None
    # the fingerprint is stable: the same rows read again give the same digests
    again = {(m.model_id, m.hardware): m.fingerprint for m in read_labelled_models(catalog)}
    assert again == {key: m.fingerprint for key, m in models.items()}


def test_a_catalog_from_before_m006_is_read_with_no_quality_to_compare(
    catalog: Catalog, tmp_path: Path
) -> None:
    # read-only opens never migrate: an old catalog has neither the cards' results nor the
    # baselines' top-1 classes, and its models are listed rather than refused
    old = tmp_path / "old.duckdb"
    shutil.copyfile(catalog.path, old)
    con = duckdb.connect(str(old))
    con.execute("ALTER TABLE models DROP COLUMN model_index_json")
    con.execute("ALTER TABLE runs DROP COLUMN top1_labels_json")
    con.close()
    models = read_labelled_models(Catalog(old, read_only=True))
    assert sorted((m.model_id, m.hardware, m.grade) for m in models) == [
        ("org/big", CPU_PROFILE, "D"),
        ("org/big", GPU.profile, "C"),
        ("org/estimated", CPU_PROFILE, "E"),
        ("org/small", CPU_PROFILE, None),
        ("org/small-gpu", GPU.profile, "A"),
    ]
    assert all(m.results == () and m.top1 is None for m in models)


def test_alternatives_for_a_model_narrowed_to_a_task_and_hardware(catalog: Catalog) -> None:
    both = alternatives_for(catalog, "org/big")
    assert [(e.hardware, [a.model_id for a in e.alternatives]) for e in both] == [
        (CPU_PROFILE, []),
        (GPU.profile, ["org/small-gpu"]),
    ]
    assert len(alternatives_for(catalog, "org/big", task=TASK)) == 2
    (one,) = alternatives_for(catalog, "org/big", hardware=GPU.profile)
    assert one.hardware == GPU.profile and one.grade == "C"
    (on_gpu,) = alternatives_for(catalog, "org/big", task=TASK, hardware=GPU.profile, limit=0)
    assert on_gpu.alternatives == () and on_gpu.total == 1
    with pytest.raises(UnknownModelError) as refused:
        alternatives_for(catalog, "org/big", task="token-classification", hardware="tpu")
    assert str(refused.value) == (
        f"no label for 'org/big' task token-classification on tpu in {catalog.path} "
        "(scan and grade it first)"
    )
    with pytest.raises(UnknownModelError, match=r"^no label for 'org/big' task fill-mask in "):
        alternatives_for(catalog, "org/big", task="fill-mask")
    with pytest.raises(UnknownModelError, match=r"^no label for 'org/nope' in "):
        alternatives_for(catalog, "org/nope")

"""Hub discovery against a loopback Hub, with the real huggingface_hub client."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from huggingface_hub import constants

from scanner.discovery.base import DiscoveryError
from scanner.discovery.hub import (
    SKIP_GATED,
    SKIP_NOT_CACHED,
    SKIP_NOT_FOUND,
    SKIP_PICKLE_ONLY,
    SKIP_REMOTE_CODE,
    discover_hub_models,
)
from scanner.discovery.hub_retry import RetryPolicy
from tests import hub_server
from tests.hub_server import LoopbackHub

loopback_hub = hub_server.loopback_hub
tiny_bert_files = hub_server.tiny_bert_files

TASK = "text-classification"
RECORDINGS = Path(__file__).parent / "fixtures" / "hub"
TOKEN = "hf_secretTOKEN0123456789abcdef"


def no_sleep_policy() -> RetryPolicy:
    return RetryPolicy(sleep=lambda seconds: None)


def ids(refs: list) -> list[str]:
    return [ref.model_id for ref in refs]


def test_listing_is_sorted_by_downloads_per_task_and_cut_at_top(
    loopback_hub: LoopbackHub, tiny_bert_files: dict[str, bytes]
) -> None:
    for index, downloads in enumerate([50, 500, 5, 5000, 0]):
        loopback_hub.add_model(f"org/cls-{index}", tiny_bert_files, downloads=downloads)
    loopback_hub.add_model(
        "org/embed", tiny_bert_files, pipeline_tag="feature-extraction", downloads=1
    )

    refs = list(discover_hub_models([TASK, "feature-extraction"], 3, fetch=False))

    assert ids(refs) == ["org/cls-3", "org/cls-1", "org/cls-0", "org/embed"]
    assert [ref.task for ref in refs] == [TASK, TASK, TASK, "feature-extraction"]
    assert all(ref.path is None and ref.skip_reason is None for ref in refs)


def test_listing_by_likes_and_by_library(
    loopback_hub: LoopbackHub, tiny_bert_files: dict[str, bytes]
) -> None:
    loopback_hub.add_model("org/liked", tiny_bert_files, likes=90, downloads=1)
    loopback_hub.add_model("org/downloaded", tiny_bert_files, likes=1, downloads=90)
    loopback_hub.add_model("org/timm", tiny_bert_files, library="timm", likes=500)

    by_likes = list(discover_hub_models([TASK], 2, sort="likes", fetch=False))
    transformers_only = list(
        discover_hub_models([TASK], 5, sort="likes", library="transformers", fetch=False)
    )

    assert ids(by_likes) == ["org/timm", "org/liked"]
    assert ids(transformers_only) == ["org/liked", "org/downloaded"]


def test_listing_follows_link_header_pages(
    loopback_hub: LoopbackHub, tiny_bert_files: dict[str, bytes]
) -> None:
    loopback_hub.page_size = 2
    for index in range(7):
        loopback_hub.add_model(f"org/m{index}", tiny_bert_files, downloads=100 - index)

    refs = list(discover_hub_models([TASK], 5, fetch=False))

    assert ids(refs) == [f"org/m{index}" for index in range(5)]
    assert len(loopback_hub.requests_to("/api/models")) == 3  # pages of 2, 2 and 1 wanted


def test_metadata_is_recorded(
    loopback_hub: LoopbackHub, tiny_bert_files: dict[str, bytes], tmp_path: Path
) -> None:
    served = loopback_hub.add_model(
        "org/tiny", tiny_bert_files, downloads=1234, likes=56, license="mit"
    )
    loopback_hub.add_model(
        "org/tagged", tiny_bert_files, downloads=1, card_data={}, tags=[TASK, "license:bsd"]
    )

    tiny, tagged = discover_hub_models([TASK], 5, cache_dir=tmp_path / "cache")

    safetensors_bytes = len(tiny_bert_files["model.safetensors"])
    assert tiny.model_id == "org/tiny"
    assert tiny.revision == served.sha
    assert (tiny.downloads, tiny.likes, tiny.license) == (1234, 56, "mit")
    assert (tiny.pipeline_tag, tiny.library, tiny.gated) == (TASK, "transformers", None)
    assert tiny.weights_mb == pytest.approx(safetensors_bytes / 1_000_000)
    assert tiny.source == "hub" and tiny.metadata["weights_format"] == "safetensors"
    assert tagged.license == "bsd"


def test_listing_alone_sizes_weights_from_safetensors_parameter_counts(
    loopback_hub: LoopbackHub, tiny_bert_files: dict[str, bytes]
) -> None:
    served = loopback_hub.add_model("org/tiny", tiny_bert_files)

    (ref,) = discover_hub_models([TASK], 1, fetch=False)

    parameters = served.safetensors_parameters or {}
    assert ref.weights_mb == pytest.approx(4 * parameters["F32"] / 1_000_000)
    assert ref.revision == served.sha
    assert loopback_hub.requests_to("/api/models/") == []  # one listing request, nothing else


def test_downloads_only_safe_files_pinned_to_sha_and_transformers_loads_them(
    loopback_hub: LoopbackHub, tiny_bert_files: dict[str, bytes], tmp_path: Path
) -> None:
    files = {
        **tiny_bert_files,
        "pytorch_model.bin": b"pickle bytes that must never be fetched",
        "modeling_extra.py": b"raise SystemExit('repository code ran')",
        "tokenizer_config.json": b"{}",
    }
    served = loopback_hub.add_model("org/tiny", files, downloads=3)

    (ref,) = discover_hub_models([TASK], 1, cache_dir=tmp_path / "cache")

    assert ref.skip_reason is None and ref.path is not None
    assert ref.path.name == served.sha
    assert sorted(p.name for p in ref.path.iterdir()) == [
        "README.md",
        "config.json",
        "model.safetensors",
        "tokenizer_config.json",
    ]
    resolved = {r.path.split("/resolve/")[1] for r in loopback_hub.requests_to("/org/tiny/")}
    assert all(path.startswith(f"{served.sha}/") for path in resolved)

    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(ref.path)
    assert model.config.hidden_size == 32


def test_unsafe_or_unusable_models_are_skipped_with_reasons(
    loopback_hub: LoopbackHub, tiny_bert_files: dict[str, bytes], tmp_path: Path
) -> None:
    config = json.loads(tiny_bert_files["config.json"])
    remote_config = {**config, "auto_map": {"AutoModel": "modeling_x.XModel"}}
    loopback_hub.add_model(
        "org/remote",
        {**tiny_bert_files, "config.json": json.dumps(remote_config).encode()},
        downloads=60,
    )
    loopback_hub.add_model(
        "org/tagged-remote", tiny_bert_files, downloads=50, tags=[TASK, "custom_code"]
    )
    loopback_hub.add_model(
        "org/pickle",
        {"config.json": tiny_bert_files["config.json"], "pytorch_model.bin": b"\x80\x04pickle"},
        downloads=40,
    )
    loopback_hub.add_model("org/gated", tiny_bert_files, downloads=30, gated="manual")
    loopback_hub.add_model(
        "org/huge",
        tiny_bert_files,
        downloads=20,
        declared_sizes={"model.safetensors": 12_300_000_000},
    )
    loopback_hub.add_model("org/fine", tiny_bert_files, downloads=10)

    refs = list(discover_hub_models([TASK], 10, cache_dir=tmp_path / "c", max_download_gb=5))

    reasons = {ref.model_id: ref.skip_reason for ref in refs}
    assert reasons["org/remote"] == SKIP_REMOTE_CODE
    assert reasons["org/tagged-remote"] == SKIP_REMOTE_CODE
    assert reasons["org/pickle"] == SKIP_PICKLE_ONLY
    assert reasons["org/gated"] == SKIP_GATED
    assert reasons["org/huge"] == "too big: 12.30 GB of weights, over the 5 GB download limit"
    assert reasons["org/fine"] is None
    assert all(ref.path is None for ref in refs if ref.skip_reason)
    fetched = {r.path.split("/resolve/")[0] for r in loopback_hub.requests if "/resolve/" in r.path}
    assert fetched == {"/org/fine"}  # nothing of a skipped model was downloaded


def test_pickle_weights_are_fetched_only_when_allowed(
    loopback_hub: LoopbackHub, tiny_bert_files: dict[str, bytes], tmp_path: Path
) -> None:
    loopback_hub.add_model(
        "org/pickle",
        {"config.json": tiny_bert_files["config.json"], "pytorch_model.bin": b"\x80\x04pickle"},
    )

    (ref,) = discover_hub_models([TASK], 1, cache_dir=tmp_path / "c", allow_pickle=True)

    assert ref.skip_reason is None and ref.path is not None
    assert (ref.path / "pytorch_model.bin").read_bytes() == b"\x80\x04pickle"
    assert ref.metadata["weights_format"] == "pickle"


def test_gated_model_downloads_with_a_token_that_never_shows(
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    loopback_hub.authorized_tokens.add(TOKEN)
    loopback_hub.add_model("org/gated", tiny_bert_files, gated="auto", downloads=2)
    loopback_hub.add_model("org/unreachable", tiny_bert_files, downloads=1)
    loopback_hub.inject("/api/models/org/unreachable", "500", times=100)
    caplog.set_level(logging.DEBUG)

    refs = list(
        discover_hub_models(
            [TASK], 5, cache_dir=tmp_path / "c", token=TOKEN, retry=no_sleep_policy()
        )
    )

    gated, unreachable = refs
    assert gated.gated == "auto" and gated.path is not None and gated.skip_reason is None
    assert unreachable.skip_reason == "hub error: HTTP 500"
    downloads = [r for r in loopback_hub.requests if "/resolve/" in r.path]
    assert downloads and all(r.authorization == f"Bearer {TOKEN}" for r in downloads)
    assert all(TOKEN not in repr(ref) for ref in refs)
    assert TOKEN not in caplog.text


def test_explicit_model_list(
    loopback_hub: LoopbackHub, tiny_bert_files: dict[str, bytes], tmp_path: Path
) -> None:
    loopback_hub.add_model("org/tiny", tiny_bert_files, pipeline_tag="fill-mask")

    tiny, missing = discover_hub_models(
        [], 0, model_ids=["org/tiny", "org/does-not-exist"], cache_dir=tmp_path / "c"
    )

    assert tiny.task == "fill-mask" and tiny.path is not None
    assert missing.skip_reason == SKIP_NOT_FOUND and missing.path is None
    assert loopback_hub.requests_to("/api/models") == loopback_hub.requests_to("/api/models/")


def test_offline_mode_discovers_an_explicit_list_from_the_cache(
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    served = loopback_hub.add_model("org/tiny", tiny_bert_files, license="mit")
    cache = tmp_path / "cache"
    (online,) = discover_hub_models([], 0, model_ids=["org/tiny"], cache_dir=cache)
    requests_online = len(loopback_hub.requests)

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    cached, absent = discover_hub_models(
        [], 0, model_ids=["org/tiny", "org/never-fetched"], cache_dir=cache
    )

    assert len(loopback_hub.requests) == requests_online  # not one request offline
    assert cached.path == online.path and cached.revision == served.sha
    assert (cached.task, cached.license, cached.skip_reason) == (TASK, "mit", None)
    assert absent.skip_reason == SKIP_NOT_CACHED
    with pytest.raises(DiscoveryError, match="offline"):
        list(discover_hub_models([TASK], 5, cache_dir=cache))


def test_model_ref_repr_never_holds_the_token(
    loopback_hub: LoopbackHub, tiny_bert_files: dict[str, bytes]
) -> None:
    loopback_hub.add_model("org/gated", tiny_bert_files, gated="manual")
    loopback_hub.authorized_tokens.add(TOKEN)

    refs = list(discover_hub_models([TASK], 1, token=TOKEN, fetch=False))

    assert refs and all(TOKEN not in repr(ref) and TOKEN not in str(ref) for ref in refs)


def test_recorded_hub_responses_are_understood(loopback_hub: LoopbackHub) -> None:
    listing = json.loads((RECORDINGS / "list_models_text_classification_page1.json").read_text())
    for row in listing:
        loopback_hub.add_recorded_model(row)
    info = json.loads((RECORDINGS / "model_info_distilbert_sst2.json").read_text())

    distilbert, roberta, remote = discover_hub_models([TASK], 3, fetch=False)
    loopback_hub.add_recorded_model(info)  # the full model info replaces the listing row
    (detailed,) = discover_hub_models([], 0, model_ids=[info["id"]], fetch=False)

    assert (distilbert.license, distilbert.downloads, distilbert.likes) == (
        "apache-2.0",
        7541203,
        712,
    )
    assert distilbert.weights_mb == pytest.approx(4 * 66955010 / 1_000_000)
    assert distilbert.skip_reason is None
    assert roberta.skip_reason == SKIP_PICKLE_ONLY and roberta.license is None
    assert remote.skip_reason == SKIP_REMOTE_CODE and remote.gated == "manual"
    assert detailed.revision == "714eb0fa89d2f80546fda750413ed43d93601a13"
    assert detailed.weights_mb == pytest.approx(267.832558)  # model.safetensors only
    assert detailed.task == TASK and detailed.path is None and detailed.skip_reason is None


# -- tags from the task registry, not a fixed list ----------------------------------------

TEST_ONLY_TASK = "test-only-classification"


@pytest.fixture
def test_only_task(tmp_path: Path, tiny_schemes_dir: Path, monkeypatch: pytest.MonkeyPatch):
    """A task registered for this test alone (a text classifier under another tag), with a
    workload, a gate and a reference model in a copy of the tiny schemes."""
    import shutil

    from scanner.tasks.registry import TASKS
    from scanner.tasks.text_classification import TextClassification

    schemes = tmp_path / "schemes"
    shutil.copytree(tiny_schemes_dir, schemes)
    v2 = schemes / "v2.toml"
    text = v2.read_text(encoding="utf-8")
    for table in ("workload", "quality", "reference_model"):
        start = text.index(f"[{table}.text-classification]")
        end = text.find("\n[", start + 1)
        body = text[start : end if end != -1 else len(text)]
        text += "\n" + body.replace("text-classification", TEST_ONLY_TASK, 1) + "\n"
    v2.write_text(text, encoding="utf-8")
    monkeypatch.setenv("LABELER_SCHEMES_DIR", str(schemes))

    class TestOnlyClassification(TextClassification):
        task = TEST_ONLY_TASK

    with TASKS.registered(TEST_ONLY_TASK, TestOnlyClassification):
        yield TEST_ONLY_TASK


def test_a_registered_tag_is_listed_and_fetched_like_any_other(
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    tmp_path: Path,
    test_only_task: str,
) -> None:
    loopback_hub.add_model("org/new-task", tiny_bert_files, pipeline_tag=test_only_task)
    loopback_hub.add_model("org/other", tiny_bert_files, pipeline_tag=TASK)

    (ref,) = discover_hub_models([test_only_task], 5, cache_dir=tmp_path / "cache")

    assert (ref.model_id, ref.task, ref.pipeline_tag) == (
        "org/new-task",
        test_only_task,
        test_only_task,
    )
    assert ref.skip_reason is None and ref.path is not None


def test_scan_task_accepts_every_registered_tag_and_benchmarks_it(
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    tmp_path: Path,
    test_only_task: str,
) -> None:
    from typer.testing import CliRunner

    from labeler.cli import app
    from labels import Catalog

    loopback_hub.add_model("org/new-task", tiny_bert_files, pipeline_tag=test_only_task)
    catalog = tmp_path / "catalog.duckdb"

    result = CliRunner().invoke(
        app,
        [
            "scan", "--source", "hub", "--task", test_only_task, "--top", "1",
            "--windows", "1", "--window-s", "0.01", "--warmup-s", "0", "--idle-s", "0",
            "--tactic", "baseline", "--executor", "inprocess",
            "--models-dir", str(tmp_path / "models"), "--catalog", str(catalog),
        ],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "1 benchmarked, 0 unchanged, 0 skipped, 0 failed" in result.stdout
    rows = (
        Catalog(catalog, read_only=True)
        .query("SELECT task, status, reason FROM runs WHERE variant = 'baseline'")
        .rows
    )
    assert rows == [(test_only_task, "ok", None)]


def test_scan_task_refuses_a_tag_no_adapter_handles_and_lists_the_registry(
    tmp_path: Path,
) -> None:
    """The known tags are the registry's, even one the label scheme does not list yet."""
    from typer.testing import CliRunner

    from labeler.cli import app
    from scanner.tasks.registry import TASKS, task_names
    from scanner.tasks.text_classification import TextClassification

    class RegistryOnly(TextClassification):
        task = "registry-only-task"

    with TASKS.registered("registry-only-task", RegistryOnly):
        result = CliRunner().invoke(
            app,
            ["scan", "--source", "hub", "--task", "depth-estimation",
             "--catalog", str(tmp_path / "catalog.duckdb")],
        )  # fmt: skip
        known = task_names()

    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: unknown task 'depth-estimation' (known: ")
    assert "registry-only-task" in known and all(name in line for name in known)


def test_the_cards_model_index_is_kept_from_the_listing(
    loopback_hub: LoopbackHub, tiny_bert_files: dict[str, bytes]
) -> None:
    card = {
        "pipeline_tag": TASK,
        "model-index": [
            {
                "name": "tiny",
                "results": [
                    {
                        "task": {"type": TASK},
                        "dataset": {"type": "imdb", "name": "IMDb", "split": "test"},
                        "metrics": [{"type": "accuracy", "value": 0.88}],
                    }
                ],
            }
        ],
    }
    loopback_hub.add_model("org/evaluated", tiny_bert_files, card_data=card)
    loopback_hub.add_model("org/plain", tiny_bert_files, downloads=-1)

    evaluated, plain = discover_hub_models([TASK], 5, fetch=False)

    (result,) = json.loads(evaluated.model_index_json)
    assert (result["dataset_type"], result["dataset_split"], result["metric_type"]) == (
        "imdb",
        "test",
        "accuracy",
    )
    assert result["value"] == 0.88
    assert plain.model_index_json == "[]"

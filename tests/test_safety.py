"""Safety as a whole: what must never run or load, checked on every way into a scan.

The rules are written down in docs/safety.md: repository code never runs, pickle weights
never load without `--allow-pickle` (and never execute code even with it), models over
`--max-params` or `--max-download-gb` are skipped before anything of them is loaded or
downloaded, and a scan of local or cached models makes no network request. Each rule is
checked through a public entry point (the CLI, `scanner.scan.scan`, the discovery
functions) on each source (a local folder, the Hub, the demo) and executor (in-process,
subprocess, and Ray in tests/test_ray.py, beside its cluster), so a refactoring that turns
one guard off on one path fails here.

Unsafe models carry payloads that leave a marker file if they ever execute, so "never ran"
is an observation, not an assumption.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from labeler.cli import app
from labels import Catalog
from scanner.discovery.local import discover_local_models
from scanner.scan import scan
from tests import hub_server, unsafe_models
from tests.hub_server import LoopbackHub
from tests.tiny_models import copy_model, make_pickle_only
from tests.unsafe_models import (
    UnsafeFolder,
    assert_unsafe_models_were_refused,
    baseline_outcomes,
    fast_options,
    make_evil_pickle,
)

pytest.importorskip("torch")

loopback_hub = hub_server.loopback_hub
tiny_bert_files = hub_server.tiny_bert_files
built = unsafe_models.built
unsafe_folder = unsafe_models.unsafe_folder

TASK = "text-classification"
FAST_CLI = ["--tactic", "baseline", "--windows", "1", "--window-s", "0.05"]
FAST_CLI += ["--warmup-s", "0", "--idle-s", "0"]


# -- a spy on every loader --------------------------------------------------------------------


@dataclass(frozen=True)
class LoaderCall:
    loader: str
    path: str
    kwargs: dict[str, Any]


@pytest.fixture
def loader_calls(monkeypatch: pytest.MonkeyPatch) -> list[LoaderCall]:
    """Records every `from_pretrained` of every Auto class an adapter uses, and the tokenizer's;
    the real loader still runs. Works for the in-process executor only (same process)."""
    import transformers

    from scanner.tasks import adapter_for, supported_tasks

    calls: list[LoaderCall] = []
    names = {adapter_for(task).auto_class for task in supported_tasks()} | {"AutoTokenizer"}
    for name in sorted(names):
        cls = getattr(transformers, name)
        original = cls.from_pretrained

        def spy(*args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            path = args[0] if args else kwargs.get("pretrained_model_name_or_path")
            calls.append(LoaderCall(_name, str(path), dict(kwargs)))
            return _original(*args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", spy)
    return calls


def assert_loaded_safely(calls: list[LoaderCall]) -> None:
    assert calls, "no loader was called: the spy saw nothing"
    for call in calls:
        assert call.kwargs.get("trust_remote_code") is False, call
        assert call.kwargs.get("local_files_only") is True, call
        if call.loader != "AutoTokenizer":
            assert call.kwargs.get("use_safetensors") is True, call


def invoke(args: list[str]) -> Any:
    return CliRunner().invoke(app, args)


# -- remote code: the second guard ------------------------------------------------------------


def test_from_pretrained_never_gets_trust_remote_code_even_when_check_loadable_passes(
    tmp_path: Path, built: dict[str, Path], loader_calls: list[LoaderCall]
) -> None:
    """A healthy model passes `check_loadable`, so only the loader's own arguments keep
    repository code off: pin them, for the model and for its tokenizer."""
    copy_model(built["bert"], tmp_path / "models" / "org" / "healthy")
    catalog = Catalog(tmp_path / "catalog.duckdb")

    summary = scan(discover_local_models(tmp_path / "models"), catalog, fast_options())

    assert summary.benchmarked == 1 and summary.ok, summary.failures
    assert {call.loader for call in loader_calls} >= {
        "AutoModelForSequenceClassification",
        "AutoTokenizer",
    }
    assert_loaded_safely(loader_calls)


# -- pickle through the CLI -------------------------------------------------------------------


def test_cli_scan_skips_a_pickle_only_model_without_allow_pickle(
    tmp_path: Path, built: dict[str, Path], loader_calls: list[LoaderCall]
) -> None:
    models = tmp_path / "models"
    make_pickle_only(built["bert"], models / "org" / "pickled")
    catalog = tmp_path / "catalog.duckdb"
    args = ["scan", "--source", str(models), "--executor", "inprocess", *FAST_CLI]

    result = invoke([*args, "--catalog", str(catalog)])

    assert result.exit_code == 0, result.output
    assert "skipped: org/pickled: only pickle weights" in result.output
    status, reason = baseline_outcomes(Catalog(catalog))["org/pickled"]
    assert status == "skipped" and "--allow-pickle" in reason
    assert not [call for call in loader_calls if "pickled" in call.path], "weights were loaded"

    # The flag is what lets it through: with it the same model is benchmarked.
    opted_in = invoke([*args, "--allow-pickle", "--catalog", str(tmp_path / "opted.duckdb")])
    assert opted_in.exit_code == 0, opted_in.output
    assert baseline_outcomes(Catalog(tmp_path / "opted.duckdb"))["org/pickled"] == ("ok", None)


def test_allow_pickle_still_never_executes_a_pickle_payload(
    tmp_path: Path, built: dict[str, Path]
) -> None:
    """With the flag, pickle loads with weights_only=True: a payload is a load error."""
    marker = tmp_path / "pickle-ran"
    models = tmp_path / "models"
    make_evil_pickle(built["bert"], models / "org" / "evil-pickle", marker)
    catalog = Catalog(tmp_path / "catalog.duckdb")

    summary = scan(discover_local_models(models), catalog, fast_options(allow_pickle=True))

    assert not marker.exists(), "a pickle payload was executed"
    assert summary.failed == 1
    status, reason = baseline_outcomes(catalog)["org/evil-pickle"]
    assert status == "failed" and reason.startswith("load error"), reason


# -- a local folder, on each executor ---------------------------------------------------------


def test_local_folder_in_process_refuses_every_unsafe_model_and_stays_off_the_network(
    unsafe_folder: UnsafeFolder, loopback_hub: LoopbackHub, loader_calls: list[LoaderCall]
) -> None:
    """The loopback Hub is the configured endpoint and offline mode is off: a local scan
    still makes no request."""
    catalog = Catalog(unsafe_folder.root.parent / "catalog.duckdb")

    summary = scan(
        discover_local_models(unsafe_folder.root),
        catalog,
        fast_options(max_params=unsafe_folder.max_params),
    )

    assert summary.failed == 0, summary.failures
    assert_unsafe_models_were_refused(baseline_outcomes(catalog), unsafe_folder)
    assert {Path(call.path).name for call in loader_calls} == {"good"}
    assert_loaded_safely(loader_calls)
    assert loopback_hub.requests == []


@pytest.mark.slow
def test_cli_subprocess_executor_refuses_every_unsafe_model_and_stays_off_the_network(
    unsafe_folder: UnsafeFolder, loopback_hub: LoopbackHub
) -> None:
    """The CLI's default executor: one child process per model."""
    catalog = unsafe_folder.root.parent / "catalog.duckdb"

    result = invoke(
        [
            "scan",
            "--source",
            str(unsafe_folder.root),
            "--max-params",
            str(unsafe_folder.max_params),
            "--executor",
            "subprocess",
            *FAST_CLI,
            "--catalog",
            str(catalog),
        ]
    )

    assert result.exit_code == 0, result.output
    assert_unsafe_models_were_refused(baseline_outcomes(Catalog(catalog)), unsafe_folder)
    assert loopback_hub.requests == []


# -- the Hub ----------------------------------------------------------------------------------


def test_hub_source_downloads_nothing_of_an_unsafe_or_oversized_model(
    tmp_path: Path, loopback_hub: LoopbackHub, tiny_bert_files: dict[str, bytes]
) -> None:
    config = json.loads(tiny_bert_files["config.json"])
    remote = {**config, "auto_map": {"AutoModel": "modeling_evil.EvilModel"}}
    loopback_hub.add_model(
        "org/remote-code",
        {
            **tiny_bert_files,
            "config.json": json.dumps(remote).encode(),
            "modeling_evil.py": b"raise SystemExit('never run me')\n",
        },
    )
    pickle_only = {"config.json": tiny_bert_files["config.json"], "pytorch_model.bin": b"\x80"}
    loopback_hub.add_model("org/pickled", pickle_only)
    loopback_hub.add_model(
        "org/huge-download", tiny_bert_files, declared_sizes={"model.safetensors": 6 * 10**9}
    )
    loopback_hub.add_model("org/many-params", tiny_bert_files)
    models_file = tmp_path / "models.txt"
    models_file.write_text("org/remote-code\norg/pickled\norg/huge-download\n", encoding="utf-8")
    catalog = tmp_path / "catalog.duckdb"
    common = ["scan", "--source", "hub", "--executor", "inprocess", *FAST_CLI]
    common += ["--models-dir", str(tmp_path / "store")]

    result = invoke(
        [*common, "--models", str(models_file), "--max-download-gb", "5"]
        + ["--catalog", str(catalog)]
    )
    models_file.write_text("org/many-params\n", encoding="utf-8")
    too_many = invoke(
        [*common, "--models", str(models_file), "--max-params", "1000"]
        + ["--catalog", str(catalog)]
    )

    assert result.exit_code == 0, result.output
    assert too_many.exit_code == 0, too_many.output
    outcomes = baseline_outcomes(Catalog(catalog))
    assert outcomes["org/remote-code"][0] == "skipped"
    assert "trust_remote_code" in outcomes["org/remote-code"][1]
    assert outcomes["org/pickled"][0] == "skipped"
    assert outcomes["org/pickled"][1].startswith("only pickle weights")
    assert outcomes["org/huge-download"][0] == "skipped"
    assert "over the 5 GB download limit" in outcomes["org/huge-download"][1]
    assert outcomes["org/many-params"][0] == "skipped"
    assert "--max-params limit of 1,000" in outcomes["org/many-params"][1]
    downloads = [r.path for r in loopback_hub.requests if "/resolve/" in r.path]
    assert downloads == [], "a file of a refused model was downloaded"


def test_hub_source_in_offline_mode_sends_no_request(
    tmp_path: Path,
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from huggingface_hub import constants

    loopback_hub.add_model("org/fine", tiny_bert_files)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    models_file = tmp_path / "models.txt"
    models_file.write_text("org/fine\n", encoding="utf-8")
    catalog = tmp_path / "catalog.duckdb"
    common = ["scan", "--source", "hub", "--executor", "inprocess", *FAST_CLI]
    common += ["--models-dir", str(tmp_path / "store"), "--catalog", str(catalog)]

    listed = invoke([*common, "--task", TASK])
    explicit = invoke([*common, "--models", str(models_file)])

    assert listed.exit_code == 2
    assert listed.output.strip().splitlines()[-1].startswith("error: offline mode")
    assert explicit.exit_code == 0, explicit.output
    status, reason = baseline_outcomes(Catalog(catalog))["org/fine"]
    assert status == "skipped" and "offline mode" in reason
    assert loopback_hub.requests == []


# -- the demo ---------------------------------------------------------------------------------


def test_demo_source_loads_safely_and_skips_models_over_max_params(
    tmp_path: Path, loader_calls: list[LoaderCall]
) -> None:
    """MiniLM (22 M parameters) is over a 1 M limit and is never loaded; the tiny synthetic
    models are loaded with remote code off and safetensors only."""
    catalog = tmp_path / "catalog.duckdb"

    result = invoke(
        ["scan", "--source", "demo", "--executor", "inprocess", *FAST_CLI]
        + ["--max-params", "1000000", "--models-dir", str(tmp_path / "store")]
        + ["--catalog", str(catalog)]
    )

    assert result.exit_code == 0, result.output
    outcomes = baseline_outcomes(Catalog(catalog))
    minilm = "sentence-transformers/all-MiniLM-L6-v2"
    assert outcomes[minilm][0] == "skipped" and "--max-params limit" in outcomes[minilm][1]
    assert [status for model, (status, _) in outcomes.items() if model != minilm] == ["ok"] * (
        len(outcomes) - 1
    )
    assert not [call for call in loader_calls if "MiniLM" in call.path]
    assert_loaded_safely(loader_calls)

"""Models that break a safety rule, each with a payload that leaves a marker file if it ever
executes, and the checks that every rule held (docs/safety.md): shared by tests/test_safety.py
and the Ray executor's run of the same folder in tests/test_ray.py.

Use the fixtures as `unsafe_folder = unsafe_models.unsafe_folder` (and `built`) in a module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from labels import Catalog
from scanner.scan import ScanOptions
from tests.tiny_models import (
    FAST_PROTOCOL,
    TINY_BERT,
    TINY_DISTILBERT,
    build_tiny_model,
    copy_model,
    make_pickle_only,
)


class _OpensMarker:
    """Unpickling this object opens (creates) a marker file: code ran from a pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def make_code_running(source: Path, dest: Path, marker: Path) -> Path:
    """A healthy model whose config asks for repository code that leaves `marker`."""
    copy_model(source, dest)
    config_file = dest / "config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["auto_map"] = {
        "AutoConfig": "modeling_evil.EvilConfig",
        "AutoModelForSequenceClassification": "modeling_evil.EvilModel",
        "AutoModelForTokenClassification": "modeling_evil.EvilModel",
    }
    config_file.write_text(json.dumps(config), encoding="utf-8")
    (dest / "modeling_evil.py").write_text(
        f"open({str(marker)!r}, 'w').write('repository code ran')\n", encoding="utf-8"
    )
    return dest


def make_evil_pickle(source: Path, dest: Path, marker: Path) -> Path:
    """A model whose only weights are a pickle that leaves `marker` when unpickled."""
    import torch

    copy_model(source, dest)
    for weights in dest.glob("*.safetensors"):
        weights.unlink()
    torch.save({"bert.embeddings.word_embeddings.weight": _OpensMarker(marker)}, dest / "w.bin")
    (dest / "w.bin").rename(dest / "pytorch_model.bin")
    return dest


@dataclass(frozen=True)
class UnsafeFolder:
    """A folder of models, each breaking one rule, plus one that may be benchmarked."""

    root: Path
    code_marker: Path
    pickle_marker: Path
    max_params: int  # the good model is under it, org/too-big over it

    def assert_nothing_ran(self) -> None:
        assert not self.code_marker.exists(), "repository code was executed"
        assert not self.pickle_marker.exists(), "a pickle payload was executed"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("safety-built")
    return {
        "bert": build_tiny_model(TINY_BERT, root / "bert"),
        "distilbert": build_tiny_model(TINY_DISTILBERT, root / "distilbert"),
    }


def parameter_count(folder: Path) -> int:
    from scanner.scan import safetensors_parameter_count

    count = safetensors_parameter_count(folder)
    assert count, folder
    return count


@pytest.fixture
def unsafe_folder(tmp_path: Path, built: dict[str, Path]) -> UnsafeFolder:
    small, big = built["distilbert"], built["bert"]  # 118 k and 122 k parameters
    assert parameter_count(small) < parameter_count(big)
    markers = tmp_path / "markers"
    markers.mkdir()
    folder = UnsafeFolder(
        tmp_path / "models",
        markers / "code-ran",
        markers / "pickle-ran",
        (parameter_count(small) + parameter_count(big)) // 2,
    )
    copy_model(small, folder.root / "org" / "good")
    make_code_running(small, folder.root / "org" / "remote-code", folder.code_marker)
    make_pickle_only(small, folder.root / "org" / "pickled")
    make_evil_pickle(small, folder.root / "org" / "evil-pickle", folder.pickle_marker)
    copy_model(big, folder.root / "org" / "too-big")
    return folder


def baseline_outcomes(catalog: Catalog) -> dict[str, tuple[str, str | None]]:
    rows = catalog.query(
        "SELECT model_id, status, reason FROM latest_runs WHERE variant = 'baseline'"
    ).rows
    return {model_id: (status, reason) for model_id, status, reason in rows}


def assert_unsafe_models_were_refused(
    outcomes: dict[str, tuple[str, str | None]], folder: UnsafeFolder
) -> None:
    """Every rule held: each unsafe model is skipped with its reason, the good one ran."""
    assert outcomes["org/good"] == ("ok", None)
    status, reason = outcomes["org/remote-code"]
    assert status == "skipped" and "trust_remote_code" in reason
    for name in ("org/pickled", "org/evil-pickle"):
        status, reason = outcomes[name]
        assert status == "skipped" and reason.startswith("only pickle weights"), (name, reason)
        assert "--allow-pickle" in reason
    status, reason = outcomes["org/too-big"]
    assert status == "skipped" and "--max-params limit" in reason
    folder.assert_nothing_ran()


def fast_options(**changes: Any) -> ScanOptions:
    values: dict[str, Any] = {
        "device": "cpu",
        "tactics": ["baseline"],
        "protocol": dict(FAST_PROTOCOL),
        "executor": "inprocess",
        "timeout_s": 300.0,
    }
    values.update(changes)
    return ScanOptions(**values)

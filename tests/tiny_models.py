"""Tiny models built from transformers configs, plus the broken folders a scan must survive.

The healthy models reuse the demo's `build_synthetic_model` (seed 0, safetensors, a
tokenizer), built once per test session and copied into each test's folder: a build with
seed 0 is the same model every time, and loading it from disk is what the tests exercise.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

TINY_BERT = "synthetic/tiny-bert-text-classification"
TINY_DISTILBERT = "synthetic/tiny-distilbert-token-classification"
FAST_PROTOCOL = {"windows": 2, "window_s": 0.05, "warmup_s": 0, "idle_s": 0, "window_iterations": 1}

_store: Path | None = None  # where this session keeps the first build of each kind


def keep_builds_in(folder: Path) -> None:
    """Keep each kind's first build in `folder` and copy it from there (conftest sets it)."""
    global _store
    _store = folder


def build_tiny_model(kind: str, path: Path) -> Path:
    """Put one tiny model (`TINY_BERT` or `TINY_DISTILBERT`) in Hub layout at `path`."""
    from scanner.discovery.demo import build_synthetic_model

    if _store is None:
        return build_synthetic_model(kind, path)
    built = _store / kind
    if not built.is_dir():
        build_synthetic_model(kind, built)
    shutil.rmtree(path, ignore_errors=True)  # a build replaces what was there
    return copy_model(built, path)


def tiny_bert_classifier(layers: int = 4) -> torch.nn.Module:
    """A tiny BERT classifier in memory (3 labels, vocabulary 100, seed 0), for the tactics'
    tests, which change a module rather than load a folder."""
    import torch
    import transformers

    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        intermediate_size=64,
        num_labels=3,
    )
    return transformers.BertForSequenceClassification(config).eval()


def copy_model(source: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, dest)
    return dest


def make_not_a_model(dest: Path) -> Path:
    """A folder with a config.json that names no architecture and no task."""
    dest.mkdir(parents=True)
    (dest / "config.json").write_text(json.dumps({"hello": "world"}), encoding="utf-8")
    (dest / "notes.txt").write_text("not a model\n", encoding="utf-8")
    return dest


def make_corrupt_safetensors(source: Path, dest: Path) -> Path:
    """A healthy model whose weights file is garbage bytes."""
    copy_model(source, dest)
    for weights in dest.glob("*.safetensors"):
        weights.write_bytes(b"\x00garbage, not safetensors\xff" * 64)
    return dest


def make_remote_code(source: Path, dest: Path) -> Path:
    """A healthy model whose config asks for repository code (auto_map)."""
    copy_model(source, dest)
    config_file = dest / "config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["auto_map"] = {"AutoModelForSequenceClassification": "modeling_evil.EvilModel"}
    config_file.write_text(json.dumps(config), encoding="utf-8")
    (dest / "modeling_evil.py").write_text("raise SystemExit('never run me')\n", encoding="utf-8")
    return dest


def make_pickle_only(source: Path, dest: Path) -> Path:
    """A healthy model saved as pytorch_model.bin (pickle) with no safetensors file."""
    import torch
    from safetensors.torch import load_file

    copy_model(source, dest)
    for weights in dest.glob("*.safetensors"):
        torch.save(load_file(weights), dest / "pytorch_model.bin")
        weights.unlink()
    return dest

"""Models from a local folder in Hub layout: `PATH/org/name/config.json` or `PATH/name/…`.

The task comes from the card's `pipeline_tag` (front matter read by huggingface_hub, as for
Hub models), else from the architecture in config.json.
The revision is a hash of the files' contents, so an unchanged folder is not rescanned.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from labels.model_index import model_index_json
from scanner.discovery.base import DiscoveryError, ModelRef

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".ckpt")
ARCHITECTURE_TASKS = (
    # speech and vision (issue 10b); before any generic suffix, which would claim them
    ("WhisperForConditionalGeneration", "automatic-speech-recognition"),
    ("ForObjectDetection", "object-detection"),
    ("CLIPModel", "zero-shot-image-classification"),
    ("ForSequenceClassification", "text-classification"),
    ("ForMaskedLM", "fill-mask"),
    ("ForQuestionAnswering", "question-answering"),
    ("ForTokenClassification", "token-classification"),
    ("ForImageClassification", "image-classification"),
    ("ForCausalLM", "text-generation"),
    ("LMHeadModel", "text-generation"),
)


def discover_local_models(folder: str | Path, source: str = "local") -> list[ModelRef]:
    """Every model folder (one holding config.json) at `folder` or up to two levels below."""
    root = Path(folder)
    if not root.exists():
        raise DiscoveryError(f"no such folder: {root}")
    if not root.is_dir():
        raise DiscoveryError(f"not a folder: {root}")
    if (root / "config.json").is_file():
        candidates = [root]
    else:
        candidates = sorted(
            {p.parent for p in root.glob("*/config.json")}
            | {p.parent for p in root.glob("*/*/config.json")}
        )
    candidates = [path for path in candidates if not _inside_sentence_transformers(path, root)]
    if not candidates:
        raise DiscoveryError(f"no model folders (with config.json) under {root}")
    return [local_model_ref(path, root, source) for path in candidates]


def _inside_sentence_transformers(path: Path, root: Path) -> bool:
    """A module subfolder of a sentence-transformers model (`1_Pooling/config.json`, a
    Dense layer's config): part of that model, not a model of its own."""
    return any(
        (parent / "modules.json").is_file() and (parent / "config.json").is_file()
        for parent in path.parents
        if parent != path and parent.is_relative_to(root)
    )


def local_model_ref(path: Path, root: Path, source: str = "local") -> ModelRef:
    model_id = path.name if path == root else path.relative_to(root).as_posix()
    card = _read_card_header(path / "README.md")
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError) as exc:
        return ModelRef(
            model_id=model_id,
            revision="unreadable",
            task="unknown",
            source=source,
            path=path,
            skip_reason=f"config.json is not valid JSON: {exc}",
        )
    task = _text(card.get("pipeline_tag")) or infer_task(path, config)
    skip_reason = None
    if task is None:
        skip_reason = "unsupported task: no pipeline_tag in README.md and no known architecture"
        task = "unknown"
    weights = [p for p in path.iterdir() if p.suffix in WEIGHT_SUFFIXES]
    return ModelRef(
        model_id=model_id,
        revision=content_revision(path),
        task=task,
        source=source,
        path=path,
        library=_text(card.get("library_name"))
        or ("sentence-transformers" if (path / "modules.json").exists() else "transformers"),
        pipeline_tag=_text(card.get("pipeline_tag")),
        license=_text(card.get("license")),
        weights_mb=sum(p.stat().st_size for p in weights) / 2**20 if weights else None,
        tags=_tags(card.get("tags")),
        skip_reason=skip_reason,
        model_index_json=model_index_json(card.get("model-index")),
    )


def infer_task(path: Path, config: dict) -> str | None:
    architectures = config.get("architectures") or []
    for arch in architectures:
        for suffix, task in ARCHITECTURE_TASKS:
            if arch.endswith(suffix):
                return task
    if (path / "modules.json").exists():
        return "sentence-similarity"  # a sentence-transformers pipeline: follow its pooling
    if any(a.endswith("Model") for a in architectures):
        return "feature-extraction"
    return None


def content_revision(path: Path) -> str:
    """A short hash over file names, sizes and the config: stable while nothing changes."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        stat = file.stat()
        digest.update(f"{file.relative_to(path).as_posix()}:{stat.st_size}\n".encode())
        if file.suffix == ".json" and stat.st_size < 1_000_000:
            digest.update(file.read_bytes())
    return "local-" + digest.hexdigest()[:12]


def _read_card_header(readme: Path) -> dict[str, Any]:
    """The card's YAML front matter as huggingface_hub reads it ({} without a usable one)."""
    if not readme.is_file():
        return {}
    # Imported here: huggingface_hub takes about a second to import, which every `labeler`
    # command would pay at start; only discovery needs it.
    import yaml
    from huggingface_hub.repocard import metadata_load

    try:
        metadata = metadata_load(readme)
    except (yaml.YAMLError, UnicodeDecodeError, OSError):
        return {}  # a card we cannot read is no card: the task comes from the config
    return metadata if isinstance(metadata, dict) else {}


def _text(value: Any) -> str | None:
    """A card field as one string: a list (some cards list licenses) gives its first item."""
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value not in (None, "") else None


def _tags(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(str(tag) for tag in value if tag is not None)
    return ()

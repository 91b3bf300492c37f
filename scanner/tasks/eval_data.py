"""Labelled evaluation data (`--eval-data FILE`): accuracy against real labels, per variant.

Agreement with the baseline says a variant behaves like the model as published; labelled
accuracy says whether either of them is right. The file is CSV with a header naming `text`
and `label` columns, or JSON Lines with `text` and `label` fields. A label is a class index
or a class name from the model's `config.id2label`. Only text classification uses it.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from labels.errors import LabelerError
from scanner.tasks.text_inputs import TOKENIZER_FILES

MAX_EVAL_ITEMS = 2000  # enough for a stable accuracy; keeps every variant's pass short


class EvalDataError(LabelerError, ValueError):
    """The evaluation file cannot be used; the message says why."""


@dataclass(frozen=True)
class LabelledExample:
    text: str
    label: str  # as written in the file: an index or a class name


def read_eval_data(path: Path | str) -> list[LabelledExample]:
    """Read CSV (`text,label` header) or JSON Lines (`{"text": ..., "label": ...}`)."""
    path = Path(path)
    if not path.is_file():
        raise EvalDataError(f"no such eval data file: {path}")
    try:
        content = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalDataError(f"cannot read {path}: {exc}") from None
    rows = _jsonl_rows(content, path) if _is_jsonl(path, content) else _csv_rows(content, path)
    examples = []
    for number, row in rows:
        text, label = row.get("text"), row.get("label")
        if not isinstance(text, str) or label is None or str(label).strip() == "":
            raise EvalDataError(f"{path}:{number}: needs a text and a label")
        examples.append(LabelledExample(text, str(label).strip()))
    if not examples:
        raise EvalDataError(f"{path} has no examples")
    return examples[:MAX_EVAL_ITEMS]


def _is_jsonl(path: Path, content: str) -> bool:
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        return True
    if path.suffix.lower() == ".csv":
        return False
    return content.lstrip().startswith("{")


def _jsonl_rows(content: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalDataError(f"{path}:{number}: not JSON: {exc.msg}") from None
        if not isinstance(row, dict):
            raise EvalDataError(f"{path}:{number}: each line must be a JSON object")
        rows.append((number, row))
    return rows


def _csv_rows(content: str, path: Path) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(content.splitlines())
    fields = [f.strip() for f in reader.fieldnames or []]
    if "text" not in fields or "label" not in fields:
        raise EvalDataError(f"{path}: the CSV header must name text and label columns")
    rows = []
    for number, row in enumerate(reader, start=2):
        rows.append((number, {(k or "").strip(): v for k, v in row.items()}))
    return rows


def label_indices(examples: list[LabelledExample], id2label: dict[Any, str]) -> list[int]:
    """Each example's class index: the label itself if an index, else its name's index."""
    names = {str(name).lower(): int(index) for index, name in (id2label or {}).items()}
    classes = len(names)
    indices = []
    for example in examples:
        label = example.label
        if label.lstrip("-").isdigit():
            index = int(label)
        elif label.lower() in names:
            index = names[label.lower()]
        else:
            known = ", ".join(sorted(names)) or "none"
            raise EvalDataError(f"label {label!r} is not a class of the model (known: {known})")
        if classes and not 0 <= index < classes:
            raise EvalDataError(f"label index {index} is outside the model's {classes} classes")
        indices.append(index)
    return indices


def labelled_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of items whose top-1 class is the labelled one."""
    if labels.numel() == 0:
        return 0.0
    predictions = logits.float().argmax(-1).cpu()
    return float((predictions == labels.cpu()).float().mean().item())


def tokenized_eval_batches(
    path: Path, texts: list[str], batch_size: int, max_length: int
) -> list[dict[str, torch.Tensor]]:
    """The texts in chunks of `batch_size`, tokenized by the model's own tokenizer."""
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise EvalDataError("the model has no tokenizer, so labelled text cannot be encoded")
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(
            str(path), local_files_only=True, trust_remote_code=False
        )
    except Exception as exc:  # transformers raises many types for a broken tokenizer
        raise EvalDataError(f"the model's tokenizer cannot be loaded: {exc}") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return [
        dict(
            tokenizer(
                texts[start : start + batch_size],
                padding="longest",
                truncation=True,
                max_length=max_length,
                return_tensors="pt",
            )
        )
        for start in range(0, len(texts), batch_size)
    ]

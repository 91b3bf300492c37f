"""The tasks this project ships, by pipeline tag, and the `labeler.tasks` entry-point group.

Adding a built-in task is a new adapter module and one line here; a third-party package
declares an entry point `pipeline-tag = "package.module:AdapterClass"` in the group
`labeler.tasks` instead (see docs/extending.md). A task also needs a workload and a quality
gate in the label scheme before a model of it can be graded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from scanner.registry import Registry, UnknownName

if TYPE_CHECKING:
    from scanner.tasks.base import TaskAdapter

BUILTIN_TASKS = {
    "feature-extraction": "scanner.tasks.feature_extraction:FeatureExtraction",
    "fill-mask": "scanner.tasks.fill_mask:FillMask",
    "image-classification": "scanner.tasks.image_classification:ImageClassification",
    "question-answering": "scanner.tasks.question_answering:QuestionAnswering",
    "sentence-similarity": "scanner.tasks.sentence_similarity:SentenceSimilarity",
    "summarization": "scanner.tasks.seq2seq:Summarization",
    "text2text-generation": "scanner.tasks.seq2seq:Seq2SeqGeneration",
    "text-classification": "scanner.tasks.text_classification:TextClassification",
    "text-generation": "scanner.tasks.text_generation:TextGeneration",
    "token-classification": "scanner.tasks.token_classification:TokenClassification",
    "translation": "scanner.tasks.seq2seq:Translation",
    # speech and vision (issue 10b)
    "automatic-speech-recognition": "scanner.tasks.speech_recognition:AutomaticSpeechRecognition",
    "object-detection": "scanner.tasks.object_detection:ObjectDetection",
    "zero-shot-image-classification": (
        "scanner.tasks.zero_shot_image_classification:ZeroShotImageClassification"
    ),
}

# Tasks whose measured call is `generate`: a compiled model would recompile per length.
GENERATION_TASKS = frozenset(
    {"text-generation", "summarization", "translation", "text2text-generation"}
)


TASKS: Registry[type[TaskAdapter]] = Registry(
    "task",
    "labeler.tasks",
    BUILTIN_TASKS,
    interface="scanner.tasks.base:TaskAdapter",
    name_attribute="task",
)


def task_names() -> list[str]:
    """Every task with an adapter, built-in and plugin, without importing torch."""
    return TASKS.names()


def supported_tasks() -> list[str]:
    return sorted(TASKS.names())


def adapter_for(task: str) -> TaskAdapter:
    """A fresh adapter for `task`; `UnsupportedTask` (a skip, not a failure) if none."""
    # Imported here, not above: listing names must not import torch (the CLI's --help).
    from scanner.tasks.base import UnsupportedTask

    try:
        return TASKS.get(task)()
    except UnknownName:
        raise UnsupportedTask(
            f"unsupported task {task!r} (supported: {', '.join(supported_tasks())})"
        ) from None

"""Unlabelled English text for distillation, from a source that ships with Python itself.

Healing a layer-pruned student needs text to run the teacher on, and a scan must never
download at run time. The standard library's `pydoc_data.topics` holds the prose of the
Python Language Reference (the text `help()` shows), under the Python Software Foundation
License Version 2 like the rest of Python's documentation. We keep its plain sentences
(no code, no tables) in a fixed order. It is deliberately not the reference text that
quality is judged on (`scanner.tasks.reference_text`): a student trained on the judged
sentences would game the gate, so any sentence that appears there is dropped.
"""

from __future__ import annotations

import functools
import re

SOURCE = "Python Language Reference prose from the stdlib's pydoc_data.topics"
LICENCE = "Python Software Foundation License Version 2"

MIN_WORDS, MAX_WORDS = 6, 40
MIN_LETTER_SHARE = 0.9  # letters and spaces: drops code, grammar rules and tables


@functools.cache
def distillation_sentences() -> tuple[str, ...]:
    """The corpus: unique prose sentences, in the source's (sorted-topic) order."""
    from pydoc_data.topics import topics

    from scanner.tasks.reference_text import judged_sentences

    judged = set(judged_sentences())
    seen: dict[str, None] = {}
    for name in sorted(topics):
        for paragraph in re.split(r"\n\s*\n", topics[name]):
            lines = paragraph.splitlines()
            if any(line.startswith("   ") for line in lines):  # code and grammar blocks
                continue
            flat = " ".join(line.strip() for line in lines)
            for sentence in re.split(r"(?<=[.!?])\s+", flat):
                if _is_prose(sentence) and sentence not in judged:
                    seen.setdefault(sentence, None)
    return tuple(seen)


def _is_prose(sentence: str) -> bool:
    words = sentence.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS:
        return False
    if not sentence[0].isupper() or not sentence.endswith("."):
        return False
    letters = sum(c.isalpha() or c == " " for c in sentence)
    return letters / len(sentence) >= MIN_LETTER_SHARE

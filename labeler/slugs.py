"""Safe file names for model ids, task names and hardware profiles.

Model ids come from the Hub or from a local folder and may hold anything, so every path the
site writes is built here from sanitised segments: a hostile id can never reach outside the
output directory, and two different ids never share a file.
"""

from __future__ import annotations

import functools
import hashlib
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# An id whose every segment `safe_segment` keeps as it is (no dot first, at most 80 long).
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,79}(?:/[A-Za-z0-9_-][A-Za-z0-9._-]{0,79})*")


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


@functools.lru_cache(maxsize=200_000)  # task and hardware names recur on every page
def safe_segment(segment: str) -> str:
    """One path segment holding only letters, digits, dot, dash and underscore.

    A segment that had to change gets a short hash of the original appended, so distinct
    inputs stay distinct; `.`, `..` and empty segments cannot survive.
    """
    cleaned = _UNSAFE.sub("_", segment).lstrip(".")[:80]
    if cleaned == segment and cleaned:
        return cleaned
    return f"{cleaned or 'x'}-{_digest(segment)}"


def model_segments(model_id: str) -> list[str]:
    """The id split on `/` (Hub ids are `org/name`), each part made safe."""
    parts = model_id.split("/") or [model_id]
    return [safe_segment(part) for part in parts]


@functools.lru_cache(maxsize=200_000)  # a site build asks for each id's slug several times
def model_slug(model_id: str) -> str:
    """A flat file stem for a model page: `org/name` becomes `org--name`.

    Hub ids cannot contain `--`, so for them the slug is reversible; anything else gets a hash
    from `safe_segment` or here, so that `a/b` and a local `a--b` never collide.
    """
    if "--" not in model_id and _PLAIN_ID.fullmatch(model_id):
        return model_id.replace("/", "--")  # the common case, without a pass per segment
    slug = "--".join(model_segments(model_id))
    if "--" in model_id:
        slug = f"{slug}-{_digest(model_id)}"
    return slug


def badge_stem(model_id: str, hardware: str | None = None) -> str:
    """Relative path (POSIX, no suffix) of a model's badge under `badges/`.

    The id keeps its `/` nesting (`badges/org/name.svg`); a per-profile badge adds
    `--<hardware>` to the last segment.
    """
    segments = model_id.split("/") if _PLAIN_ID.fullmatch(model_id) else model_segments(model_id)
    if hardware is not None:
        segments[-1] = f"{segments[-1]}--{safe_segment(hardware)}"
    return "/".join(segments)

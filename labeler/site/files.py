"""Writing the site's files: many small ones, fast, and only in a folder a build made.

A build writes some 70,000 small files, so writes are plain os.open/os.write, and a model's
own badge is a hard link to one of its profile's badges rather than a second copy.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from labeler.site.manifest import MANIFEST_FILE

MARKER_FILE = ".labeler-site"
_OWNED_DIRS = ("models", "tasks", "badges", "data", "static")

_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)


def write_file(path: str, text: str) -> int:
    """Write `text` as UTF-8 to `path` (making its folder on first need); return its bytes.

    A build writes some 70,000 small files, so this is plain os.open/os.write: a thread pool
    or pathlib's objects cost more CPU per file than the write itself on a 2-core host.
    """
    data = text.encode("utf-8")
    try:
        fd = os.open(path, _WRITE_FLAGS, 0o666)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, _WRITE_FLAGS, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
    return len(data)


def link_file(source: str, target: str) -> None:
    """Make `target` the same file as `source`: a hard link, so nothing is written twice
    (a copy where the filesystem has no links). An existing `target` is replaced, never
    written through, so a file linked to it keeps its content."""
    try:
        os.link(source, target)
    except FileExistsError:
        os.unlink(target)
        link_file(source, target)
    except FileNotFoundError:
        if not os.path.exists(source):
            raise
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.link(source, target)
    except OSError:  # no hard links here (some network and FAT filesystems)
        shutil.copyfile(source, target)


def clear_output(out_dir: Path) -> None:
    """Clear what an earlier build of ours left, never a directory we did not make."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if (out_dir / MARKER_FILE).exists():
        for name in _OWNED_DIRS:
            shutil.rmtree(out_dir / name, ignore_errors=True)
        (out_dir / MANIFEST_FILE).unlink(missing_ok=True)
    (out_dir / MARKER_FILE).write_text("built by labeler.site; safe to delete\n")


def remove_files(out_dir: Path, relative_paths: Iterable[str]) -> None:
    for rel in relative_paths:
        (out_dir / rel).unlink(missing_ok=True)

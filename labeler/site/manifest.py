"""What the last site build wrote, so the next one re-renders only what changed.

A nightly scan changes a handful of models out of many thousands. The manifest, kept as
`.labeler-manifest.json` in the output folder, records for every model the digest DuckDB
computed of its inputs (its label rows, runs and model records), the hardware profiles it
has badges for, its tasks and the row chunk it sits in; plus the hash of the build's shared
inputs (templates, static assets, scheme, site URL, the site code itself) and of every
shared file (index, chunks, task pages). A model whose digest is unchanged is not read or
rendered again; a model that left the catalog has its files removed; a chunk or task page
none of whose models changed is kept as it is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_FILE = ".labeler-manifest.json"
MANIFEST_VERSION = 2


def content_hash(*parts: str | bytes) -> str:
    """A short, stable hash of some text: 16 hex digits of BLAKE2b."""
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        digest.update(part.encode("utf-8") if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.hexdigest()


def tree_hash(*roots: Path) -> str:
    """Hash of every file's relative name and bytes under the given folders or files."""
    digest = hashlib.blake2b(digest_size=8)
    for root in roots:
        paths = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.name.encode("utf-8") + b"\x00" + path.read_bytes() + b"\x00")
    return digest.hexdigest()


_REPO = Path(__file__).resolve().parent.parent.parent
# Modules of labeler/ that no page is made from (the command line and its screenshots):
# left out of `render_code_hash` so that changing them keeps the last build's pages.
_NOT_RENDER_CODE = ("cli", "screenshots")


def render_code_hash() -> str:
    """Hash of the code and sources a page can depend on: the site's templates and static
    files, and every module of `labels/` and `labeler/` (this package included) but the
    command line's. Whole folders, not a list of the modules the pages use today, so a
    module that starts to decide page text is covered before anyone remembers to list it;
    the cost is a full build after a change that touches no page."""
    labeler_modules = [
        path
        for path in sorted((_REPO / "labeler").rglob("*.py"))
        if not path.name.startswith(_NOT_RENDER_CODE)
    ]
    return tree_hash(
        _REPO / "site",
        *sorted((_REPO / "labels").rglob("*.py")),
        *labeler_modules,
    )


@dataclass(frozen=True, slots=True)
class ModelEntry:
    """One model as the last build saw it."""

    digest: int  # DuckDB's digest of the model's label rows, runs and model records
    hardware: tuple[str, ...]  # profiles it has badges for
    tasks: tuple[str, ...]  # task pages that list it
    chunk: int  # the row chunk holding its index rows


@dataclass
class SiteManifest:
    shared_hash: str = ""
    chunks: int = 0  # how many row chunks the models are spread over
    models: dict[str, ModelEntry] = field(default_factory=dict)
    # Relative path of a shared file (index, chunk, task page, export) -> its content hash.
    files: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, out_dir: Path) -> SiteManifest | None:
        """The manifest of the last build, or None when there is none or it is unreadable."""
        try:
            data: dict[str, Any] = json.loads((out_dir / MANIFEST_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            return None
        try:
            models = {
                str(model_id): ModelEntry(int(digest), tuple(hardware), tuple(tasks), int(chunk))
                for model_id, (digest, hardware, tasks, chunk) in data["models"].items()
            }
            files = {str(k): str(v) for k, v in data["files"].items()}
            return cls(str(data["shared_hash"]), int(data["chunks"]), models, files)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None

    def save(self, out_dir: Path) -> None:
        data = {
            "version": MANIFEST_VERSION,
            "shared_hash": self.shared_hash,
            "chunks": self.chunks,
            "models": {k: [v.digest, v.hardware, v.tasks, v.chunk] for k, v in self.models.items()},
            "files": self.files,
        }
        tmp = out_dir / (MANIFEST_FILE + ".tmp")
        # The folder is published as it is: keep model ids from reading as markup here too.
        text = json.dumps(data, separators=(",", ":"))
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_dir / MANIFEST_FILE)

"""Which models a scan looks at: one typed selection, and the one function that lists them.

`labeler scan` and `labeler schedule` take the same choices (a source, tasks, how many, a
ranking, limits); they are one `ModelSelection` here rather than ten positional arguments
in the CLI, so a test can list models without going through a command line. The Hub client
(huggingface_hub) is imported only when the source is the Hub.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from scanner.discovery.base import DiscoveryError, ModelRef
from scanner.discovery.demo import discover_demo_models
from scanner.discovery.local import discover_local_models

DEMO_SOURCE = "demo"
HUB_SOURCE = "hub"
DEFAULT_MODELS_DIR = Path("build/models")


class HubRanking(StrEnum):
    """How the Hub ranks the popular models of a task."""

    DOWNLOADS = "downloads"
    LIKES = "likes"


@dataclass(frozen=True)
class ModelSelection:
    """What to discover. `source` is "demo", "hub", or the path of a folder of models.

    `models_file` (Hub only) lists model ids, one a line, `#` for comments; `models_dir`
    holds the demo's built models and the Hub's downloads.
    """

    source: str = DEMO_SOURCE
    tasks: tuple[str, ...] = ()
    top: int = 10
    ranking: HubRanking = HubRanking.DOWNLOADS
    library: str | None = None
    models_file: Path | None = None
    models_dir: Path = DEFAULT_MODELS_DIR
    allow_pickle: bool = False
    max_download_gb: float | None = None
    max_params: int | None = None


def read_models_file(path: Path) -> list[str]:
    """Model ids from a file, one a line; blank lines and `#` comments are left out."""
    if not path.is_file():
        raise DiscoveryError(f"no such models file: {path}")
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def discover_models(selection: ModelSelection) -> list[ModelRef]:
    """The models `selection` names, fetched (Hub) or built (demo) where needed."""
    if selection.source == DEMO_SOURCE:
        return discover_demo_models(selection.models_dir / "demo")
    if selection.source != HUB_SOURCE:
        return discover_local_models(Path(selection.source))
    from scanner.discovery.hub import discover_hub_models  # huggingface_hub: the Hub only

    model_ids = None if selection.models_file is None else read_models_file(selection.models_file)
    if not selection.tasks and not model_ids:
        raise DiscoveryError("--source hub needs --task or --models")
    # A generator that fetches as it goes: listed whole here, so the caller counts them
    # (the scan's progress) and a Hub failure comes before the catalog is created.
    return list(
        discover_hub_models(
            list(selection.tasks),
            selection.top,
            sort=selection.ranking.value,
            library=selection.library,
            model_ids=model_ids,
            cache_dir=selection.models_dir / "hub",
            allow_pickle=selection.allow_pickle,
            max_download_gb=selection.max_download_gb,
            max_params=selection.max_params,
        )
    )

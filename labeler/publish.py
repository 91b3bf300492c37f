"""Publish the labels where leaderboards on the Hub live: the site as a static Space, the
catalog's Parquet and CSV with a dataset card as a dataset repository.

Each repository gets at most one commit per publish, holding only the files whose bytes
differ from the remote ones (compared by their git or LFS hashes from the repository tree),
and none when nothing changed, so a nightly publish does not fill the history with empty
commits. A commit is atomic on the Hub: a failed upload leaves the previous Space and
dataset as they were, and the catalog is only read. The token comes from huggingface_hub's
usual places (`HF_TOKEN`, `hf auth login`) and is passed to the client only, never printed.
"""

from __future__ import annotations

import hashlib
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from labels.catalog import Catalog, export_csv, export_parquet
from labels.errors import HubError, LabelerError, first_line, hub_error
from labels.scheme import DEFAULT_SCHEME_VERSION

SPACE_README = """---
title: Energy labels for Hugging Face models
emoji: 🔋
colorFrom: green
colorTo: red
sdk: static
app_file: index.html
pinned: false
---

A–G energy labels of Hugging Face models: Wh per 1,000 inferences of each task's reference
workload, graded against a reference model measured beside it. Built by hf-energy-labels
(`labeler publish`); the methodology is on the site.
"""
_KEEP_REMOTE = {".gitattributes"}


class PublishError(LabelerError):
    """Nothing to publish, or no token: one line, exit 2."""


@dataclass(frozen=True)
class RepoPublish:
    """What one publish did to one repository."""

    repo_id: str
    repo_type: str  # space | dataset
    uploaded: int
    deleted: int
    commit_url: str | None  # None: nothing changed, no commit

    def line(self) -> str:
        if self.commit_url is None:
            return f"{self.repo_type} {self.repo_id}: unchanged, no commit"
        return (
            f"{self.repo_type} {self.repo_id}: {self.uploaded} uploaded, {self.deleted} deleted "
            f"→ {self.commit_url}"
        )


def git_blob_sha1(content: bytes) -> str:
    """The git object id of a file's bytes, as the Hub's tree reports regular files."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def dataset_card(catalog: Catalog, scheme_version: str = DEFAULT_SCHEME_VERSION) -> str:
    """README.md of the dataset: what the files hold, the schema, scheme, methods, licence."""
    described = catalog.query("DESCRIBE SELECT * FROM latest_labels")
    schema = "\n".join(f"| `{row[0]}` | {row[1]} |" for row in described.rows)
    return f"""---
license: cc-by-4.0
pretty_name: Energy labels of Hugging Face models
tags:
- energy
- efficiency
- sustainability
configs:
- config_name: default
  data_files: latest_labels.parquet
---

# Energy labels of Hugging Face models

One row per (model, revision, task, hardware profile): the newest A–G energy label, the
energy per 1,000 inferences of the task's reference workload, the efficiency index
(EEI = E_model / E_ref) with its interval, the best qualifying optimized variant and its
grade, and the ranked tactics (`recommendations_json`). `latest_labels.parquet` and
`latest_labels.csv` hold the same rows, ordered, so an unchanged catalog gives the same
files.

- **Scheme**: label scheme {scheme_version} (each row names its `scheme_version`; schemes
  are versioned and immutable).
- **Methods**: energy from the GPU's counter (`nvml`), its polled power (`nvml-power`), the
  CPU's counters (`rapl`) or a TDP × utilisation estimate (`estimate`, never presented as a
  measurement: `estimated` is true). From scheme v2 a reference model is measured beside
  each model in interleaved windows, so the EEI is a paired ratio; `borderline` marks an
  interval that crosses a class boundary.
- **Licence**: the data are CC BY 4.0; each model keeps its own licence.

## Schema (`latest_labels`)

| column | type |
| --- | --- |
{schema}
"""


def _remote_hashes(api: object, repo_id: str, repo_type: str) -> dict[str, tuple[str, str]]:
    """path → (git sha1, LFS sha256 or "") of every file in the repository."""
    from huggingface_hub.hf_api import RepoFile

    found: dict[str, tuple[str, str]] = {}
    for entry in api.list_repo_tree(repo_id, repo_type=repo_type, recursive=True):  # type: ignore[attr-defined]
        if isinstance(entry, RepoFile):
            lfs = entry.lfs.sha256 if entry.lfs else ""
            found[entry.path] = (entry.blob_id, lfs)
    return found


def _unchanged(content: bytes, remote: tuple[str, str] | None) -> bool:
    if remote is None:
        return False
    blob_id, lfs_sha256 = remote
    if lfs_sha256:
        return hashlib.sha256(content).hexdigest() == lfs_sha256
    return git_blob_sha1(content) == blob_id


def publish_files(
    files: dict[str, bytes],
    repo_id: str,
    repo_type: str,
    *,
    token: str,
    endpoint: str | None = None,
    message: str,
) -> RepoPublish:
    """Make the repository hold exactly `files` (besides .gitattributes), in one commit
    holding only what changed; no commit when nothing did. Creates the repository."""
    import httpx2
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.errors import HfHubHTTPError

    what = f"the {repo_type} {repo_id}"
    api = HfApi(endpoint=endpoint, token=token)
    try:
        api.create_repo(
            repo_id,
            repo_type=repo_type,
            exist_ok=True,
            space_sdk="static" if repo_type == "space" else None,
        )
        remote = _remote_hashes(api, repo_id, repo_type)
        operations: list[CommitOperationAdd | CommitOperationDelete] = [
            CommitOperationAdd(path_in_repo=path, path_or_fileobj=content)
            for path, content in sorted(files.items())
            if not _unchanged(content, remote.get(path))
        ]
        uploaded = len(operations)
        stale = sorted(p for p in remote if p not in files and p not in _KEEP_REMOTE)
        operations += [CommitOperationDelete(path_in_repo=path) for path in stale]
        if not operations:
            return RepoPublish(repo_id, repo_type, 0, 0, None)
        with warnings.catch_warnings():
            # The site's own downloads (data/*.parquet) belong in the Space: not a mistake.
            warnings.filterwarnings("ignore", message="It seems that you are about to commit")
            info = api.create_commit(
                repo_id, operations, commit_message=message, repo_type=repo_type
            )
    except HfHubHTTPError as exc:
        raise hub_error(exc, what) from None
    except (httpx2.TransportError, OSError) as exc:  # no answer at all: the network, a timeout
        raise HubError(f"the Hub could not be reached for {what}: {first_line(exc)}") from None
    return RepoPublish(repo_id, repo_type, uploaded, len(stale), str(info.commit_url))


def site_files(site_dir: Path) -> dict[str, bytes]:
    """Every file of the built site, by its path in the Space, with the Space's README."""
    if not (site_dir / "index.html").is_file():
        raise PublishError(f"no built site in {site_dir} (run `labeler site` first)")
    files = {
        path.relative_to(site_dir).as_posix(): path.read_bytes()
        for path in sorted(site_dir.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    }
    files["README.md"] = SPACE_README.encode("utf-8")
    return files


def dataset_files(
    catalog: Catalog, scheme_version: str = DEFAULT_SCHEME_VERSION
) -> dict[str, bytes]:
    """The catalog's `latest_labels` as Parquet and CSV, and the dataset card."""
    with tempfile.TemporaryDirectory(prefix="labeler-publish-") as folder:
        parquet = export_parquet(catalog, Path(folder) / "latest_labels.parquet")
        csv = export_csv(catalog, Path(folder) / "latest_labels.csv")
        files = {
            "latest_labels.parquet": parquet.read_bytes(),
            "latest_labels.csv": csv.read_bytes(),
        }
    files["README.md"] = dataset_card(catalog, scheme_version).encode("utf-8")
    return files


def resolve_token() -> str:
    """The token huggingface_hub would use (HF_TOKEN, the saved login), or `PublishError`."""
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise PublishError(
            "no Hugging Face token: log in with `hf auth login` or set HF_TOKEN (write access)"
        )
    return token


def publish(
    catalog: Catalog,
    site_dir: Path,
    *,
    space: str | None = None,
    dataset: str | None = None,
    endpoint: str | None = None,
) -> list[RepoPublish]:
    """Upload the built site to `space` and the catalog's files to `dataset` (either or both)."""
    if not space and not dataset:
        raise PublishError("give --space ORG/NAME, --dataset ORG/NAME or both")
    for repo_id in (space, dataset):
        if repo_id is not None and repo_id.count("/") != 1:
            raise PublishError(f"a repository id is ORG/NAME, not {repo_id!r}")
    # Everything is read before the first request: a bad site or catalog uploads nothing.
    space_files = site_files(site_dir) if space else None
    data_files = dataset_files(catalog) if dataset else None
    token = resolve_token()
    done: list[RepoPublish] = []
    if space and space_files is not None:
        done.append(
            publish_files(
                space_files,
                space,
                "space",
                token=token,
                endpoint=endpoint,
                message="Update the energy label site",
            )
        )
    if dataset and data_files is not None:
        done.append(
            publish_files(
                data_files,
                dataset,
                "dataset",
                token=token,
                endpoint=endpoint,
                message="Update the energy labels",
            )
        )
    return done


__all__ = ["HubError", "PublishError", "RepoPublish", "publish"]

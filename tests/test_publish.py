"""`labeler publish` against the loopback Hub with the real huggingface_hub client: one
commit per repository and only when something changed, a static Space, a dataset with its
card, errors as one line naming the repository, the token never shown, the catalog never
written."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labeler.cli import app
from labeler.publish import PublishError, publish
from labeler.scan_cycles import publish_after_cycle
from labels.catalog import Catalog
from tests import hub_server
from tests.hub_server import LoopbackHub
from tests.site_catalog import fill_catalog

loopback_hub = hub_server.loopback_hub
TOKEN = "hf_publish_secret_token"
SPACE = "labels-org/energy-labels"
DATASET = "labels-org/energy-labels-data"


@pytest.fixture
def hub(loopback_hub: LoopbackHub, monkeypatch: pytest.MonkeyPatch) -> LoopbackHub:
    loopback_hub.write_tokens.add(TOKEN)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    return loopback_hub


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return fill_catalog(tmp_path / "catalog.duckdb")


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    """A small built site: pages, a badge, a stylesheet in a folder."""
    site = tmp_path / "site"
    (site / "badges" / "org").mkdir(parents=True)
    (site / "static").mkdir()
    (site / "index.html").write_text("<!doctype html><title>labels</title>\n")
    (site / "badges" / "org" / "m.svg").write_text("<svg/>\n")
    (site / "static" / "site.css").write_text("body { margin: 0 }\n")
    (site / "methodology.html").write_text("<p>how</p>\n")
    return site


def _repo(hub: LoopbackHub, repo_type: str, repo_id: str) -> hub_server.HubRepo:
    return hub.repos[(repo_type, repo_id)]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publish_twice_makes_one_commit_each(
    hub: LoopbackHub, catalog: Catalog, site_dir: Path
) -> None:
    first = publish(catalog, site_dir, space=SPACE, dataset=DATASET, endpoint=hub.endpoint)
    assert [r.commit_url is not None for r in first] == [True, True]
    space, data = _repo(hub, "space", SPACE), _repo(hub, "dataset", DATASET)
    assert space.sdk == "static"
    assert space.files["README.md"].startswith(b"---\n")
    assert b"\nsdk: static\n" in space.files["README.md"]
    assert space.files["index.html"] == (site_dir / "index.html").read_bytes()
    assert space.files["badges/org/m.svg"] == b"<svg/>\n"
    assert set(data.files) >= {"latest_labels.parquet", "latest_labels.csv", "README.md"}
    card = data.files["README.md"].decode()
    for needed in ("license: cc-by-4.0", "| `grade` |", "| `scheme_version` |", "rapl"):
        assert needed in card
    assert data.files["latest_labels.csv"].startswith(b"model_id,")
    assert data.files["latest_labels.parquet"][:4] == b"PAR1"

    second = publish(catalog, site_dir, space=SPACE, dataset=DATASET, endpoint=hub.endpoint)
    assert [r.commit_url for r in second] == [None, None]
    assert "unchanged, no commit" in second[0].line()
    assert (len(space.commits), len(data.commits)) == (1, 1)


def test_a_change_commits_only_what_changed(
    hub: LoopbackHub, catalog: Catalog, site_dir: Path
) -> None:
    publish(catalog, site_dir, space=SPACE, endpoint=hub.endpoint)
    (site_dir / "index.html").write_text("<!doctype html><title>labels, new</title>\n")
    (site_dir / "methodology.html").unlink()
    (done,) = publish(catalog, site_dir, space=SPACE, endpoint=hub.endpoint)
    assert (done.uploaded, done.deleted) == (1, 1)
    space = _repo(hub, "space", SPACE)
    assert len(space.commits) == 2
    keys = [line["key"] for line in space.commits[-1]["lines"]]
    assert keys == ["header", "file", "deletedFile"]
    assert "methodology.html" not in space.files
    assert ".gitattributes" in space.files  # the Hub's own file stays


def test_cli_publishes_and_never_shows_the_token(
    hub: LoopbackHub, catalog: Catalog, site_dir: Path
) -> None:
    args = ["publish", "--space", SPACE, "--dataset", DATASET, "--site", str(site_dir)]
    args += ["--catalog", str(catalog.path)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert f"space {SPACE}: 5 uploaded" in first.stdout
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    assert second.stdout.count("unchanged, no commit") == 2
    assert TOKEN not in first.output + second.output
    assert all(r.authorization == f"Bearer {TOKEN}" for r in hub.requests_to("/api/spaces/"))


def _one_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert TOKEN not in result.output
    return lines[0]


def test_no_token_is_one_error_line(
    loopback_hub: LoopbackHub, catalog: Catalog, site_dir: Path
) -> None:
    result = CliRunner().invoke(
        app, ["publish", "--space", SPACE, "--site", str(site_dir), "--catalog", str(catalog.path)]
    )
    assert "no Hugging Face token" in _one_error(result)
    assert loopback_hub.repos == {}


@pytest.mark.parametrize(
    ("prefix", "status", "needle"),
    [
        ("/api/repos/create", "401", "(401)"),
        ("/api/repos/create", "403", "(403)"),
        (f"/api/spaces/{SPACE}/commit", "404", "(404)"),
        (f"/api/spaces/{SPACE}/commit", "403", "(403)"),
    ],
)
def test_hub_refusals_name_the_repository_and_change_nothing(
    hub: LoopbackHub, catalog: Catalog, site_dir: Path, prefix: str, status: str, needle: str
) -> None:
    before = _sha(catalog.path)
    hub.inject(prefix, status)
    result = CliRunner().invoke(
        app, ["publish", "--space", SPACE, "--site", str(site_dir), "--catalog", str(catalog.path)]
    )
    line = _one_error(result)
    assert needle in line and SPACE in line
    assert _sha(catalog.path) == before
    repo = hub.repos.get(("space", SPACE))
    assert repo is None or repo.commits == []


def test_bad_input_before_any_request(
    hub: LoopbackHub, catalog: Catalog, tmp_path: Path, site_dir: Path
) -> None:
    with pytest.raises(PublishError, match="no built site"):
        publish(catalog, tmp_path / "nothing", space=SPACE, endpoint=hub.endpoint)
    with pytest.raises(PublishError, match="ORG/NAME"):
        publish(catalog, site_dir, dataset="no-slash", endpoint=hub.endpoint)
    with pytest.raises(PublishError, match="--space"):
        publish(catalog, site_dir, endpoint=hub.endpoint)
    assert hub.requests_to("/api/") == []


def test_a_schedule_cycle_logs_a_failed_publish_and_goes_on(
    hub: LoopbackHub, catalog: Catalog, site_dir: Path
) -> None:
    line = "; ".join(publish_after_cycle(catalog.path, site_dir, SPACE, DATASET))
    assert f"space {SPACE}: 5 uploaded" in line and f"dataset {DATASET}: 3 uploaded" in line
    assert "unchanged, no commit" in publish_after_cycle(catalog.path, site_dir, SPACE, None)[0]
    hub.inject(f"/api/datasets/{DATASET}/tree", "403")
    (site_dir / "index.html").write_text("changed\n")
    space_line, dataset_line = publish_after_cycle(catalog.path, site_dir, SPACE, DATASET)
    assert space_line.startswith(f"space {SPACE}: 1 uploaded")  # the Space went on
    assert dataset_line.startswith("publish failed: ") and DATASET in dataset_line
    assert publish_after_cycle(catalog.path, site_dir, None, None) == ()


def test_an_unreachable_hub_is_one_error_line(
    catalog: Catalog, site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = LoopbackHub()
    endpoint = closed.endpoint
    closed.close()  # nothing listens there any more
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    result = CliRunner().invoke(
        app, ["publish", "--space", SPACE, "--site", str(site_dir), "--catalog", str(catalog.path)]
    )
    assert "could not be reached" in _one_error(result)


@pytest.mark.slow
def test_schedule_publishes_every_cycle(hub: LoopbackHub, tmp_path: Path) -> None:
    from tests.tiny_models import TINY_BERT, build_tiny_model

    build_tiny_model(TINY_BERT, tmp_path / "models" / "org" / "tiny")
    args = ["schedule", "--once", "--source", str(tmp_path / "models"), "--tactic", "baseline"]
    args += ["--windows", "1", "--window-s", "0.05", "--executor", "inprocess"]
    args += ["--out", str(tmp_path / "site"), "--catalog", str(tmp_path / "catalog.duckdb")]
    args += ["--publish-space", SPACE, "--publish-dataset", DATASET]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"space {SPACE}: " in result.output and f"dataset {DATASET}: " in result.output
    assert TOKEN not in result.output
    space, data = _repo(hub, "space", SPACE), _repo(hub, "dataset", DATASET)
    assert (len(space.commits), len(data.commits)) == (1, 1)
    assert "index.html" in space.files
    assert b"org/tiny" in data.files["latest_labels.csv"]

"""Hub discovery keeps going through rate limits, server errors, drops and slow answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.discovery.base import DiscoveryError
from scanner.discovery.hub import discover_hub_models
from scanner.discovery.hub_retry import RetryPolicy
from tests import hub_server
from tests.hub_server import LoopbackHub

loopback_hub = hub_server.loopback_hub
tiny_bert_files = hub_server.tiny_bert_files

TASK = "text-classification"


@pytest.fixture
def sleeps_s() -> list[float]:
    return []


@pytest.fixture
def policy(sleeps_s: list[float]) -> RetryPolicy:
    return RetryPolicy(max_tries=4, base_delay_s=0.5, max_delay_s=10, sleep=sleeps_s.append)


def model_info_path(repo_id: str) -> str:
    return f"/api/models/{repo_id}"


def test_429_with_retry_after_then_success(
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    tmp_path: Path,
    policy: RetryPolicy,
    sleeps_s: list[float],
) -> None:
    loopback_hub.add_model("org/tiny", tiny_bert_files)
    loopback_hub.inject(model_info_path("org/tiny"), "429", times=1, retry_after_s=7)

    (ref,) = discover_hub_models([TASK], 1, cache_dir=tmp_path, retry=policy)

    assert ref.path is not None and ref.skip_reason is None
    assert sleeps_s == [7.0]


def test_retry_after_is_capped(
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    tmp_path: Path,
    policy: RetryPolicy,
    sleeps_s: list[float],
) -> None:
    loopback_hub.add_model("org/tiny", tiny_bert_files)
    loopback_hub.inject(model_info_path("org/tiny"), "429", times=1, retry_after_s=3600)

    (ref,) = discover_hub_models([TASK], 1, cache_dir=tmp_path, retry=policy)

    assert ref.path is not None
    assert sleeps_s == [10.0]


def test_two_500s_then_success_backs_off_exponentially(
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    tmp_path: Path,
    policy: RetryPolicy,
    sleeps_s: list[float],
) -> None:
    loopback_hub.add_model("org/tiny", tiny_bert_files)
    loopback_hub.inject(model_info_path("org/tiny"), "500", times=2)

    (ref,) = discover_hub_models([TASK], 1, cache_dir=tmp_path, retry=policy)

    assert ref.path is not None
    assert sleeps_s == [0.5, 1.0]


def test_persistent_500_skips_that_model_and_the_others_go_on(
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    tmp_path: Path,
    policy: RetryPolicy,
    sleeps_s: list[float],
) -> None:
    loopback_hub.add_model("org/first", tiny_bert_files, downloads=3)
    loopback_hub.add_model("org/broken", tiny_bert_files, downloads=2)
    loopback_hub.add_model("org/last", tiny_bert_files, downloads=1)
    loopback_hub.inject(model_info_path("org/broken"), "503", times=1000)

    first, broken, last = discover_hub_models([TASK], 3, cache_dir=tmp_path, retry=policy)

    assert broken.skip_reason == "hub error: HTTP 503" and broken.path is None
    assert first.path is not None and last.path is not None
    assert len(loopback_hub.requests_to(model_info_path("org/broken"))) == 4
    assert sleeps_s == [0.5, 1.0, 2.0]


def test_dropped_connection_is_retried(
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    tmp_path: Path,
    policy: RetryPolicy,
    sleeps_s: list[float],
) -> None:
    loopback_hub.add_model("org/tiny", tiny_bert_files)
    loopback_hub.inject(model_info_path("org/tiny"), "drop", times=1)

    (ref,) = discover_hub_models([TASK], 1, cache_dir=tmp_path, retry=policy)

    assert ref.path is not None
    assert sleeps_s == [0.5]


def test_dropped_file_download_is_resumed_by_the_client(
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    tmp_path: Path,
    policy: RetryPolicy,
) -> None:
    served = loopback_hub.add_model("org/tiny", tiny_bert_files)
    loopback_hub.inject(f"/org/tiny/resolve/{served.sha}/model.safetensors", "drop", times=2)

    (ref,) = discover_hub_models([TASK], 1, cache_dir=tmp_path, retry=policy)

    assert ref.path is not None
    assert (ref.path / "model.safetensors").read_bytes() == tiny_bert_files["model.safetensors"]


def test_slow_answer_times_out_and_is_retried(
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    tmp_path: Path,
    sleeps_s: list[float],
) -> None:
    loopback_hub.add_model("org/tiny", tiny_bert_files)
    # The server holds the answer until it closes: only the client's timeout ends the wait.
    loopback_hub.inject(model_info_path("org/tiny"), "slow", times=1, delay_s=600)
    policy = RetryPolicy(timeout_s=0.5, sleep=sleeps_s.append)

    (ref,) = discover_hub_models([TASK], 1, cache_dir=tmp_path, retry=policy)

    assert ref.path is not None
    assert sleeps_s == [0.5]


def test_persistent_timeout_skips_the_model(
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    tmp_path: Path,
    sleeps_s: list[float],
) -> None:
    loopback_hub.add_model("org/tiny", tiny_bert_files)
    loopback_hub.inject(model_info_path("org/tiny"), "slow", times=100, delay_s=600)
    policy = RetryPolicy(max_tries=2, timeout_s=0.2, sleep=sleeps_s.append)

    (ref,) = discover_hub_models([TASK], 1, cache_dir=tmp_path, retry=policy)

    assert ref.path is None
    assert ref.skip_reason is not None and ref.skip_reason.startswith("hub error: ReadTimeout")


def test_failing_tree_listing_skips_the_model(
    loopback_hub: LoopbackHub,
    tiny_bert_files: dict[str, bytes],
    tmp_path: Path,
    policy: RetryPolicy,
) -> None:
    served = loopback_hub.add_model("org/tiny", tiny_bert_files)
    loopback_hub.inject(f"/api/models/org/tiny/tree/{served.sha}", "500", times=1000)

    (ref,) = discover_hub_models([TASK], 1, cache_dir=tmp_path, retry=policy)

    assert ref.path is None and ref.skip_reason == "hub error: HTTP 500"


def test_listing_rate_limit_is_waited_out_by_the_client(
    loopback_hub: LoopbackHub, tiny_bert_files: dict[str, bytes]
) -> None:
    loopback_hub.add_model("org/tiny", tiny_bert_files)
    loopback_hub.inject("/api/models", "429", times=1, retry_after_s=2)

    refs = list(discover_hub_models([TASK], 1, fetch=False))

    assert [ref.model_id for ref in refs] == ["org/tiny"]
    assert loopback_hub.library_sleeps_s == [3.0]  # huggingface_hub waits Retry-After + 1 s


def test_listing_failure_raises_one_clear_line(
    loopback_hub: LoopbackHub, tiny_bert_files: dict[str, bytes]
) -> None:
    loopback_hub.add_model("org/tiny", tiny_bert_files)
    loopback_hub.inject("/api/models", "500", times=1000)

    with pytest.raises(DiscoveryError) as raised:
        list(discover_hub_models([TASK], 1, fetch=False))

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"cannot list '{TASK}' models on {loopback_hub.endpoint}")
    assert message.endswith("HTTP 500")


def test_unreachable_hub_raises_discovery_error(
    loopback_hub: LoopbackHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    loopback_hub.close()  # nothing listens on the port any more

    with pytest.raises(DiscoveryError, match="cannot list"):
        list(discover_hub_models([TASK], 1, fetch=False))

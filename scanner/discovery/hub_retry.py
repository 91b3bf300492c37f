"""Bounded retries with exponential backoff for calls to the Hugging Face Hub.

The Hub rate-limits (429 with Retry-After), has bad minutes (5xx) and drops connections. One
transient error must not cost a model its place in a scan, and a dead Hub must not stall the
scan for hours, so each call gets a few tries with a capped wait. The sleep function lives in
the policy so tests can record the waits instead of spending them.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import httpx2
from huggingface_hub.errors import HfHubHTTPError

logger = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_STATUS_CODES = frozenset({408, 429, 500, 502, 503, 504})
# Timeouts, connection refused/reset and a server closing the socket mid-response.
RETRYABLE_EXCEPTIONS: tuple[type[BaseException], ...] = (
    httpx2.TimeoutException,
    httpx2.NetworkError,
    httpx2.RemoteProtocolError,
    TimeoutError,
    ConnectionError,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one Hub call before giving up on it.

    `max_tries` counts the first call. Waits grow `base_delay_s`, 2×, 4×… and, like a
    Retry-After the server asks for, never exceed `max_delay_s`. `timeout_s` bounds each
    request that lets us pass a timeout.
    """

    max_tries: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    timeout_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep


def transient_cause(error: BaseException) -> BaseException | None:
    """The transient error in `error`'s cause chain, or None when retrying cannot help.

    huggingface_hub wraps network failures (snapshot_download raises LocalEntryNotFoundError
    "from" the real one), so the whole chain is searched.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, HfHubHTTPError):
            response = current.response
            if response is not None and response.status_code in RETRYABLE_STATUS_CODES:
                return current
        elif isinstance(current, RETRYABLE_EXCEPTIONS):
            return current
        current = current.__cause__ or current.__context__
    return None


def retry_after_s(error: BaseException) -> float | None:
    """Seconds the server asked us to wait (Retry-After as seconds or an HTTP date), if any."""
    response = getattr(error, "response", None)
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def describe_error(error: BaseException) -> str:
    """One short line naming a Hub error, for skip reasons and logs (no URLs with tokens)."""
    response = getattr(error, "response", None)
    if isinstance(error, HfHubHTTPError) and response is not None:
        return f"HTTP {response.status_code}"
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    name = type(error).__name__
    return f"{name}: {text}"[:200] if text else name


def call_with_retries(call: Callable[[], T], *, policy: RetryPolicy, what: str) -> T:
    """Run `call`, retrying transient Hub errors per `policy`; re-raise the last error."""
    delay_s = policy.base_delay_s
    for attempt in range(1, policy.max_tries + 1):
        try:
            return call()
        except Exception as error:
            cause = transient_cause(error)
            if cause is None or attempt == policy.max_tries:
                raise
            asked_s = retry_after_s(cause)
            wait_s = min(policy.max_delay_s, asked_s if asked_s is not None else delay_s)
            logger.warning(
                "%s failed (%s), try %d/%d; retrying in %.1f s",
                what,
                describe_error(cause),
                attempt,
                policy.max_tries,
                wait_s,
            )
            policy.sleep(wait_s)
            delay_s = min(policy.max_delay_s, delay_s * 2)
    raise AssertionError("unreachable: the loop returns or raises")

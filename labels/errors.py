"""The one base class for errors a user should see as one line, and nothing else.

Every error the user can cause (a bad option, a missing file, a locked catalog, a Hub
refusal) derives from `LabelerError`, so the CLI catches this one class and prints
`error: <message>` with exit status 2 instead of keeping a list by hand. It lives in
`labels` because `labels`, `scanner` and `labeler` all raise it and `labels` imports
nothing of the others.
"""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type name when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class LabelerError(Exception):
    """An error whose message is a complete sentence for the user; the CLI exits 2."""

    exit_code = 2

    def one_line(self) -> str:
        """The message on one line (a long path or a Hub reply can hold newlines)."""
        return " ".join(str(self).split()) or type(self).__name__


class HubError(LabelerError):
    """The Hugging Face Hub refused or failed a request; `status` is its HTTP status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


# What each refusal means for the user, and what to do about it.
HUB_STATUS_MESSAGES = {
    401: "the Hub did not accept the credentials (401) for {what}: "
    "log in with `hf auth login` or set HF_TOKEN",
    403: "no permission on the Hub (403) for {what}: the token needs write access "
    "to the repository (or pass --create-pr where pull requests are open)",
    404: "not found on the Hub (404): {what}",
    429: "the Hub is rate-limiting requests (429) for {what}: wait a while and try again",
}


def hub_error(exc: BaseException, what: str) -> HubError:
    """A `HubError` for an HTTP error from huggingface_hub (read by its response status).

    Duck-typed on `exc.response.status_code`, so `labels` needs no huggingface_hub import.
    """
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status in HUB_STATUS_MESSAGES:
        return HubError(HUB_STATUS_MESSAGES[status].format(what=what), status)
    where = f" (HTTP {status})" if status else ""
    return HubError(f"the Hub request for {what} failed{where}: {first_line(exc)}", status)

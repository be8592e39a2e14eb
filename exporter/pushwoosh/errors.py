"""The typed errors of the Pushwoosh client.

Every error carries ``reason``: the value of the ``reason`` label of
``pushwoosh_api_request_failures_total`` (``timeout``, ``http_5xx``, ``rate_limited``,
``auth``, ``argument``, ``malformed``). Messages never contain the API token.

A :class:`MalformedResponse` also says where the answer went wrong (``path``, as in
``response.rows[3].count``) and shows what came back (``body_start``, filled in by the
transport with the token already removed), so a surprise from the API is diagnosable from
the log line or the landing page alone.
"""

import re
from typing import ClassVar

_LEADING_PATH = re.compile(r"([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*|\[\d+\])*) (?:is|has|are)\b")
"""A message that starts with a JSON path (``response.rows[3].count is not a count``)."""


class PushwooshError(Exception):
    """Base class: one failed call of the Pushwoosh API, with a one-line message."""

    reason: ClassVar[str] = "malformed"

    def __init__(self, message: str, *, method: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.message = message

    def __str__(self) -> str:
        return f"{self.method}: {self.message}" if self.method else self.message


class AuthError(PushwooshError):
    """Token wrong or not allowed: status_code 403, HTTP 401/403, 210 'Account not found'."""

    reason = "auth"


class ArgumentError(PushwooshError):
    """The API rejected an argument: status_code 210, HTTP 400/404."""

    reason = "argument"


class RateLimited(PushwooshError):
    """HTTP 429; ``retry_after`` is the server's ``Retry-After`` in seconds, if given."""

    reason = "rate_limited"

    def __init__(self, message: str, *, method: str = "", retry_after: float | None = None):
        super().__init__(message, method=method)
        self.retry_after = retry_after


class ServerError(PushwooshError):
    """HTTP 5xx or JSON status_code 500."""

    reason = "http_5xx"


class ApiTimeout(PushwooshError):
    """The request timed out or the connection was refused."""

    reason = "timeout"


class MalformedResponse(PushwooshError):
    """The body is not the documented shape (not JSON, missing fields, wrong types).

    ``path`` is the JSON path that failed (``body`` for the whole answer); when not given,
    it is read from a message that starts with one, as the parsers' messages do.
    ``body_start`` is the start of the answer's body with the token removed, or None when
    no body was read (the transport sets it).
    """

    reason = "malformed"

    def __init__(self, message: str, *, method: str = "", path: str | None = None) -> None:
        super().__init__(message, method=method)
        if path is None:
            match = _LEADING_PATH.match(message)
            path = match.group(1) if match else ""
        self.path = path
        self.body_start: str | None = None


class ResultsTimeout(PushwooshError):
    """A scheduled job's getResults was still pending after ``results_timeout``."""

    reason = "timeout"

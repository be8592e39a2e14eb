"""The typed errors of the Pushwoosh client.

Every error carries ``reason``: the value of the ``reason`` label of
``pushwoosh_api_request_failures_total`` (``timeout``, ``http_5xx``, ``rate_limited``,
``auth``, ``argument``, ``malformed``). Messages never contain the API token.
"""

from typing import ClassVar


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
    """The body is not the documented shape (not JSON, missing fields, wrong types)."""

    reason = "malformed"


class ResultsTimeout(PushwooshError):
    """A scheduled job's getResults was still pending after ``results_timeout``."""

    reason = "timeout"

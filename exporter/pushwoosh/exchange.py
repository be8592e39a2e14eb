"""What the transport shows a recorder: one HTTP attempt, request and raw answer.

The transport builds an :class:`Exchange` for every attempt, with the API token already
removed from the URL, the headers, the request body and the answer, and hands it to the
:class:`ExchangeRecorder` the client was given (``--probe.dump`` writes each to a file).
A streamed answer (a tag file) is not held whole: the recorder gives a :class:`BodyFile`
that the transport writes it to as it arrives, and the exchange then names that file.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

KEPT_HEADERS = (
    "Content-Type",
    "Content-Length",
    "Content-Encoding",
    "Retry-After",
    "Date",
    "Location",
    "Server",
    "X-Request-Id",
)
"""Answer headers an :class:`Exchange` keeps: what explains a body, a retry or a proxy."""


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP attempt as it went over the wire, the token already removed everywhere."""

    method: str
    """The API method (``getResults``, ``tagFile`` for a tag file download)."""
    attempt: int
    """1 for the first try, then one more per retry."""
    http_method: str
    url: str
    request_headers: Mapping[str, str]
    request_body: object
    """The JSON body sent, or None for a GET."""
    started: float
    """Clock time (Unix seconds) when the attempt began."""
    seconds: float
    status: int | None = None
    """HTTP status; None when no answer came (timeout, refused connection)."""
    response_headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None
    """The body as read (after any Content-Encoding); None when no answer came or the
    answer was streamed."""
    body_file: "BodyFile | None" = None
    """Where a streamed answer's body was written as it arrived, if the recorder kept it."""
    failure: str | None = None
    """The failure reason when the attempt failed, else None."""
    error: str | None = None
    """The failure's message."""


class BodyFile(Protocol):
    """A streamed answer's body, written as it arrives, the token already removed."""

    size: int
    """Bytes written so far."""

    async def write(self, data: bytes) -> None:
        """Append the next part of the body."""
        ...

    async def close(self) -> None:
        """The body is complete, or the attempt ended; safe to call twice."""
        ...


class ExchangeRecorder(Protocol):
    """Told about every HTTP attempt with its full request and answer (``--probe.dump``)."""

    async def open_body(self) -> BodyFile | None:
        """Where to write the body of a streamed answer as it arrives, or None to not keep
        it; the exchange recorded afterwards names it in ``body_file``."""
        ...

    async def record(self, exchange: Exchange) -> None:
        """Keep one attempt; called after its outcome is known, outside the limiter slot."""
        ...

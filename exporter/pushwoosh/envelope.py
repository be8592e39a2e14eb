"""The envelope of every answer: HTTP status, JSON ``status_code``, typed errors.

Pure functions from what came over the wire to either a payload or a typed error of
:mod:`exporter.pushwoosh.errors`. The mapping follows the README's failure reasons:

=====================================================  ===================
5xx                                                    :class:`ServerError`
429                                                    :class:`RateLimited`
401, 403, ``status_code`` 210 about the token           :class:`AuthError`
other 4xx, other ``status_code`` 210                    :class:`ArgumentError`
not JSON, not an envelope, any other code, 420          :class:`MalformedResponse`
=====================================================  ===================

An HTTP status and a JSON ``status_code`` mean the same: both are looked up in one table,
:data:`STATUS_ERRORS`. A :class:`MalformedResponse` raised here names its JSON path the way
the parsers do: ``body`` is the whole answer, ``status_code`` and ``error.code`` the
envelope's fields.
"""

import json
import re
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Final

from exporter.pushwoosh.errors import (
    ArgumentError,
    AuthError,
    MalformedResponse,
    PushwooshError,
    RateLimited,
    ServerError,
)

OK = 200
PENDING = 420
"""``status_code`` of getResults while the job is still running."""

_TOKEN_TROUBLE = re.compile(r"\baccount\b|\btoken\b", re.IGNORECASE)
"""A 210 whose message names the account or the token is an authentication failure."""

_MAX_DETAIL = 200

STATUS_ERRORS: Final[tuple[tuple[range, type[PushwooshError]], ...]] = (
    (range(210, 211), ArgumentError),  # AuthError when its message names the token
    (range(401, 402), AuthError),
    (range(403, 404), AuthError),
    (range(420, 421), MalformedResponse),  # still processing: only getResults may say so
    (range(429, 430), RateLimited),
    (range(400, 500), ArgumentError),
    (range(500, 1000), ServerError),
)
"""The error of a failed HTTP status or JSON ``status_code``: the first row holding the
code wins; a code of no row is an unexpected answer (:class:`MalformedResponse`)."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """A JSON API 1.3 answer: ``status_code``, ``status_message`` and ``response``."""

    status_code: int
    message: str
    response: object


def decode_json(method: str, body: bytes) -> object:
    """Parse a body as JSON, or raise :class:`MalformedResponse`."""
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise MalformedResponse(
            f"body is not JSON ({len(body)} bytes)", method=method, path="body"
        ) from None


def read_envelope(method: str, document: object) -> Envelope:
    """The envelope of a 1.3 answer: the current shape or the legacy ``error``/``json_data``."""
    if not isinstance(document, dict):
        raise MalformedResponse("body is not a JSON object", method=method, path="body")
    if "status_code" in document:
        code = _status_code(method, document["status_code"], "status_code")
        message = _text(document.get("status_message"))
        return Envelope(code, message, document.get("response"))
    error = document.get("error")
    if isinstance(error, dict) and "code" in error:
        code = _status_code(method, error["code"], "error.code")
        # The legacy envelope says OK with code 0.
        return Envelope(
            OK if code == 0 else code, _text(error.get("message")), document.get("json_data")
        )
    raise MalformedResponse(
        "body has neither status_code nor error.code", method=method, path="body"
    )


def check_status(method: str, envelope: Envelope, *, pending_ok: bool = False) -> bool:
    """Raise the typed error of a failed ``status_code``; True when the job is still pending."""
    code, message = envelope.status_code, envelope.message
    if code == OK:
        return False
    if code == PENDING and pending_ok:
        return True
    detail = f"status_code {code}: {_clip(message) or 'no message'}"
    raise status_error(method, code, detail, message, path="status_code")


def http_error(
    method: str, status: int, body: bytes, retry_after: str | None, now: float
) -> PushwooshError | None:
    """The typed error of a non-2xx HTTP status, or None for a success status."""
    if 200 <= status < 300:
        return None
    detail = f"HTTP {status}"
    message = _body_message(body)
    if message:
        detail = f"{detail}: {_clip(message)}"
    return status_error(method, status, detail, message, parse_retry_after(retry_after, now))


def status_error(
    method: str,
    code: int,
    detail: str,
    message: str = "",
    retry_after: float | None = None,
    *,
    path: str = "",
) -> PushwooshError:
    """The typed error of a failed ``code`` (:data:`STATUS_ERRORS`); ``detail`` is its text,
    ``message`` the server's own words, ``retry_after`` the seconds a 429 asks to wait,
    ``path`` where an unexpected code was found (``status_code`` in a JSON envelope)."""
    error = next((error for codes, error in STATUS_ERRORS if code in codes), MalformedResponse)
    if code == 210 and _TOKEN_TROUBLE.search(message):
        error = AuthError
    if error is RateLimited:
        return RateLimited(detail, method=method, retry_after=retry_after)
    if error is MalformedResponse:
        return MalformedResponse(f"unexpected {detail}", method=method, path=path)
    return error(detail, method=method)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - now
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


def _status_code(method: str, value: object, where: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"[ \t]*[0-9]{1,9}[ \t]*", value):
        return int(value)
    raise MalformedResponse(f"{where} is not a number", method=method, path=where)


def _body_message(body: bytes) -> str:
    """The ``message``/``status_message`` of a JSON error body, if there is one."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return ""
    if not isinstance(document, dict):
        return ""
    for key in ("status_message", "message"):
        if isinstance(document.get(key), str):
            return str(document[key])
    return ""


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _clip(text: str) -> str:
    """One short line of server text for an exception message."""
    line = " ".join(text.split())
    return line if len(line) <= _MAX_DETAIL else line[: _MAX_DETAIL - 1] + "…"

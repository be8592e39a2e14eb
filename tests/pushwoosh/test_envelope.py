"""The envelope: JSON status_code and HTTP status to typed errors, as the README's reasons say."""

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.pushwoosh.envelope import (
    Envelope,
    check_status,
    decode_json,
    http_error,
    parse_retry_after,
    read_envelope,
)
from exporter.pushwoosh.errors import (
    ArgumentError,
    AuthError,
    MalformedResponse,
    PushwooshError,
    RateLimited,
    ServerError,
)

NOW = 1_796_000_000.0


def envelope_of(text: str) -> Envelope:
    return read_envelope("getAppStats", decode_json("getAppStats", text.encode()))


def test_ok_envelope_carries_the_response() -> None:
    envelope = envelope_of(
        '{"status_code": 200, "status_message": "OK", "response": {"request_id": "c93a"}}'
    )
    assert envelope == Envelope(200, "OK", {"request_id": "c93a"})
    assert check_status("getAppStats", envelope) is False


def test_legacy_envelope_is_accepted() -> None:
    envelope = envelope_of('{"error": {"code": 0, "message": "OK"}, "json_data": {"a": 1}}')
    assert envelope == Envelope(200, "OK", {"a": 1})
    assert check_status("getAppStats", envelope) is False


def test_legacy_envelope_with_an_error_code_is_an_error() -> None:
    envelope = envelope_of(
        '{"error": {"code": 210, "message": "Application not found"}, "json_data": null}'
    )
    with pytest.raises(ArgumentError, match="Application not found"):
        check_status("getAppStats", envelope)


def test_status_code_as_a_string_is_read() -> None:
    assert envelope_of('{"status_code": "200", "response": null}').status_code == 200


@pytest.mark.parametrize(
    ("code", "message", "error"),
    [
        (210, "Application not found", ArgumentError),
        (210, "Message not found", ArgumentError),
        (210, "Cannot parse date", ArgumentError),
        (210, "Account not found", AuthError),
        (210, "API token or application is not set", AuthError),
        (403, "Token restrictions forbid this operation", AuthError),
        (500, "Internal error", ServerError),
        (420, "Request is still being processed", MalformedResponse),
        (302, "Moved", MalformedResponse),
    ],
)
def test_status_code_maps_to_the_failure_reason_of_the_spec(
    code: int, message: str, error: type[PushwooshError]
) -> None:
    with pytest.raises(error) as caught:
        check_status("getAppStats", Envelope(code, message, None))
    assert caught.type is error
    assert str(caught.value).startswith("getAppStats: ")
    assert str(caught.value).endswith(f"status_code {code}: {message}")


def test_status_code_420_is_pending_only_where_allowed() -> None:
    assert check_status("getResults", Envelope(420, "", None), pending_ok=True) is True


@pytest.mark.parametrize(
    "text",
    [
        "<html>Bad gateway</html>",
        "[]",
        '{"response": {}}',
        '{"status_code": true, "response": {}}',
        '{"status_code": "OK"}',
        '{"error": "boom"}',
    ],
)
def test_a_body_that_is_not_an_envelope_is_malformed(text: str) -> None:
    with pytest.raises(MalformedResponse):
        envelope_of(text)


@pytest.mark.parametrize(
    ("status", "error", "reason"),
    [
        (500, ServerError, "http_5xx"),
        (503, ServerError, "http_5xx"),
        (429, RateLimited, "rate_limited"),
        (401, AuthError, "auth"),
        (403, AuthError, "auth"),
        (400, ArgumentError, "argument"),
        (404, ArgumentError, "argument"),
    ],
)
def test_http_status_maps_to_the_failure_reason_of_the_spec(
    status: int, error: type[PushwooshError], reason: str
) -> None:
    found = http_error("getSubscribersStatistics", status, b"not json", None, NOW)
    assert type(found) is error
    assert found.reason == reason
    assert str(found) == f"getSubscribersStatistics: HTTP {status}"


def test_http_error_quotes_the_message_of_a_json_body() -> None:
    body = json.dumps({"code": 404, "message": "Application not found"}).encode()
    found = http_error("getSubscribersStatistics", 404, body, None, NOW)
    assert str(found) == "getSubscribersStatistics: HTTP 404: Application not found"


def test_success_statuses_are_no_error() -> None:
    assert http_error("getAppStats", 200, b"", None, NOW) is None


def test_rate_limited_carries_retry_after() -> None:
    found = http_error("getAppStats", 429, b"", "3", NOW)
    assert isinstance(found, RateLimited)
    assert found.retry_after == 3.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        (" 0.5 ", 0.5),
        ("-4", 0.0),
        ("Sat, 01 Dec 2026 00:00:30 GMT", 30.0),
        ("soon", None),
        ("", None),
        (None, None),
        ("nan", None),
    ],
)
def test_retry_after_is_delta_seconds_or_an_http_date(
    header: str | None, seconds: float | None
) -> None:
    now = 1_796_083_200.0  # 2026-12-01 00:00:00 UTC
    assert parse_retry_after(header, now) == seconds


@settings(max_examples=300, deadline=None)
@given(body=st.binary(max_size=80) | st.from_regex(r'\{"(status_code|error)": .{0,20}\}'))
def test_envelope_on_arbitrary_bytes_raises_only_pushwoosh_errors(body: bytes | str) -> None:
    raw = body.encode() if isinstance(body, str) else body
    with contextlib.suppress(PushwooshError):
        check_status("getResults", read_envelope("getResults", decode_json("getResults", raw)))


@pytest.mark.parametrize("code", [302, 400, 401, 403, 404, 418, 420, 429, 500, 503, 999])
def test_an_http_status_and_a_status_code_map_to_the_same_error(code: int) -> None:
    from_http = http_error("getAppStats", code, b"", None, NOW)
    with pytest.raises(PushwooshError) as from_envelope:
        check_status("getAppStats", Envelope(code, "", None))
    assert type(from_http) is from_envelope.type

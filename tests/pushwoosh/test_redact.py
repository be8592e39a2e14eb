"""The token never survives into what the client shows, and unreadable answers say where
they went wrong."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exporter.pushwoosh.envelope import check_status, decode_json, read_envelope
from exporter.pushwoosh.errors import MalformedResponse
from exporter.pushwoosh.redact import BODY_START_BYTES, TOKEN_MARK, TokenScrubber

TOKEN = "pw/SECRET-\u00e9-0f9e8d7c6b5a"
FORMS = [
    TOKEN,
    json.dumps(TOKEN)[1:-1],  # \u00e9
    json.dumps(TOKEN)[1:-1].replace("/", "\\/"),  # PHP's escaped slashes
    json.dumps(TOKEN, ensure_ascii=False)[1:-1],
]


@pytest.mark.parametrize("offset", range(BODY_START_BYTES - len(TOKEN.encode()), BODY_START_BYTES))
def test_a_token_cut_at_the_border_does_not_leak_its_first_half(offset: int) -> None:
    body = b"x" * offset + TOKEN.encode() + b"y" * 100
    shown = TokenScrubber(TOKEN).body_start(body)
    assert len(shown.encode()) <= BODY_START_BYTES
    assert shown.startswith("x" * offset)
    for size in range(4, len(TOKEN) + 1):
        assert TOKEN[:size] not in shown


@pytest.mark.parametrize(
    "written",
    [
        TOKEN,
        json.dumps(TOKEN)[1:-1],  # \u00e9
        json.dumps(TOKEN)[1:-1].replace("/", "\\/"),  # PHP's escaped slashes
        json.dumps(TOKEN, ensure_ascii=False)[1:-1],
    ],
)
def test_every_json_form_of_the_token_is_removed(written: str) -> None:
    scrubber = TokenScrubber(TOKEN)
    body = f'{{"message": "bad token {written}"}}'
    clean = f'{{"message": "bad token {TOKEN_MARK}"}}'
    assert scrubber.clean_bytes(body.encode()) == clean.encode()
    assert scrubber.clean_text(body) == clean


def test_request_bodies_lose_the_token_in_keys_and_values() -> None:
    scrubber = TokenScrubber(TOKEN)
    request = {"request": {"auth": TOKEN, "applications": [TOKEN, "A"], TOKEN: 1}}
    assert scrubber.clean_json(request) == {
        "request": {"auth": TOKEN_MARK, "applications": [TOKEN_MARK, "A"], TOKEN_MARK: 1}
    }


def test_an_empty_secret_changes_nothing() -> None:
    assert TokenScrubber("").body_start(b"abc") == "abc"


def test_a_body_cut_inside_a_character_is_still_text() -> None:
    shown = TokenScrubber(TOKEN).body_start(b"a" * 299 + "\u00e9".encode())
    assert shown == "a" * 299 + "\ufffd"


@pytest.mark.parametrize(
    ("message", "path"),
    [
        ("response.rows[3].count is not a count", "response.rows[3].count"),
        ("applications is missing", "applications"),
        ("points[0].timestamp is not a time", "points[0].timestamp"),
        ("no request_id in the answer", ""),
        ("tag file line 3 has 4 fields", ""),
    ],
)
def test_malformed_response_reads_the_path_its_message_starts_with(message: str, path: str) -> None:
    assert MalformedResponse(message, method="getAppStats").path == path


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b"<html>upstream error</html>", "body"),
        (b"[1, 2]", "body"),
        (b'{"response": {}}', "body"),
        (b'{"status_code": "two hundred"}', "status_code"),
        (b'{"error": {"code": true}}', "error.code"),
        (b'{"status_code": 302, "status_message": "Moved"}', "status_code"),
    ],
)
def test_envelope_errors_name_their_path(body: bytes, path: str) -> None:
    with pytest.raises(MalformedResponse) as caught:
        check_status("getAppStats", read_envelope("getAppStats", decode_json("getAppStats", body)))
    assert (caught.value.method, caught.value.path) == ("getAppStats", path)
    assert path in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(
        st.sampled_from([b"x", b"ab;1\n", b"\\/", *(form.encode() for form in FORMS)])
        | st.sampled_from([form.encode() for form in FORMS]).map(lambda f: f[: len(f) // 2]),
        max_size=12,
    ),
    cuts=st.lists(st.integers(0, 400), max_size=8),
)
def test_a_body_scrubbed_piece_by_piece_equals_the_body_scrubbed_whole(
    parts: list[bytes], cuts: list[int]
) -> None:
    scrubber = TokenScrubber(TOKEN)
    body = b"".join(parts)
    stream, shown, start = scrubber.stream(), b"", 0
    for cut in sorted(c for c in set(cuts) if c <= len(body)):
        shown += stream.feed(body[start:cut])
        start = cut
    shown += stream.feed(body[start:]) + stream.finish()
    assert shown == scrubber.clean_bytes(body)


def test_the_start_of_a_body_needs_only_its_head_bytes() -> None:
    scrubber = TokenScrubber(TOKEN)
    body = TOKEN.encode() * 1000 + b"tail" * 1000
    head = body[: scrubber.head_bytes()]
    assert scrubber.body_start(head) == scrubber.body_start(body)
    assert TokenScrubber("").stream().feed(b"abc") == b"abc"

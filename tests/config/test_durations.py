"""Durations as users write them in the config: the accepted forms and the rejected ones."""

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.config.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500ms", timedelta(milliseconds=500)),
        ("10s", timedelta(seconds=10)),
        ("15m", timedelta(minutes=15)),
        ("6h", timedelta(hours=6)),
        ("2d", timedelta(days=2)),
        ("1h30m", timedelta(minutes=90)),
        ("1m30s", timedelta(seconds=90)),
        ("1s250ms", timedelta(milliseconds=1250)),
        ("1d2h3m4s5ms", timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=5)),
        ("0s", timedelta(0)),
        ("90m", timedelta(minutes=90)),
        ("007s", timedelta(seconds=7)),
    ],
)
def test_accepted_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "60",  # no unit: seconds or minutes? the config must not guess
        "1.5h",
        "-5s",
        "+5s",
        "10S",
        "10 s",
        "1h 30m",
        " 10s",
        "10s\n",
        "30m1h",  # units out of order
        "1h1h",  # a unit twice
        "5sec",
        "1w",
        "h",
        "ms",
    ],
)
def test_rejected_durations_name_the_accepted_forms(text: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    assert str(caught.value) == (
        "must be a duration such as '500ms', '10s', '15m', '6h' or '1h30m'"
    )


@pytest.mark.parametrize("text", ["9999999999d", "1" + "0" * 5000 + "s"])
def test_durations_too_long_for_timedelta_are_errors(text: str) -> None:
    with pytest.raises(DurationError, match="too long"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(seconds=10), "10s"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(hours=3), "3h"),
        (timedelta(days=1, milliseconds=1), "1d1ms"),
        (timedelta(0), "0s"),
    ],
)
def test_format_writes_the_shortest_config_spelling(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@given(st.integers(min_value=0, max_value=10**12))
def test_format_then_parse_round_trips_whole_milliseconds(milliseconds: int) -> None:
    value = timedelta(milliseconds=milliseconds)
    assert parse_duration(format_duration(value)) == value

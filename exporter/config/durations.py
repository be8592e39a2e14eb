"""Durations as the config writes them: ``500ms``, ``10s``, ``15m``, ``6h``, ``1d``, ``1h30m``.

The Prometheus style, without years or weeks: one or more ``<digits><unit>`` parts, largest
unit first, each unit at most once. A number without a unit is an error, because ``60``
could mean seconds or minutes and a config must not guess.
"""

import re
from datetime import timedelta
from typing import Annotated, Any, Final

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

UNITS: Final[tuple[tuple[str, timedelta], ...]] = (
    ("d", timedelta(days=1)),
    ("h", timedelta(hours=1)),
    ("m", timedelta(minutes=1)),
    ("s", timedelta(seconds=1)),
    ("ms", timedelta(milliseconds=1)),
)
"""Accepted units, largest first: the order they must appear in."""

DURATION_PATTERN: Final[str] = (
    "^(?=[0-9])" + "".join(f"(?:[0-9]+{unit})?" for unit, _ in UNITS) + "$"
)
"""Regular expression of a duration, also used as the JSON Schema's pattern."""

ACCEPTED_FORMS: Final[str] = "'500ms', '10s', '15m', '6h' or '1h30m'"
"""The examples every duration error shows."""

_SIZES: Final[dict[str, timedelta]] = dict(UNITS)
_PART = re.compile(r"([0-9]+)(ms|d|h|m|s)")
_WHOLE = re.compile(DURATION_PATTERN)


class DurationError(ValueError):
    """A text that is not a duration; the message says what is accepted."""


def parse_duration(text: str) -> timedelta:
    """``"1h30m"`` -> ``timedelta(minutes=90)``; raises DurationError for anything else."""
    if not _WHOLE.fullmatch(text):
        raise DurationError(f"must be a duration such as {ACCEPTED_FORMS}")
    total = timedelta()
    try:
        for number, unit in _PART.findall(text):
            total += int(number) * _SIZES[unit]
    except (OverflowError, ValueError):  # beyond timedelta's range, or too many digits for int()
        raise DurationError("is too long to be a duration") from None
    return total


def format_duration(value: timedelta) -> str:
    """The shortest config spelling of a duration: ``timedelta(minutes=90)`` -> ``"1h30m"``."""
    remaining = value // timedelta(milliseconds=1)
    if remaining <= 0:
        return "0s" if remaining == 0 else "-" + format_duration(-value)
    parts = []
    for unit, size in UNITS:
        count, remaining = divmod(remaining, size // timedelta(milliseconds=1))
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _validate(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except DurationError as exc:
            raise PydanticCustomError("duration", str(exc)) from None
    raise PydanticCustomError("duration", f"must be a duration such as {ACCEPTED_FORMS}")


Duration = Annotated[
    timedelta,
    PlainValidator(_validate, json_schema_input_type=str),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": f"a duration such as {ACCEPTED_FORMS}",
        }
    ),
]
"""A ``timedelta`` field written as a duration text in the config (``timedelta`` from Python)."""

"""Constrained field types and cross-item checks shared by the config models.

Their errors are ``PydanticCustomError`` with a sentence as message; where the problem sits
below the value being validated (a duplicate inside a list), ``ctx["at"]`` holds the rest of
the path and ``ctx["first"]`` the path of the first occurrence, both relative to the value.
"""

import difflib
import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from exporter.config.durations import Duration, format_duration
from exporter.kinds import KINDS
from exporter.platforms import PLATFORM_NAMES

_PLATFORM_CODES = {name: code for code, name in PLATFORM_NAMES.items()}

Text = Annotated[str, Field(min_length=1)]
"""A string that must not be empty (codes and names)."""


def at_least(limit: timedelta) -> AfterValidator:
    """A check for ``Annotated[Duration, ...]``: the duration is ``limit`` or longer."""
    text = format_duration(limit)

    def check(value: timedelta) -> timedelta:
        if value < limit:
            raise PydanticCustomError("bound", "must be at least {limit}", {"limit": text})
        return value

    return AfterValidator(check)


def at_most(limit: timedelta) -> AfterValidator:
    """A check for ``Annotated[Duration, ...]``: the duration is ``limit`` or shorter."""
    text = format_duration(limit)

    def check(value: timedelta) -> timedelta:
        if value > limit:
            raise PydanticCustomError("bound", "must be at most {limit}", {"limit": text})
        return value

    return AfterValidator(check)


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise PydanticCustomError("bound", "must be longer than 0s")
    return value


PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
"""A duration longer than zero."""


def _http_url(value: str) -> str:
    scheme, _, rest = value.partition("://")
    if scheme not in ("http", "https") or not rest or rest.startswith("/"):
        raise PydanticCustomError("url", "must be an http:// or https:// URL")
    return value


HttpUrl = Annotated[
    str,
    AfterValidator(_http_url),
    WithJsonSchema({"type": "string", "format": "uri", "pattern": "^https?://[^/]"}),
]
"""An ``http://`` or ``https://`` URL, kept as written."""


def _known_kinds(intervals: dict[str, timedelta]) -> dict[str, timedelta]:
    for name in intervals:
        if name not in KINDS:
            close = difflib.get_close_matches(name, KINDS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise PydanticCustomError(
                "unknown_collector",
                "unknown collector {name}: {hint}the keys are {known}",
                {"name": repr(name), "hint": hint, "known": ", ".join(KINDS), "at": (name,)},
            )
    return intervals


CollectorIntervals = Annotated[
    dict[str, Annotated[Duration, at_least(timedelta(seconds=1))]],
    AfterValidator(_known_kinds),
    Field(json_schema_extra={"propertyNames": {"enum": list(KINDS)}}),
]
"""Intervals by collector kind name (``events: 5m``)."""


def _pattern(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise PydanticCustomError(
            "pattern", "is not a regular expression: {error}", {"error": str(exc)}
        ) from None
    return value


Pattern = Annotated[
    str, AfterValidator(_pattern), WithJsonSchema({"type": "string", "format": "regex"})
]
"""A regular expression (Python's ``re``), searched anywhere in the text."""


def _time_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ValueError, ZoneInfoNotFoundError):
        raise PydanticCustomError(
            "timezone", "must be an IANA time zone name such as UTC or Europe/Berlin"
        ) from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_time_zone)]
"""An IANA time zone name (``UTC``, ``Europe/Berlin``), checked against the zone database."""


def _platform(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, str) and value in _PLATFORM_CODES:
        return _PLATFORM_CODES[value]
    raise PydanticCustomError(
        "platform",
        "must be a platform code (a positive integer, e.g. 1 for iOS, 3 for Android)"
        " or a platform name such as 'ios' or 'android'",
    )


Platform = Annotated[
    int,
    PlainValidator(_platform),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {"type": "string", "enum": sorted(_PLATFORM_CODES)},
            ],
            "description": "a platform code (1 iOS, 3 Android, ...) or its lower-case name",
        }
    ),
]
"""A platform of getMsgPlatformsStats: any positive code, or a known name (``ios`` -> 1)."""


def reject_duplicates(
    items: Sequence[Any], key: Callable[[Any], Any], field: str, what: str
) -> None:
    """Raise for the first item whose key repeats an earlier one's."""
    seen: dict[Any, int] = {}
    for index, item in enumerate(items):
        value = key(item)
        if value in seen:
            raise PydanticCustomError(
                "duplicate",
                "duplicate {what} {value}",
                {
                    "what": what,
                    "value": repr(value),
                    "at": (index, field) if field else (index,),
                    "first": (seen[value], field) if field else (seen[value],),
                },
            )
        seen[value] = index

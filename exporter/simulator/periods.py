"""Dates and buckets of the v1 methods, in the simulated account's time zone.

A v1 request's datetimes are wall-clock times in the zone (``faults.timezone``, UTC by
default) and so are the datetimes of its answer. Inside the simulator every time is Unix
seconds; wall-clock times become "local seconds" (the wall-clock time read as if it were
UTC), and buckets are floored in local seconds, so an hourly bucket in Asia/Kolkata starts at
a local whole hour (UTC :30). Around a DST change a local time can be missing (no bucket
holds any minute) or repeated (one bucket holds both, as its label is one wall-clock time).
"""

import calendar
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MINUTE = 60
HOUR = 3600
DAY = 86400
QUARTER = 900
"""Every zone offset in use is a multiple of a quarter hour."""
DST_MARGIN = 3 * HOUR
"""More than any zone's offset changes at once: how far around a period to look for
minutes whose local time falls inside it."""
FORCED_FORMATTERS = ("minutely", "hourly", "daily")
"""The bucket widths a method can be forced to (``app_formatter``, ``campaign_formatter``)."""
DATETIME = "%Y-%m-%d %H:%M:%S"
DATE = "%Y-%m-%d"


class BadDate(ValueError):
    """A date argument the API cannot parse."""


def zone_info(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError naming it when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (an IANA name, like Europe/Berlin)") from exc


@dataclass(frozen=True)
class Zone:
    """Conversions between Unix seconds and local seconds in one IANA zone."""

    name: str = "UTC"
    info: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "info", zone_info(self.name))

    @property
    def is_utc(self) -> bool:
        """Local seconds are Unix seconds."""
        return self.name == "UTC"

    def local(self, seconds: float) -> int:
        """Unix seconds -> local seconds (whole seconds)."""
        if self.is_utc:
            return int(seconds)
        offset = datetime.fromtimestamp(seconds, self.info).utcoffset() or timedelta(0)
        return int(seconds) + int(offset.total_seconds())

    def unix(self, local: float) -> float:
        """Local seconds -> Unix seconds; a repeated local time is its first instant."""
        if self.is_utc:
            return local
        wall = datetime.fromtimestamp(local, UTC).replace(tzinfo=self.info)
        return wall.timestamp()

    def whole_hour(self, hour: int) -> bool:
        """Whether the Unix hour starting at ``hour`` is one whole local hour (no offset of
        a fraction of an hour, no change of offset inside it)."""
        if self.is_utc:
            return True
        local = self.local(hour)
        return local % HOUR == 0 and self.local(hour + HOUR - 1) == local + HOUR - 1

    def margin(self) -> int:
        """Seconds to look beyond a period's bounds when mapping minutes into it."""
        return 0 if self.is_utc else DST_MARGIN


def parse_local(text: Any, fmt: str = DATETIME) -> int:
    """``Y-m-d H:i:s`` (or ``fmt``) -> local seconds; BadDate for anything else."""
    if not isinstance(text, str):
        raise BadDate(text)
    try:
        return calendar.timegm(datetime.strptime(text, fmt).timetuple())
    except ValueError:
        raise BadDate(text) from None


def format_local(local: float, fmt: str = DATETIME) -> str:
    """Local seconds -> ``Y-m-d H:i:s`` (or ``fmt``)."""
    return datetime.fromtimestamp(local, UTC).strftime(fmt)


def formatter_for(span: float) -> str:
    """The API's bucket size for a period: over 1 year yearly, ... 3 hours or less minutely."""
    if span > 365 * DAY:
        return "yearly"
    if span > 30 * DAY:
        return "monthly"
    if span > DAY:
        return "daily"
    if span > 3 * HOUR:
        return "hourly"
    return "minutely"


def bucket_of(moment: int, formatter: str) -> int:
    """Start of the ``formatter`` bucket holding ``moment`` (both in the same seconds)."""
    sizes = {"minutely": MINUTE, "hourly": HOUR, "daily": DAY}
    if formatter in sizes:
        return moment // sizes[formatter] * sizes[formatter]
    day = datetime.fromtimestamp(moment, UTC)
    first = day.replace(month=1 if formatter == "yearly" else day.month, day=1)
    return calendar.timegm(first.replace(hour=0, minute=0, second=0).timetuple())


def next_bucket(start: int, formatter: str) -> int:
    """Start of the ``formatter`` bucket after the one starting at ``start``."""
    sizes = {"minutely": MINUTE, "hourly": HOUR, "daily": DAY}
    if formatter in sizes:
        return start + sizes[formatter]
    moment = datetime.fromtimestamp(start, UTC)
    if formatter == "yearly" or moment.month == 12:
        following = moment.replace(year=moment.year + 1, month=1)
    else:
        following = moment.replace(month=moment.month + 1)
    return calendar.timegm(following.timetuple())


def bucket_starts(first: int, last: int, formatter: str) -> list[int]:
    """Every bucket start from ``first`` to ``last`` (bucket starts, both included)."""
    starts = []
    moment = first
    while moment <= last:
        starts.append(moment)
        moment = next_bucket(moment, formatter)
    return starts


def group_counts(
    counts: dict[int, int], zone: Zone, formatter: str, first: int, stop: int
) -> dict[int, int]:
    """Counts of Unix minutes or whole local hours (by start) summed into local
    ``formatter`` buckets, keeping those whose local start lies in [first, stop); buckets
    without events are left out."""
    out: dict[int, int] = {}
    for moment, count in counts.items():
        local = zone.local(moment)
        if count and first <= local < stop:
            start = bucket_of(local, formatter)
            out[start] = out.get(start, 0) + count
    return out


def local_hour_starts(zone: Zone, start: float, end: float) -> list[int]:
    """The Unix instants where a local hour begins, from the one holding ``start`` to the
    last at or before ``end``. A repeated local hour begins twice."""
    step = HOUR if zone.is_utc else QUARTER
    moment = int(start) // step * step
    while zone.local(moment) % HOUR:
        moment -= step
    found = []
    while moment <= end:
        if zone.local(moment) % HOUR == 0:
            found.append(moment)
        moment += step
    return found

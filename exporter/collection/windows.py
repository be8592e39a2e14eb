"""Which time windows a poll reads (docs/counting.md: lookback, catch-up).

Every poll re-reads ``[now - lookback, now]``, its start floored to whole buckets. After
downtime (a restart with a state file, or failed polls) it reaches back to the watermark
minus lookback, at most ``max_catchup``, in windows short enough that getAppStats still
answers in minutely buckets (the API switches to hourly over 3 hours).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

MINUTE = 60
HOUR = 3600
DAY = 86400
MAX_MINUTELY_SPAN = 3 * HOUR
"""Longest [datefrom, dateto] the API still answers in minutely buckets."""

_MAX_SPANS = {MINUTE: MAX_MINUTELY_SPAN, HOUR: DAY}
"""By bucket width: the longest window the API answers at that width (over 1 day it
answers daily; over 3 hours, hourly)."""


def max_span(bucket: int) -> int | None:
    """The longest window to ask for when the buckets are ``bucket`` seconds wide."""
    return _MAX_SPANS.get(bucket)


@dataclass(frozen=True, slots=True)
class Window:
    """One API read: buckets starting in ``[start, end]`` (Unix seconds)."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """The windows of one poll, oldest first, and where the steady window begins."""

    windows: tuple[Window, ...]
    window_start: int
    """Start of the steady window: older buckets are final after this poll."""

    @property
    def read_from(self) -> int:
        """Start of the oldest window read."""
        return self.windows[0].start

    @property
    def end(self) -> int:
        """End of the newest window: the new watermark."""
        return self.windows[-1].end


def floor_to(seconds: float, size: int, zone: tzinfo = UTC) -> int:
    """``seconds`` rounded down to the start of its ``size`` bucket on the wall clock of
    ``zone`` (the API's minutes, hours and days are those of its zone, whose offset may
    change within a day)."""
    if zone is UTC or size not in (MINUTE, HOUR, DAY):
        return int(seconds) // size * size
    local = datetime.fromtimestamp(int(seconds), zone)
    local = local.replace(second=0)
    if size >= HOUR:
        local = local.replace(minute=0)
    if size >= DAY:
        local = local.replace(hour=0)
    return int(local.timestamp())


def plan_reads(
    now: float,
    *,
    bucket: int,
    lookback: float,
    watermark: int | None = None,
    max_catchup: float = 0.0,
    max_span: int | None = None,
    zone: tzinfo = UTC,
) -> ReadPlan:
    """Plan the windows of a poll at ``now``.

    ``bucket`` is the bucket size (60, 3600 or 86400), ``watermark`` the end of the last
    successful read (None before the first), ``max_span`` the longest window the API answers
    at this bucket size (None: no limit), ``zone`` the API's time zone (buckets start at its
    whole minutes, hours and days).
    """
    end = int(now)
    start = floor_to(end - lookback, bucket, zone)
    if max_span is not None and end - start >= max_span:
        start += bucket  # lookback of exactly max_span: keep the steady window in one read
    read_from = start
    if watermark is not None:
        oldest = floor_to(end - max(max_catchup, lookback), bucket, zone)
        read_from = min(start, max(floor_to(watermark - lookback, bucket, zone), oldest))
    if max_span is None:
        return ReadPlan((Window(read_from, end),), start)
    windows: list[Window] = []
    cursor = read_from
    while True:
        stop = min(cursor + max_span - 1, end)
        windows.append(Window(cursor, stop))
        if stop >= end:
            return ReadPlan(tuple(windows), start)
        cursor += max_span

"""Which time windows a poll reads (docs/counting.md: lookback, catch-up).

Every poll re-reads ``[now - lookback, now]``, its start floored to whole buckets. After
downtime (a restart with a state file, or failed polls) it reaches back to the watermark
minus lookback, at most ``max_catchup``, in windows short enough that getAppStats still
answers in minutely buckets (the API switches to hourly over 3 hours).
"""

from dataclasses import dataclass

MINUTE = 60
HOUR = 3600
MAX_MINUTELY_SPAN = 3 * HOUR
"""Longest [datefrom, dateto] the API still answers in minutely buckets."""


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


def floor_to(seconds: float, size: int) -> int:
    """``seconds`` rounded down to a multiple of ``size``."""
    return int(seconds) // size * size


def plan_reads(
    now: float,
    *,
    bucket: int,
    lookback: float,
    watermark: int | None = None,
    max_catchup: float = 0.0,
    max_span: int | None = None,
) -> ReadPlan:
    """Plan the windows of a poll at ``now``.

    ``bucket`` is the bucket size (60 or 3600), ``watermark`` the end of the last successful
    read (None before the first), ``max_span`` the longest window the API answers at this
    bucket size (None: no limit).
    """
    end = int(now)
    start = floor_to(end - lookback, bucket)
    if max_span is not None and end - start >= max_span:
        start += bucket  # lookback of exactly max_span: keep the steady window in one read
    read_from = start
    if watermark is not None:
        oldest = floor_to(end - max(max_catchup, lookback), bucket)
        read_from = min(start, max(floor_to(watermark - lookback, bucket), oldest))
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

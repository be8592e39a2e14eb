"""What each Statistics method answers: pure functions of the model at one moment.

Bucket inclusion (getAppStats, getCampaignStats, getEventStatistics): a period
[datefrom, dateto] reports the buckets whose start lies in
[floor(datefrom to the bucket size), dateto]; each sums its minutes from that floor up to
``dateto``, as recorded when the job was created. Buckets with a count of 0 are left out,
and a row's ``datetime`` is its bucket's start (UTC).
"""

import calendar
from datetime import UTC, datetime
from typing import Any

from exporter.platforms import platform_name
from exporter.simulator.traffic import (
    CAMPAIGN_PLATFORMS,
    HOUR,
    MESSAGE_PLATFORMS,
    MINUTE,
    Key,
    Traffic,
    key_id,
    unit,
)
from exporter.simulator.world import APP_PLATFORMS, COUNTRIES, LANGUAGES

DAY = 86400
APP_SCOPES = {
    "applications": ("open", "install"),
    "devices": ("register", "unregister"),
    "messages": ("send", "open"),
}
MESSAGE_ACTIONS = ("send", "delivery", "open", "inboxopen")
PLATFORM_WEIGHTS = {1: 0.35, 3: 0.5, 10: 0.02, 11: 0.08, 12: 0.01, 17: 0.04}


class BadDate(ValueError):
    """A date argument the API cannot parse."""


def parse_date(text: Any, *, date_only: bool = False, end_of_day: bool = False) -> float:
    """``Y-m-d H:i:s`` in UTC -> Unix seconds; ``Y-m-d`` too when ``date_only`` allows it
    (getEventStatistics), then the end of that day if ``end_of_day``."""
    if not isinstance(text, str):
        raise BadDate(text)
    formats = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d") if date_only else ("%Y-%m-%d %H:%M:%S",)
    for fmt in formats:
        try:
            moment = datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
        seconds = moment.timestamp()
        return seconds + DAY - 1 if end_of_day and fmt == "%Y-%m-%d" else seconds
    raise BadDate(text)


def format_time(seconds: float, with_seconds: bool = True) -> str:
    """Unix seconds -> ``Y-m-d H:i:s`` (or ``Y-m-d H:i``) UTC."""
    fmt = "%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M"
    return datetime.fromtimestamp(seconds, UTC).strftime(fmt)


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


def bucket_of(minute: int, formatter: str) -> int:
    """Start of the ``formatter`` bucket holding ``minute``."""
    if formatter == "minutely":
        return minute
    if formatter == "hourly":
        return minute // HOUR * HOUR
    if formatter == "daily":
        return minute // DAY * DAY
    moment = datetime.fromtimestamp(minute, UTC)
    first = moment.replace(month=1 if formatter == "yearly" else moment.month, day=1)
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


def aggregate(minutes: dict[int, int], formatter: str) -> dict[int, int]:
    """Minute buckets summed into ``formatter`` buckets."""
    out: dict[int, int] = {}
    for minute, count in minutes.items():
        start = bucket_of(minute, formatter)
        out[start] = out.get(start, 0) + count
    return out


def _count(n: int, as_string: bool) -> int | str:
    return str(n) if as_string else n


def app_stats(
    traffic: Traffic, app: str, start: float, end: float, now: float, strings: bool
) -> dict[str, Any]:
    """getAppStats: three scopes of {formatter, rows}."""
    formatter = formatter_for(end - start)
    first = bucket_of(int(start) // MINUTE * MINUTE, formatter)
    result: dict[str, Any] = {}
    for scope, actions in APP_SCOPES.items():
        rows = []
        for action in actions:
            minutes = traffic.buckets(("app", app, scope, action), first, end, now)
            for bucket, count in sorted(aggregate(minutes, formatter).items()):
                rows.append(
                    {
                        "count": _count(count, strings),
                        "action": action,
                        "datetime": format_time(bucket),
                    }
                )
        result[scope] = {"formatter": formatter, "rows": rows}
    return result


def campaign_stats(
    traffic: Traffic, campaign: str, start: float, end: float, now: float, strings: bool
) -> dict[str, Any]:
    """getCampaignStats: rows with platformid, and conversion totals of the period."""
    formatter = formatter_for(end - start)
    first = bucket_of(int(start) // MINUTE * MINUTE, formatter)
    rows, totals = [], dict.fromkeys(("send", "delivery", "open"), 0)
    for action in MESSAGE_ACTIONS:
        for platform in traffic.platforms_of("campaign", campaign, tuple(CAMPAIGN_PLATFORMS)):
            minutes = traffic.buckets(
                ("campaign", campaign, action, str(platform)), first, end, now
            )
            for bucket, count in sorted(aggregate(minutes, formatter).items()):
                rows.append(
                    {
                        "count": _count(count, strings),
                        "action": action,
                        "datetime": format_time(bucket),
                        "platformid": platform,
                    }
                )
                if action in totals:
                    totals[action] += count
    return {"formatter": formatter, "rows": rows, "conversion": {**totals, "events": []}}


def message_stats(
    traffic: Traffic,
    code: str,
    created: int,
    now: float,
    platforms: list[int] | None,
    strings: bool,
) -> dict[str, Any]:
    """getMsgStats (platforms None) or getMsgPlatformsStats: hourly lifetime rows."""
    rows: list[dict[str, Any]] = []
    totals = dict.fromkeys(("send", "delivery", "open"), 0)
    known = traffic.platforms_of("message", code, tuple(MESSAGE_PLATFORMS))
    chosen = [p for p in known if platforms is None or p in platforms]
    for action in MESSAGE_ACTIONS:
        merged: dict[int, int] = {}
        for platform in chosen:
            hours = traffic.message_hours(code, action, platform, created, now)
            if platforms is not None:
                rows.extend(
                    {
                        "datetime": format_time(h),
                        "action": action,
                        "count": _count(n, strings),
                        "platformid": platform,
                    }
                    for h, n in sorted(hours.items())
                )
            for hour, n in hours.items():
                merged[hour] = merged.get(hour, 0) + n
        if platforms is None:
            rows.extend(
                {"datetime": format_time(h), "action": action, "count": _count(n, strings)}
                for h, n in sorted(merged.items())
            )
        if action in totals:
            totals[action] = sum(merged.values())
    return {"formatter": "hourly", "rows": rows, "conversion": {**totals, "events": []}}


def event_stats(
    traffic: Traffic, key: Key, start: float, end: float, now: float, plan: str | None
) -> list[dict[str, Any]]:
    """getEventStatistics: hourly buckets of the period."""
    minutes = traffic.buckets(key, start // HOUR * HOUR, end, now, plan)
    return [
        {"date": format_time(h, with_seconds=False), "count": n}
        for h, n in sorted(aggregate(minutes, "hourly").items())
    ]


def subscribers_v1(traffic: Traffic, app: str, now: float) -> dict[str, Any]:
    """getApplicationSubscribersStats: current subscribers by upper-case device type."""
    return {
        "devices_types": {
            platform_name(p).upper(): traffic.subscribers(app, p, w, now)
            for p, w in PLATFORM_WEIGHTS.items()
            if p in APP_PLATFORMS
        }
    }


def v2_interval(span: float) -> tuple[str, str]:
    """(interval name, bucket formatter) of a v2 period: under 30 days an hour; up to a
    year a day; a year (365 to 366 days) a month; over that a year."""
    if span < 30 * DAY:
        return "hour", "hourly"
    if span < 365 * DAY:
        return "day", "daily"
    if span <= 366 * DAY:
        return "month", "monthly"
    return "year", "yearly"


def subscribers_v2(
    traffic: Traffic, app: str, start: float, end: float, now: float
) -> dict[str, Any]:
    """v2 getSubscribersStatistics: one point per interval from the one holding ``start`` to
    the one holding ``min(end, now)``, each the subscribers at the end of its interval (or
    at ``now`` for the current one), so the newest point is the current count."""
    interval, formatter = v2_interval(end - start)
    points = []
    moment = bucket_of(int(start) // MINUTE * MINUTE, formatter)
    while moment <= min(end, now):
        following = next_bucket(moment, formatter)
        at = min(following - 1, now)
        platforms = {
            platform_name(p): traffic.subscribers(app, p, w, at)
            for p, w in PLATFORM_WEIGHTS.items()
        }
        points.append(
            {
                "timestamp": format_time(moment),
                "total": sum(platforms.values()),
                "platforms": platforms,
            }
        )
        moment = following
    return {"application_code": app, "interval": interval, "points": points}


def tag_values(tag: str, seed: int) -> list[tuple[str, int]]:
    """The values of a tag and their device counts, most common first."""
    values = (
        LANGUAGES
        if tag == "Language"
        else COUNTRIES
        if tag == "Country"
        else [f"v{i}" for i in range(8)]
    )
    k = key_id(("tag", tag))
    counts = [
        (v, int(20000 / (i + 1) * (0.8 + 0.4 * unit(seed, k, i)))) for i, v in enumerate(values)
    ]
    return sorted(((v, n) for v, n in counts if n > 0), key=lambda item: -item[1])

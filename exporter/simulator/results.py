"""What each Statistics method answers: pure functions of the model at one moment.

Buckets (getAppStats, getCampaignStats, getEventStatistics) are whole buckets: a period
[datefrom, dateto] lists the buckets from the one holding ``datefrom`` to the one holding
``dateto``, and each row counts every event of its bucket recorded when the job was created,
minutes before ``datefrom`` or after ``dateto`` included. So the truth of a row is the
truth of its minute buckets in [bucket start, next bucket start) (``/_sim/truth`` with
``bucket_from`` and ``bucket_before``). A row's ``datetime`` is its bucket's start, in the
account's zone (see :mod:`periods`). How rows look otherwise is the :class:`Shape`.
"""

from dataclasses import dataclass, field
from typing import Any

from exporter.simulator.attributes import Filter
from exporter.simulator.periods import (
    DAY,
    HOUR,
    MINUTE,
    Zone,
    bucket_of,
    bucket_starts,
    format_local,
    formatter_for,
    group_counts,
    local_hour_starts,
    next_bucket,
)
from exporter.simulator.settings import Faults
from exporter.simulator.traffic import (
    CAMPAIGN_PLATFORMS,
    MESSAGE_PLATFORMS,
    Key,
    Traffic,
)

APP_SCOPES = {
    "applications": ("open", "install"),
    "devices": ("register", "unregister"),
    "messages": ("send", "open"),
}
MESSAGE_ACTIONS = ("send", "delivery", "open", "inboxopen")
EVENT_DATE = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class Shape:
    """How answers look: the answer knobs of :class:`Faults` when a job is created."""

    zone: Zone = field(default_factory=Zone)
    app_formatter: str | None = None
    campaign_formatter: str | None = None
    omit_empty_scopes: bool = False
    split_rows: bool = False
    zero_rows: bool = False
    string_counts: bool = False
    conversion_delivery: bool = False
    event_hours_to_now: bool = False

    @classmethod
    def of(cls, faults: Faults) -> "Shape":
        """The shape the knobs ask for now."""
        return cls(
            Zone(faults.timezone),
            faults.app_formatter,
            faults.campaign_formatter,
            faults.omit_empty_scopes,
            faults.split_rows,
            faults.zero_rows,
            faults.string_counts,
            faults.conversion_delivery,
            faults.event_hours_to_now,
        )


@dataclass(frozen=True)
class Period:
    """A request's [datefrom, dateto] as local seconds (see :mod:`periods`)."""

    start: int
    end: int


def bucket_counts(
    traffic: Traffic,
    key: Key,
    period: Period,
    formatter: str,
    now: float,
    shape: Shape,
    wanted: Filter | None = None,
) -> dict[int, int]:
    """Whole ``formatter`` buckets from the one holding the period's start to the one
    holding its end, by local start: those with events, or all of them with ``zero_rows``."""
    zone = shape.zone
    first = bucket_of(period.start // MINUTE * MINUTE, formatter)
    last = bucket_of(period.end // MINUTE * MINUTE, formatter)
    stop = next_bucket(last, formatter)
    low, high = int(zone.unix(first)) - zone.margin(), int(zone.unix(stop)) + zone.margin()
    if formatter == "minutely":
        found = traffic.buckets(key, low, high - 1, now, wanted)
    else:
        # Hour by hour where an hour cannot straddle two buckets: recent hours only cost.
        found = {}
        for hour in range(low // HOUR * HOUR, high, HOUR):
            if zone.whole_hour(hour):
                found[hour] = traffic.hour_count(key, hour, now, wanted)
            else:
                found.update(traffic.buckets(key, hour, hour + HOUR - 1, now, wanted))
    counts = group_counts(found, zone, formatter, first, stop)
    if shape.zero_rows:
        counts = {b: counts.get(b, 0) for b in bucket_starts(first, last, formatter)}
    return dict(sorted(counts.items()))


def finish_rows(rows: list[dict[str, Any]], shape: Shape) -> list[dict[str, Any]]:
    """Rows as sent: with ``split_rows`` each row counting 2 or more becomes two rows of the
    same bucket, the second part appended after all the others (rows need not be adjacent
    nor in order); with ``string_counts`` counts are strings."""
    sent = [dict(row) for row in rows]
    if shape.split_rows:
        rest = []
        for row in sent:
            if row["count"] >= 2:
                part = max(1, row["count"] // 3)
                rest.append(row | {"count": row["count"] - part})
                row["count"] = part
        sent += rest
    if shape.string_counts:
        for row in sent:
            row["count"] = str(row["count"])
    return sent


def app_stats(
    traffic: Traffic, app: str, period: Period, now: float, shape: Shape
) -> dict[str, Any]:
    """getAppStats: three scopes of {formatter, rows}; with ``omit_empty_scopes`` a scope
    without events in the period is left out."""
    formatter = shape.app_formatter or formatter_for(period.end - period.start)
    result: dict[str, Any] = {}
    for scope, actions in APP_SCOPES.items():
        rows: list[dict[str, Any]] = []
        for action in actions:
            counts = bucket_counts(
                traffic, ("app", app, scope, action), period, formatter, now, shape
            )
            rows.extend(
                {"count": n, "action": action, "datetime": format_local(b)}
                for b, n in counts.items()
            )
        if shape.omit_empty_scopes and not any(row["count"] for row in rows):
            continue
        result[scope] = {"formatter": formatter, "rows": finish_rows(rows, shape)}
    return result


def campaign_stats(
    traffic: Traffic, campaign: str, period: Period, now: float, shape: Shape
) -> dict[str, Any]:
    """getCampaignStats: rows with platformid, and conversion totals of the rows."""
    formatter = shape.campaign_formatter or formatter_for(period.end - period.start)
    rows: list[dict[str, Any]] = []
    for action in MESSAGE_ACTIONS:
        for platform in traffic.platforms_of("campaign", campaign, tuple(CAMPAIGN_PLATFORMS)):
            key = ("campaign", campaign, action, str(platform))
            counts = bucket_counts(traffic, key, period, formatter, now, shape)
            rows.extend(
                {
                    "count": n,
                    "action": action,
                    "datetime": format_local(b),
                    "platformid": platform,
                }
                for b, n in counts.items()
            )
    return {
        "formatter": formatter,
        "rows": finish_rows(rows, shape),
        "conversion": conversion(rows, shape),
    }


def conversion(rows: list[dict[str, Any]], shape: Shape) -> dict[str, Any]:
    """Totals of the rows: send and open, and delivery only with ``conversion_delivery``
    (the documented examples leave it out)."""
    actions = ("send", "delivery", "open") if shape.conversion_delivery else ("send", "open")
    totals: dict[str, Any] = {
        action: sum(row["count"] for row in rows if row["action"] == action) for action in actions
    }
    return totals | {"events": []}


def message_stats(
    traffic: Traffic,
    code: str,
    created: int,
    now: float,
    platforms: list[int] | None,
    shape: Shape,
) -> dict[str, Any]:
    """getMsgStats (platforms None) or getMsgPlatformsStats: lifetime rows per local hour."""
    zone = shape.zone
    starts = local_hour_starts(zone, created, now)
    rows: list[dict[str, Any]] = []
    known = traffic.platforms_of("message", code, tuple(MESSAGE_PLATFORMS))
    chosen = [p for p in known if platforms is None or p in platforms]
    for action in MESSAGE_ACTIONS:
        merged: dict[int, int] = {}
        for platform in chosen:
            hours = traffic.message_hours(code, action, platform, created, now, starts)
            if platforms is not None:
                rows.extend(
                    {
                        "datetime": format_local(zone.local(h)),
                        "action": action,
                        "count": n,
                        "platformid": platform,
                    }
                    for h, n in sorted(hours.items())
                )
            for hour, n in hours.items():
                merged[hour] = merged.get(hour, 0) + n
        if platforms is None:
            rows.extend(
                {"datetime": format_local(zone.local(h)), "action": action, "count": n}
                for h, n in sorted(merged.items())
            )
    return {
        "formatter": "hourly",
        "rows": finish_rows(rows, shape),
        "conversion": conversion(rows, shape),
    }


def event_stats(
    traffic: Traffic, key: Key, days: Period, now: float, shape: Shape, wanted: Filter | None
) -> list[dict[str, Any]]:
    """getEventStatistics over the local days from ``days.start`` to ``days.end`` (their
    midnights): 24 hourly buckets a day, quiet ones with count 0; with
    ``event_hours_to_now`` only the hours up to the current one."""
    stop = days.end + DAY
    counts = bucket_counts(traffic, key, Period(days.start, stop - 1), "hourly", now, shape, wanted)
    last = stop - HOUR
    if shape.event_hours_to_now:
        last = min(last, bucket_of(shape.zone.local(now), "hourly"))
    rows = [
        {"date": format_local(h, EVENT_DATE), "count": counts.get(h, 0)}
        for h in range(days.start, last + 1, HOUR)
    ]
    return finish_rows(rows, shape)

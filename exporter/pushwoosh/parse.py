"""Pure parsers: the ``response`` of each API method -> the frozen values of ``models``.

Each parser takes an already unwrapped JSON value (see :mod:`exporter.pushwoosh.envelope`)
and either returns a model or raises :class:`MalformedResponse` naming the method and the
field. Counts may arrive as integers or numeric strings. The v1 methods' times are read in
the zone ``tz`` (``pushwoosh.timezone``, UTC unless configured); v2 times are UTC.
"""

import functools
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo

from exporter.platforms import subscriber_type_name
from exporter.pushwoosh.errors import MalformedResponse
from exporter.pushwoosh.models import (
    ApplicationsPage,
    AppStats,
    CampaignInfo,
    CampaignStats,
    Conversion,
    EventBucket,
    MessageStats,
    StatRow,
    StatTable,
    SubscriberCounts,
    SubscribersPoint,
    SubscribersStatistics,
    TagInfo,
)

_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d", "%Y-%m")
"""``Y-m-d H:i:s`` first; coarser formatters and event buckets use shorter forms."""

_EMPTY = StatTable(formatter="", rows=())
_APP_SCOPES = ("applications", "devices", "messages")

DIGITS = re.compile(r"[ \t]*[0-9]{1,30}[ \t]*")
"""A count sent as a string ("3"); ASCII digits only, so ``int()`` always accepts it."""


def parse_request_id(method: str, response: object) -> str:
    """The ``request_id`` a scheduled method answers with."""
    request_id = _object(method, response, "response").get("request_id")
    if not isinstance(request_id, str) or not request_id:
        raise MalformedResponse("no request_id in the answer", method=method)
    return request_id


def parse_app_stats(response: object, tz: tzinfo = UTC) -> AppStats:
    """getAppStats: the ``applications``, ``devices`` and ``messages`` tables. A scope with
    nothing to report may be left out altogether (the docs' legacy example has only
    ``applications``): it reads as a table without rows."""
    method = "getAppStats"
    if response == []:  # PHP's encoding of an empty map: no scope has anything to report
        response = {}
    document = _object(method, response, "response")
    if document and not document.keys() & _APP_SCOPES:
        raise MalformedResponse(
            f"response has none of {', '.join(_APP_SCOPES)} (keys: {_keys(document)})",
            method=method,
        )

    def scope(name: str) -> StatTable:
        value = document.get(name)
        return _EMPTY if value is None else parse_table(method, value, name, tz)

    return AppStats(
        applications=scope("applications"), devices=scope("devices"), messages=scope("messages")
    )


def parse_campaign_stats(response: object, tz: tzinfo = UTC) -> CampaignStats:
    """getCampaignStats: rows with ``platformid``, and the conversion totals."""
    method = "getCampaignStats"
    document = _object(method, response, "response")
    return CampaignStats(
        table=parse_table(method, document, "response", tz),
        conversion=parse_conversion(method, document.get("conversion")),
    )


def parse_message_stats(method: str, response: object, tz: tzinfo = UTC) -> MessageStats:
    """getMsgStats / getMsgPlatformsStats: rows (``platformid`` optional) and conversion."""
    document = _object(method, response, "response")
    return MessageStats(
        table=parse_table(method, document, "response", tz),
        conversion=parse_conversion(method, document.get("conversion")),
    )


def parse_table(method: str, value: object, where: str, tz: tzinfo = UTC) -> StatTable:
    """A ``{formatter, rows}`` object. Rows may be few (quiet buckets are left out), but a
    table without ``rows`` is not what the API documents: reading it as "no activity"
    would silently lose counts."""
    document = _object(method, value, where)
    formatter = document.get("formatter", "")
    if not isinstance(formatter, str):
        raise MalformedResponse(f"{where}.formatter is not a string", method=method)
    rows = document.get("rows")
    if not isinstance(rows, list):
        raise MalformedResponse(f"{where}.rows is not a list", method=method)
    return StatTable(
        formatter=formatter,
        rows=tuple(_row(method, row, f"{where}.rows[{i}]", tz) for i, row in enumerate(rows)),
    )


def parse_conversion(method: str, value: object) -> Conversion:
    """The ``conversion`` totals; absent fields are zero."""
    if value is None:
        return Conversion()
    document = _object(method, value, "conversion")
    return Conversion(
        **{
            key: parse_count(method, document[key], f"conversion.{key}")
            for key in ("send", "delivery", "open")
            if document.get(key) is not None
        }
    )


def parse_event_buckets(response: object, tz: tzinfo = UTC) -> tuple[EventBucket, ...]:
    """getEventStatistics: a list of ``{date, count}`` hourly buckets (quiet hours count 0)."""
    method = "getEventStatistics"
    if response is None:
        return ()
    if not isinstance(response, list):
        raise MalformedResponse("response is not a list of buckets", method=method)
    buckets = []
    for i, item in enumerate(response):
        document = _object(method, item, f"response[{i}]")
        buckets.append(
            EventBucket(
                start=parse_time(method, document.get("date"), f"response[{i}].date", tz),
                count=parse_count(method, document.get("count"), f"response[{i}].count"),
            )
        )
    return tuple(buckets)


def parse_tag_url(response: object) -> str:
    """getTagStats: the ``url`` of the CSV file to download."""
    url = _object("getTagStats", response, "response").get("url")
    if not isinstance(url, str) or not url.strip():
        raise MalformedResponse("no url in the answer", method="getTagStats")
    return url.strip()


def parse_applications_page(response: object) -> ApplicationsPage:
    """getApplications: ``{applications: {code: title}, page, total}`` (``total`` pages)."""
    method = "getApplications"
    if response == []:  # PHP's encoding of an empty map
        response = {}
    document = _object(method, response, "response")
    listed = document.get("applications", {})
    if listed == []:
        listed = {}
    apps = _object(method, listed, "response.applications")
    titles = {}
    for code, title in apps.items():
        if not isinstance(title, str | None):
            raise MalformedResponse(f"response.applications.{code} is not a title", method=method)
        titles[code] = title or ""
    page = document.get("page", 1)
    total = document.get("total", 1)
    return ApplicationsPage(
        applications=titles,
        page=parse_count(method, page, "response.page"),
        total=parse_count(method, total, "response.total"),
    )


def parse_campaigns(response: object) -> tuple[CampaignInfo, ...]:
    """getCampaigns: ``{campaigns: [{code, name, description}]}``; an empty list ends."""
    method = "getCampaigns"
    listed = _object(method, response, "response").get("campaigns")
    if listed is None:
        return ()
    if not isinstance(listed, list):
        raise MalformedResponse("response.campaigns is not a list", method=method)
    found = []
    for i, item in enumerate(listed):
        document = _object(method, item, f"response.campaigns[{i}]")
        code, name = document.get("code"), document.get("name")
        if not isinstance(code, str) or not code:
            raise MalformedResponse(f"response.campaigns[{i}].code is not a code", method=method)
        found.append(CampaignInfo(code, name if isinstance(name, str) else ""))
    return tuple(found)


def parse_tags(response: object) -> tuple[TagInfo, ...]:
    """listTags: ``{tags: [{name, type}]}``."""
    method = "listTags"
    listed = _object(method, response, "response").get("tags")
    if not isinstance(listed, list):
        raise MalformedResponse("response.tags is not a list", method=method)
    found = []
    for i, item in enumerate(listed):
        document = _object(method, item, f"response.tags[{i}]")
        name, kind = document.get("name"), document.get("type")
        if not isinstance(name, str) or not name:
            raise MalformedResponse(f"response.tags[{i}].name is not a name", method=method)
        found.append(
            TagInfo(
                name,
                None if kind is None else parse_count(method, kind, f"response.tags[{i}].type"),
            )
        )
    return tuple(found)


def parse_subscriber_counts(response: object) -> SubscriberCounts:
    """getApplicationSubscribersStats: ``devices_types`` by upper-case device type."""
    method = "getApplicationSubscribersStats"
    types = _object(
        method, _object(method, response, "response").get("devices_types"), "devices_types"
    )
    return SubscriberCounts(by_platform=_by_platform(method, types, "devices_types"))


def parse_subscribers_statistics(document: object) -> SubscribersStatistics:
    """v2 getSubscribersStatistics: the plain body with its ``points``."""
    method = "getSubscribersStatistics"
    body = _object(method, document, "body")
    code, interval, points = body.get("application_code"), body.get("interval"), body.get("points")
    if not isinstance(code, str) or not isinstance(interval, str):
        raise MalformedResponse("application_code or interval is not a string", method=method)
    if not isinstance(points, list):
        raise MalformedResponse("points is not a list", method=method)
    parsed = []
    for i, item in enumerate(points):
        point = _object(method, item, f"points[{i}]")
        platforms = point.get("platforms")
        parsed.append(
            SubscribersPoint(
                timestamp=parse_time(method, point.get("timestamp"), f"points[{i}].timestamp"),
                total=parse_count(method, point.get("total"), f"points[{i}].total"),
                by_platform={}
                if platforms is None
                else _by_platform(method, _object(method, platforms, "platforms"), "platforms"),
            )
        )
    return SubscribersStatistics(application_code=code, interval=interval, points=tuple(parsed))


def parse_count(method: str, value: object, where: str) -> int:
    """A non-negative count: an integer, an integral float, or a string of digits."""
    if isinstance(value, bool):
        raise MalformedResponse(f"{where} is not a count", method=method)
    if isinstance(value, int):
        count = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        count = int(value)
    elif isinstance(value, str) and DIGITS.fullmatch(value):
        count = int(value.strip(" \t"))
    else:
        raise MalformedResponse(f"{where} is not a count", method=method)
    if count < 0:
        raise MalformedResponse(f"{where} is negative", method=method)
    return count


def parse_time(method: str, value: object, where: str, tz: tzinfo = UTC) -> datetime:
    """A time ``Y-m-d H:i:s`` (or a shorter form of it) in the zone ``tz``."""
    if isinstance(value, str):
        moment = _time_of(value, tz)
        if moment is not None:
            return moment
    raise MalformedResponse(f"{where} is not a time", method=method)


@functools.lru_cache(maxsize=1024)
def _time_of(value: str, tz: tzinfo) -> datetime | None:
    """``value`` read by the first of the time formats that fits, or None.

    Remembered: ``strptime`` costs tens of microseconds, a getAppStats answer has a hundred
    rows, and every app's answers carry the same few bucket times (datetimes are immutable).
    """
    text = value.strip()
    for form in _TIME_FORMATS:
        try:
            return datetime.strptime(text, form).replace(tzinfo=tz)
        except ValueError:
            continue
    return None


def _row(method: str, value: object, where: str, tz: tzinfo) -> StatRow:
    document = _object(method, value, where)
    action = document.get("action")
    if not isinstance(action, str):
        raise MalformedResponse(f"{where}.action is not a string", method=method)
    platform = document.get("platformid")
    return StatRow(
        action=action,
        start=parse_time(method, document.get("datetime"), f"{where}.datetime", tz),
        count=parse_count(method, document.get("count"), f"{where}.count"),
        platform=None if platform is None else parse_count(method, platform, f"{where}.platformid"),
    )


def _by_platform(method: str, types: Mapping[str, object], where: str) -> dict[str, int]:
    """Counts by platform label value; names that map to one label are summed."""
    counts: dict[str, int] = {}
    for name, value in types.items():
        label = subscriber_type_name(name)
        counts[label] = counts.get(label, 0) + parse_count(method, value, f"{where}.{name}")
    return counts


def _keys(document: Mapping[str, object]) -> str:
    """The first keys of an object, for an error message."""
    names = sorted(document)
    return ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")


def _object(method: str, value: object, where: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise MalformedResponse(f"{where} is not a JSON object", method=method)
    return value

"""One collector per kind of target: read the API, return what the poll saw.

Each collector turns parsed API results into an :class:`~exporter.store.Observation`:

- ``app_stats`` (getAppStats) -> ``pushwoosh_app_opens_total{app,app_name}``,
  ``pushwoosh_messages_sent_total``... one counter per (scope, action);
- ``subscribers`` (getApplicationSubscribersStats or v2 getSubscribersStatistics) ->
  ``pushwoosh_subscribers{app,app_name,platform}``;
- ``events`` (getEventStatistics, hourly) -> ``pushwoosh_event_triggers_total{...,event}``;
- ``campaign`` (getCampaignStats) -> ``pushwoosh_campaign_*_total{campaign,...}``;
- ``message`` (getMsgStats / getMsgPlatformsStats, lifetime) -> ``pushwoosh_message_*_total``;
- ``tag`` (getTagStats CSV) -> ``pushwoosh_tag_devices{app,tag,value}``.

App and campaign statistics come in buckets as wide as each answer's ``formatter`` says
(docs/counting.md, "Bucket width").
"""

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Protocol

import structlog

from exporter import families, kinds
from exporter.collection.windows import HOUR, MINUTE, ReadPlan, Window, max_span, plan_reads
from exporter.platforms import platform_name
from exporter.pushwoosh.client import PushwooshClient
from exporter.pushwoosh.errors import MalformedResponse
from exporter.pushwoosh.models import (
    BUCKET_SECONDS,
    EventAttribute,
    StatRow,
    StatTable,
    TagSummary,
)
from exporter.store import BucketCount, Observation, Series, TargetKey

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class PollContext:
    """What a poll needs besides its target: the client, the time and the window settings."""

    client: PushwooshClient
    now: float
    lookback: float
    max_catchup: float
    watermark: int | None
    bucket_width: int | None = None
    """The bucket width the target's answers last came in (None: not known yet)."""
    timezone: tzinfo = UTC
    """The zone of the API's v1 times: its hours and days bound the buckets."""


class Collector(Protocol):
    """Polls one target."""

    @property
    def key(self) -> TargetKey:
        """The target's identity: collector kind and target id."""
        ...

    async def collect(self, ctx: PollContext) -> Observation:
        """Read the API once and return what was seen; raises PushwooshError on failure."""
        ...


def utc(seconds: int) -> datetime:
    """Unix seconds -> aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def unix(moment: datetime) -> int:
    """Aware datetime -> Unix seconds."""
    return int(moment.timestamp())


def bucket_start(moment: datetime, within: Window) -> int:
    """A row's time as Unix seconds. A wall time that a DST change repeats is read as its
    first occurrence, unless only the second lies inside the window read."""
    first = unix(moment)
    if first >= within.start:
        return first
    second = unix(moment.replace(fold=1))
    return second if within.start <= second <= within.end else first


def bucket_plan(ctx: PollContext, width: int) -> ReadPlan:
    """The windows of a poll whose buckets are ``width`` seconds wide."""
    return plan_reads(
        ctx.now,
        bucket=width,
        lookback=ctx.lookback,
        watermark=ctx.watermark,
        max_catchup=ctx.max_catchup,
        max_span=max_span(width),
        zone=ctx.timezone,
    )


Tables = list[tuple[str, StatTable]]
"""The tables an answer held, each with the JSON path it came from."""


def answered_width(tables: Tables, method: str) -> int | None:
    """The widest bucket the tables' ``formatter`` names (None: none names one). A table
    without rows counts when its formatter is one we know: quiet answers tell the width too."""
    widest = None
    for where, table in tables:
        width = table.bucket_seconds
        if width is None and not table.rows:
            continue
        if width is None:
            raise MalformedResponse(
                f"{where}.formatter is {table.formatter!r}, not one of"
                f" {', '.join(BUCKET_SECONDS)}: its buckets have no fixed width to count by",
                method=method,
            )
        widest = width if widest is None else max(widest, width)
    return widest


async def read_buckets(
    ctx: PollContext,
    key: TargetKey,
    kind: kinds.Kind,
    fetch: Callable[[Window], Awaitable[Tables]],
) -> tuple[ReadPlan, int, Tables]:
    """Read the poll's windows at the width the target's answers come in.

    The width is whatever the answers' ``formatter`` says (docs/counting.md, "Bucket
    width"). An answer coarser than the plan is read again at once with the window floored
    to its width, so the oldest coarse bucket is read whole; the store keeps the width for
    the next polls.
    """
    width = ctx.bucket_width or kind.bucket_seconds or MINUTE
    method = kind.methods[0]
    for _ in range(len(BUCKET_SECONDS)):
        plan = bucket_plan(ctx, width)
        tables: Tables = []
        for window in plan.windows:
            tables.extend(await fetch(window))
        answered = answered_width(tables, method)
        if answered is not None and answered != width:
            log.info(
                "bucket_width_changed",
                collector=key.collector,
                target=key.target,
                method=method,
                planned=width,
                answered=answered,
            )
        if answered is None or answered <= width:
            return plan, answered or width, tables
        width = answered
    raise MalformedResponse("the bucket width kept growing between reads", method=method)


def sum_buckets(items: Iterable[tuple[Series, int, int]]) -> tuple[BucketCount, ...]:
    """Merge (series, bucket start, count) triples, adding counts of repeated buckets."""
    merged: dict[tuple[Series, int], int] = {}
    for series, start, count in items:
        merged[series, start] = merged.get((series, start), 0) + count
    return tuple(BucketCount(series, start, count) for (series, start), count in merged.items())


def newest(starts: Iterable[int]) -> int | None:
    """The latest bucket start, or None when there is none."""
    return max(starts, default=None)


def bucket_observation(
    key: TargetKey,
    plan: ReadPlan,
    found: list[tuple[Series, int, int]],
    declared: tuple[Series, ...] = (),
    bucket_width: int | None = None,
) -> Observation:
    """What a poll of bucketed counts saw over the windows of ``plan``."""
    return Observation(
        key,
        plan.window_start,
        plan.end,
        buckets=sum_buckets(found),
        declared=declared,
        newest_bucket=newest(start for _, start, _ in found),
        read_from=plan.read_from,
        bucket_width=bucket_width,
    )


@dataclass(frozen=True, slots=True)
class AppStatsCollector:
    """getAppStats of one application."""

    app: str
    app_name: str

    @property
    def key(self) -> TargetKey:
        """``app_stats`` / the app code."""
        return TargetKey(kinds.APP_STATS.name, self.app)

    def counters(self) -> dict[tuple[str, str], Series]:
        """The app's counter of each exported (scope, action)."""
        return {
            scope_action: family.series(app=self.app, app_name=self.app_name)
            for scope_action, family in families.APP_STATS_FAMILIES.items()
        }

    async def collect(self, ctx: PollContext) -> Observation:
        """Read the windows and count every (scope, action) bucket."""

        async def fetch(window: Window) -> Tables:
            stats = await ctx.client.get_app_stats(self.app, utc(window.start), utc(window.end))
            return [
                ("applications", stats.applications),
                ("devices", stats.devices),
                ("messages", stats.messages),
            ]

        plan, width, tables = await read_buckets(ctx, self.key, kinds.APP_STATS, fetch)
        read = Window(plan.read_from, plan.end)
        counters = self.counters()
        found: list[tuple[Series, int, int]] = []
        for scope, table in tables:
            for row in table.rows:
                series = counters.get((scope, row.action))  # None: an action not exported
                if series is not None:
                    found.append((series, bucket_start(row.start, read), row.count))
        return bucket_observation(self.key, plan, found, tuple(counters.values()), width)


@dataclass(frozen=True, slots=True)
class CampaignCollector:
    """getCampaignStats of one campaign."""

    campaign: str
    campaign_name: str

    @property
    def key(self) -> TargetKey:
        """``campaign`` / the campaign code."""
        return TargetKey(kinds.CAMPAIGN.name, self.campaign)

    def series(self, row: StatRow) -> Series | None:
        """The counter of a row's action and platform."""
        family = families.CAMPAIGN_FAMILIES.get(row.action)
        if family is None:
            return None
        platform = platform_name(row.platform) if row.platform is not None else "all"
        return family.series(
            campaign=self.campaign, campaign_name=self.campaign_name, platform=platform
        )

    async def collect(self, ctx: PollContext) -> Observation:
        """Read the windows and count every (action, platform) bucket."""

        async def fetch(window: Window) -> Tables:
            stats = await ctx.client.get_campaign_stats(
                self.campaign, utc(window.start), utc(window.end)
            )
            return [("response", stats.table)]

        plan, width, tables = await read_buckets(ctx, self.key, kinds.CAMPAIGN, fetch)
        read = Window(plan.read_from, plan.end)
        found: list[tuple[Series, int, int]] = []
        for _, table in tables:
            for row in table.rows:
                series = self.series(row)
                if series is not None:
                    found.append((series, bucket_start(row.start, read), row.count))
        return bucket_observation(self.key, plan, found, bucket_width=width)


@dataclass(frozen=True, slots=True)
class EventCollector:
    """getEventStatistics of one event of one application (hourly buckets)."""

    app: str
    app_name: str
    event: str
    attributes: tuple[EventAttribute, ...] = ()

    @property
    def key(self) -> TargetKey:
        """``events`` / ``APP/event``."""
        return TargetKey(kinds.EVENTS.name, f"{self.app}/{self.event}")

    async def collect(self, ctx: PollContext) -> Observation:
        """Read from the start of the hour ``lookback`` ago and count each hourly bucket.

        The API answers whole days: only the hours inside each window are kept (the rest
        of the day is outside the window, or has not happened yet)."""
        plan = plan_reads(
            ctx.now,
            bucket=HOUR,
            lookback=ctx.lookback,
            watermark=ctx.watermark,
            max_catchup=ctx.max_catchup,
            zone=ctx.timezone,
        )
        series = families.EVENT_TRIGGERS.series(
            app=self.app, app_name=self.app_name, event=self.event
        )
        found: list[tuple[Series, int, int]] = []
        active: list[int] = []
        for window in plan.windows:
            buckets = await ctx.client.get_event_statistics(
                self.app, self.event, utc(window.start), utc(window.end), self.attributes
            )
            for bucket in buckets:
                start = bucket_start(bucket.start, window)
                if window.start <= start <= window.end:
                    found.append((series, start, bucket.count))
                if bucket.count:
                    active.append(start)
        # The newest hour with triggers, wherever it lies: an answer in another zone than
        # pushwoosh.timezone shows as a bucket from the future or as growing data lag.
        observation = bucket_observation(self.key, plan, found, (series,), HOUR)
        return replace(observation, newest_bucket=newest(active))


@dataclass(frozen=True, slots=True)
class MessageCollector:
    """getMsgStats (no platforms) or getMsgPlatformsStats of one message: lifetime totals."""

    message: str
    platforms: tuple[int, ...] | None = None

    @property
    def key(self) -> TargetKey:
        """``message`` / the message code."""
        return TargetKey(kinds.MESSAGE.name, self.message)

    async def collect(self, ctx: PollContext) -> Observation:
        """Sum the message's rows per action (and platform) into lifetime totals."""
        if self.platforms is None:
            stats = await ctx.client.get_msg_stats(self.message)
        else:
            stats = await ctx.client.get_msg_platforms_stats(self.message, self.platforms)
        labels = ["all"] if self.platforms is None else [platform_name(p) for p in self.platforms]
        totals: dict[Series, int] = {
            family.series(message=self.message, platform=label): 0
            for family in families.MESSAGE_FAMILIES.values()
            for label in labels
        }
        for row in stats.table.rows:
            family = families.MESSAGE_FAMILIES.get(row.action)
            if family is None:
                continue
            label = "all" if self.platforms is None else platform_name(row.platform or 0)
            series = family.series(message=self.message, platform=label)
            totals[series] = totals.get(series, 0) + row.count
        now = int(ctx.now)
        return Observation(
            self.key,
            now,
            now,
            totals=tuple(totals.items()),
            newest_bucket=newest(unix(row.start) for row in stats.table.rows),
        )


@dataclass(frozen=True, slots=True)
class SubscribersCollector:
    """Subscribers by platform: getApplicationSubscribersStats (v1) or the newest v2 point."""

    app: str
    app_name: str
    version: str = "v1"

    @property
    def key(self) -> TargetKey:
        """``subscribers`` / the app code."""
        return TargetKey(kinds.SUBSCRIBERS.name, self.app)

    async def collect(self, ctx: PollContext) -> Observation:
        """Read the current figures and publish them as gauges."""
        now = int(ctx.now)
        newest_point: int | None = None
        if self.version == "v2":
            stats = await ctx.client.get_subscribers_statistics(
                self.app, utc(now - 2 * HOUR), utc(now)
            )
            if not stats.points:
                raise MalformedResponse(
                    "no points in the answer", method="getSubscribersStatistics"
                )
            point = max(stats.points, key=lambda p: p.timestamp)
            by_platform = point.by_platform
            newest_point = unix(point.timestamp)
        else:
            by_platform = (await ctx.client.get_application_subscribers_stats(self.app)).by_platform
        gauges = tuple(
            (
                families.SUBSCRIBERS.series(app=self.app, app_name=self.app_name, platform=name),
                float(count),
            )
            for name, count in sorted(by_platform.items())
        )
        return Observation(self.key, now, now, gauges=gauges, newest_bucket=newest_point)


@dataclass(frozen=True, slots=True)
class TagCollector:
    """getTagStats of one tag, for one application or account-wide (``app`` empty)."""

    tag: str
    max_values: int
    app: str = ""

    @property
    def key(self) -> TargetKey:
        """``tag`` / ``APP/tag`` or the account-wide tag name."""
        return TargetKey(kinds.TAG.name, f"{self.app}/{self.tag}" if self.app else self.tag)

    async def collect(self, ctx: PollContext) -> Observation:
        """Publish the tag's top ``max_values`` values and the rest summed as ``other``;
        the client reads the file as it downloads and keeps only those."""
        applications: Sequence[str] = (self.app,) if self.app else ()
        summary = await ctx.client.get_tag_stats(self.tag, applications, max_values=self.max_values)
        gauges = tuple(
            (families.TAG_DEVICES.series(app=self.app, tag=self.tag, value=v), n)
            for v, n in sorted(tag_devices(summary).items())
        )
        now = int(ctx.now)
        return Observation(self.key, now, now, gauges=gauges)


def tag_devices(summary: TagSummary) -> dict[str, float]:
    """Devices by tag value as published: the kept rows, rows of one value added up, and,
    when rows were left out, their devices as ``other`` (added to a value of that name)."""
    values: dict[str, float] = {}
    for item in summary.top:
        values[item.value] = values.get(item.value, 0.0) + item.count
    if summary.rest_rows:
        values["other"] = values.get("other", 0.0) + summary.rest_sum
    return values

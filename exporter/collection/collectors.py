"""One collector per kind of target: read the API, return what the poll saw.

Each collector turns parsed API results into an :class:`~exporter.store.Observation`:

- ``app_stats`` (getAppStats, minutely) -> ``pushwoosh_app_opens_total{app,app_name}``,
  ``pushwoosh_messages_sent_total``... one counter per (scope, action);
- ``subscribers`` (getApplicationSubscribersStats or v2 getSubscribersStatistics) ->
  ``pushwoosh_subscribers{app,app_name,platform}``;
- ``events`` (getEventStatistics, hourly) -> ``pushwoosh_event_triggers_total{...,event}``;
- ``campaign`` (getCampaignStats, minutely) -> ``pushwoosh_campaign_*_total{campaign,...}``;
- ``message`` (getMsgStats / getMsgPlatformsStats, lifetime) -> ``pushwoosh_message_*_total``;
- ``tag`` (getTagStats CSV) -> ``pushwoosh_tag_devices{app,tag,value}``.
"""

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from exporter import families
from exporter.collection.windows import HOUR, MAX_MINUTELY_SPAN, MINUTE, ReadPlan, plan_reads
from exporter.platforms import platform_name
from exporter.pushwoosh.client import PushwooshClient
from exporter.pushwoosh.errors import MalformedResponse
from exporter.pushwoosh.models import EventAttribute, StatRow, StatTable
from exporter.store import BucketCount, Observation, Series, TargetKey


@dataclass(frozen=True, slots=True)
class PollContext:
    """What a poll needs besides its target: the client, the time and the window settings."""

    client: PushwooshClient
    now: float
    lookback: float
    max_catchup: float
    watermark: int | None


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


def minutely_plan(ctx: PollContext) -> ReadPlan:
    """The windows of a minutely collector (app and campaign stats)."""
    return plan_reads(
        ctx.now,
        bucket=MINUTE,
        lookback=ctx.lookback,
        watermark=ctx.watermark,
        max_catchup=ctx.max_catchup,
        max_span=MAX_MINUTELY_SPAN,
    )


def require_minutely(table: StatTable, method: str) -> None:
    """Refuse a table the API aggregated coarser than asked: its buckets would not match."""
    if table.rows and table.formatter != "minutely":
        raise MalformedResponse(
            f"expected minutely buckets, got formatter {table.formatter!r}", method=method
        )


@functools.lru_cache(maxsize=1 << 16)
def app_labels(app: str, app_name: str) -> tuple[tuple[str, str], ...]:
    """The labels of an app's series: one tuple per app, shared by its series (memory)."""
    return (("app", app), ("app_name", app_name))


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
    )


@dataclass(frozen=True, slots=True)
class AppStatsCollector:
    """getAppStats of one application."""

    app: str
    app_name: str

    @property
    def key(self) -> TargetKey:
        """``app_stats`` / the app code."""
        return TargetKey("app_stats", self.app)

    def series(self, scope: str, action: str) -> Series | None:
        """The counter of one (scope, action), None for actions we do not export."""
        family = families.APP_STATS_FAMILIES.get((scope, action))
        return Series(family.name, app_labels(self.app, self.app_name)) if family else None

    async def collect(self, ctx: PollContext) -> Observation:
        """Read the minutely windows and count every (scope, action) bucket."""
        plan = minutely_plan(ctx)
        found: list[tuple[Series, int, int]] = []
        for window in plan.windows:
            stats = await ctx.client.get_app_stats(self.app, utc(window.start), utc(window.end))
            for scope, table in (
                ("applications", stats.applications),
                ("devices", stats.devices),
                ("messages", stats.messages),
            ):
                require_minutely(table, "getAppStats")
                for row in table.rows:
                    series = self.series(scope, row.action)
                    if series is not None:
                        found.append((series, unix(row.start), row.count))
        labels = app_labels(self.app, self.app_name)
        declared = tuple(Series(f.name, labels) for f in families.APP_STATS_FAMILIES.values())
        return bucket_observation(self.key, plan, found, declared)


@dataclass(frozen=True, slots=True)
class CampaignCollector:
    """getCampaignStats of one campaign."""

    campaign: str
    campaign_name: str

    @property
    def key(self) -> TargetKey:
        """``campaign`` / the campaign code."""
        return TargetKey("campaign", self.campaign)

    def series(self, row: StatRow) -> Series | None:
        """The counter of a row's action and platform."""
        family = families.CAMPAIGN_FAMILIES.get(row.action)
        if family is None:
            return None
        platform = platform_name(row.platform) if row.platform is not None else "all"
        return Series.of(
            family.name,
            campaign=self.campaign,
            campaign_name=self.campaign_name,
            platform=platform,
        )

    async def collect(self, ctx: PollContext) -> Observation:
        """Read the minutely windows and count every (action, platform) bucket."""
        plan = minutely_plan(ctx)
        found: list[tuple[Series, int, int]] = []
        for window in plan.windows:
            stats = await ctx.client.get_campaign_stats(
                self.campaign, utc(window.start), utc(window.end)
            )
            require_minutely(stats.table, "getCampaignStats")
            for row in stats.table.rows:
                series = self.series(row)
                if series is not None:
                    found.append((series, unix(row.start), row.count))
        return bucket_observation(self.key, plan, found)


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
        return TargetKey("events", f"{self.app}/{self.event}")

    async def collect(self, ctx: PollContext) -> Observation:
        """Read from the start of the hour ``lookback`` ago and count each hourly bucket."""
        plan = plan_reads(
            ctx.now,
            bucket=HOUR,
            lookback=ctx.lookback,
            watermark=ctx.watermark,
            max_catchup=ctx.max_catchup,
        )
        series = Series.of(
            families.EVENT_TRIGGERS.name, app=self.app, app_name=self.app_name, event=self.event
        )
        found: list[tuple[Series, int, int]] = []
        for window in plan.windows:
            buckets = await ctx.client.get_event_statistics(
                self.app, self.event, utc(window.start), utc(window.end), self.attributes
            )
            found.extend((series, unix(b.start), b.count) for b in buckets)
        return bucket_observation(self.key, plan, found, (series,))


@dataclass(frozen=True, slots=True)
class MessageCollector:
    """getMsgStats (no platforms) or getMsgPlatformsStats of one message: lifetime totals."""

    message: str
    platforms: tuple[int, ...] | None = None

    @property
    def key(self) -> TargetKey:
        """``message`` / the message code."""
        return TargetKey("message", self.message)

    async def collect(self, ctx: PollContext) -> Observation:
        """Sum the message's rows per action (and platform) into lifetime totals."""
        if self.platforms is None:
            stats = await ctx.client.get_msg_stats(self.message)
        else:
            stats = await ctx.client.get_msg_platforms_stats(self.message, self.platforms)
        labels = ["all"] if self.platforms is None else [platform_name(p) for p in self.platforms]
        totals: dict[Series, int] = {
            Series.of(family.name, message=self.message, platform=label): 0
            for family in families.MESSAGE_FAMILIES.values()
            for label in labels
        }
        for row in stats.table.rows:
            family = families.MESSAGE_FAMILIES.get(row.action)
            if family is None:
                continue
            label = "all" if self.platforms is None else platform_name(row.platform or 0)
            series = Series.of(family.name, message=self.message, platform=label)
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
        return TargetKey("subscribers", self.app)

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
                Series.of(
                    families.SUBSCRIBERS.name, app=self.app, app_name=self.app_name, platform=name
                ),
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
        return TargetKey("tag", f"{self.app}/{self.tag}" if self.app else self.tag)

    async def collect(self, ctx: PollContext) -> Observation:
        """Download the tag's value counts; keep the top ``max_values``, sum the rest."""
        applications: Sequence[str] = (self.app,) if self.app else ()
        counts = await ctx.client.get_tag_stats(self.tag, applications)
        ranked = sorted(counts, key=lambda c: (-c.count, c.value))
        kept, rest = ranked[: self.max_values], ranked[self.max_values :]
        values: dict[str, float] = {}
        for item in kept:
            values[item.value] = values.get(item.value, 0.0) + item.count
        if rest:
            values["other"] = values.get("other", 0.0) + sum(item.count for item in rest)
        gauges = tuple(
            (Series.of(families.TAG_DEVICES.name, app=self.app, tag=self.tag, value=v), n)
            for v, n in sorted(values.items())
        )
        now = int(ctx.now)
        return Observation(self.key, now, now, gauges=gauges)

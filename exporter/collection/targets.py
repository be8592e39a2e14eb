"""From the config to the list of collectors this replica polls (``--shard=i/n``)."""

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from exporter.collection.collectors import (
    AppStatsCollector,
    CampaignCollector,
    Collector,
    EventCollector,
    MessageCollector,
    SubscribersCollector,
    TagCollector,
)
from exporter.collection.discovery import Discovered
from exporter.collection.windows import HOUR, MAX_MINUTELY_SPAN, MINUTE
from exporter.config import CollectSettings, Config
from exporter.config.durations import format_duration
from exporter.kinds import KINDS
from exporter.pushwoosh.models import EventAttribute
from exporter.store import TargetKey

_SHARD = re.compile(r"^(?:.+-)?(\d+)/(\d+)$")


@dataclass(frozen=True, slots=True)
class Shard:
    """This replica's share of the targets: shard ``index`` of ``count``."""

    index: int = 0
    count: int = 1

    @classmethod
    def parse(cls, text: str) -> "Shard":
        """Parse ``i/n``; ``i`` may carry a prefix ending in ``-`` (a StatefulSet pod name
        such as ``pushwoosh-exporter-2/3``), so a chart can pass the pod name as is."""
        match = _SHARD.match(text.strip())
        if not match:
            raise ValueError(f"--shard must look like INDEX/COUNT, e.g. 0/3 (got {text!r})")
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1 or not 0 <= index < count:
            raise ValueError(f"--shard index must be in 0..COUNT-1 (got {index}/{count})")
        return cls(index, count)

    def owns(self, key: TargetKey) -> bool:
        """Whether this shard polls ``key``: a stable hash of collector and target."""
        if self.count == 1:
            return True
        digest = hashlib.sha256(f"{key.collector}\0{key.target}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index


def build_collectors(
    config: Config, shard: Shard | None = None, discovered: Discovered | None = None
) -> list[Collector]:
    """Every collector the config asks for, listed targets first in config order, then the
    ``discovered`` ones, filtered to ``shard``."""
    found: list[Collector] = []
    for app in config.applications:
        found.extend(app_collectors(app.code, app.display_name, app))
    settings = config.discovery
    if discovered is not None and settings is not None and settings.applications is not None:
        listed = {app.code for app in config.applications}
        for item in discovered.applications:
            if item.code not in listed:  # a listed app wins, even over the last list
                found.extend(app_collectors(item.code, item.name, settings.applications.collect))
    found.extend(CampaignCollector(c.code, c.display_name) for c in config.campaigns)
    if discovered is not None and settings is not None and settings.campaigns is not None:
        listed = {campaign.code for campaign in config.campaigns}
        found.extend(
            CampaignCollector(c.code, c.name) for c in discovered.campaigns if c.code not in listed
        )
    found.extend(
        MessageCollector(m.code, tuple(m.platforms) if m.platforms is not None else None)
        for m in config.messages
    )
    found.extend(TagCollector(tag.name, tag.max_values) for tag in config.tags)
    shard = shard or Shard()
    return [c for c in found if shard.owns(c.key)]


def app_collectors(code: str, name: str, collect: CollectSettings) -> list[Collector]:
    """The collectors of one application, listed or discovered."""
    found: list[Collector] = []
    if collect.app_stats:
        found.append(AppStatsCollector(code, name))
    if collect.subscribers != "off":
        found.append(SubscribersCollector(code, name, collect.subscribers))
    for event in collect.events:
        attributes = tuple(
            EventAttribute(a.name, a.operator, a.filter_values) for a in event.attributes
        )
        found.append(EventCollector(code, name, event.name, attributes))
    found.extend(TagCollector(tag.name, tag.max_values, code) for tag in collect.tags)
    return found


@dataclass(frozen=True, slots=True)
class ApiBudget:
    """What polling some collectors costs against this replica's share of the request limit.

    ``pushwoosh.max_requests_per_minute`` is the account's budget: with ``--shard=i/n``
    each of the n replicas spends 1/n of it.
    """

    by_kind: Mapping[str, float]
    """API calls a minute in steady state, by collector kind."""
    intervals: Mapping[str, float]
    """Seconds between polls, by collector kind present."""
    limit: float
    """Requests a minute this replica may make."""
    account_limit: int
    shards: int
    interval: float
    longest_interval: float
    """The longest interval that keeps each poll to one read (``3h - lookback``) and within
    ``max_catchup``: beyond it the estimate no longer holds, or data is missed."""
    listing: float = 0.0
    """API calls a minute of discovery's listings (its last round over its interval)."""

    @classmethod
    def of(
        cls,
        collectors: list[Collector],
        per_minute: int,
        interval: float,
        *,
        intervals: Mapping[str, float] | None = None,
        shards: int = 1,
        lookback: float = 15 * MINUTE,
        max_catchup: float = 6 * HOUR,
        listing: float = 0.0,
    ) -> "ApiBudget":
        """The budget of polling ``collectors``, each kind at its interval (``intervals``,
        else ``interval`` seconds), and of ``listing`` discovery calls a minute, with
        ``per_minute`` shared by ``shards`` replicas."""
        overrides = intervals or {}
        by_kind: dict[str, float] = {}
        every: dict[str, float] = {}
        for collector in collectors:
            kind = KINDS[collector.key.collector]
            every[kind.name] = overrides.get(kind.name, interval)
            per_poll = kind.calls_per_poll * 60.0 / every[kind.name]
            by_kind[kind.name] = by_kind.get(kind.name, 0.0) + per_poll
        longest = min(MAX_MINUTELY_SPAN - lookback, max_catchup)
        return cls(
            by_kind, every, per_minute / shards, per_minute, shards, interval, longest, listing
        )

    @property
    def per_minute(self) -> float:
        """API calls a minute all the collectors and the listings need in steady state."""
        return sum(self.by_kind.values()) + self.listing

    @property
    def exceeded(self) -> bool:
        """True when the polls cannot keep to their intervals within the limit."""
        return self.per_minute > self.limit

    def advice(self) -> str:
        """One line: what the limit makes of the intervals, and the ways out, the
        recommended per-collector intervals first."""
        share = f"max_requests_per_minute {self.account_limit}"
        if self.shards > 1:
            share += f" shared by {self.shards} shards"
        ways = []
        slower = self._recommended_overrides()
        if slower:
            saved = self._with(slower)
            settings = ", ".join(f"{k}: {format_duration(v)}" for k, v in slower.items())
            ways.append(
                f"set collection.intervals {{{settings}}} (about {saved:.0f} calls a minute)"
            )
        interval = self._interval_that_fits()
        if interval is not None and interval <= self.longest_interval:
            ways.append(f"raise collection.interval to {interval}s")
        ways.append(
            f"raise pushwoosh.max_requests_per_minute to "
            f"{_up(self.per_minute * 1.1 * self.shards)} if the account allows it"
        )
        listing = (
            f" ({self.listing:.0f} of them discovery's listings: a longer discovery.interval"
            " makes fewer)"
            if self.listing >= 1
            else ""
        )
        return (
            f"about {self.per_minute:.0f} API calls a minute{listing} but {share} allows"
            f" {self.limit:.0f} to this replica, so each poll comes about"
            f" {self.per_minute / self.limit:.1f} times later than its interval: "
            + ", or ".join(ways)
        )

    def _recommended_overrides(self) -> dict[str, timedelta]:
        """The shipped intervals of the kinds polled more often than recommended."""
        found = {}
        for name in self.by_kind:
            recommended = KINDS[name].recommended_interval
            if recommended and self.intervals[name] < recommended.total_seconds():
                found[name] = recommended
        return found

    def _with(self, slower: Mapping[str, timedelta]) -> float:
        """Calls a minute with ``slower`` intervals for some kinds."""
        return (
            sum(
                calls * self.intervals[name] / slower[name].total_seconds()
                if name in slower
                else calls
                for name, calls in self.by_kind.items()
            )
            + self.listing
        )

    def _interval_that_fits(self) -> int | None:
        """The collection interval that brings the calls within the limit with a 10% margin
        (the kinds with their own interval keep it); None if those alone exceed it."""
        own = self.listing + sum(
            c for k, c in self.by_kind.items() if self.intervals[k] != self.interval
        )
        scaled = sum(c for k, c in self.by_kind.items() if self.intervals[k] == self.interval)
        room = self.limit / 1.1 - own
        if scaled == 0 or room <= 0:
            return None
        return _up(scaled * self.interval / room)


def _up(value: float) -> int:
    """Round up, ignoring float noise (13600 * 1.1 is 14960, not 14961)."""
    return math.ceil(round(value, 6))

"""From the config to the list of collectors this replica polls (``--shard=i/n``)."""

import hashlib
import math
import re
from dataclasses import dataclass

from exporter.collection.collectors import (
    AppStatsCollector,
    CampaignCollector,
    Collector,
    EventCollector,
    MessageCollector,
    SubscribersCollector,
    TagCollector,
)
from exporter.collection.windows import HOUR, MAX_MINUTELY_SPAN, MINUTE
from exporter.config import Config
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


def build_collectors(config: Config, shard: Shard | None = None) -> list[Collector]:
    """Every collector the config asks for, in config order, filtered to ``shard``."""
    found: list[Collector] = []
    for app in config.applications:
        name = app.display_name
        if app.app_stats:
            found.append(AppStatsCollector(app.code, name))
        if app.subscribers != "off":
            found.append(SubscribersCollector(app.code, name, app.subscribers))
        for event in app.events:
            attributes = tuple(
                EventAttribute(a.name, a.operator, a.filter_values) for a in event.attributes
            )
            found.append(EventCollector(app.code, name, event.name, attributes))
        found.extend(TagCollector(tag.name, tag.max_values, app.code) for tag in app.tags)
    found.extend(CampaignCollector(c.code, c.display_name) for c in config.campaigns)
    found.extend(
        MessageCollector(m.code, tuple(m.platforms) if m.platforms is not None else None)
        for m in config.messages
    )
    found.extend(TagCollector(tag.name, tag.max_values) for tag in config.tags)
    shard = shard or Shard()
    return [c for c in found if shard.owns(c.key)]


SCHEDULED_CALLS = 2.1
"""API calls one poll of a scheduled method costs: the request and, on average, about 1.1
getResults (``bench.api_calls`` measures 2.06 to 2.13)."""
CALLS_PER_POLL = {"subscribers": 1.0, "tag": SCHEDULED_CALLS + 1.0}
"""Methods that differ: subscribers are synchronous; a tag poll also downloads its CSV."""


@dataclass(frozen=True, slots=True)
class ApiBudget:
    """What one collection cycle of some collectors costs against the request limit."""

    calls: float
    """Expected API calls per cycle in steady state."""
    allowed: float
    """Requests the limit allows in one interval."""
    per_minute: int
    interval: float
    longest_interval: float
    """The longest interval that keeps each poll to one read (``3h - lookback``) and within
    ``max_catchup``: beyond it the estimate no longer holds, or data is missed."""

    @classmethod
    def of(
        cls,
        collectors: list[Collector],
        per_minute: int,
        interval: float,
        *,
        lookback: float = 15 * MINUTE,
        max_catchup: float = 6 * HOUR,
    ) -> "ApiBudget":
        """The budget of polling ``collectors`` every ``interval`` seconds."""
        calls = sum(CALLS_PER_POLL.get(c.key.collector, SCHEDULED_CALLS) for c in collectors)
        longest = min(MAX_MINUTELY_SPAN - lookback, max_catchup)
        return cls(calls, per_minute * interval / 60.0, per_minute, interval, longest)

    @property
    def exceeded(self) -> bool:
        """True when a cycle cannot finish within the interval."""
        return self.calls > self.allowed

    def advice(self) -> str:
        """One line: what the limit makes of the interval, and the ways out."""
        cycle = self.calls / self.per_minute * 60.0
        interval = _up(cycle * 1.1)
        ways = [
            f"raise pushwoosh.max_requests_per_minute to "
            f"{_up(self.calls * 1.1 * 60.0 / self.interval)} if the account allows it",
            "split the targets over replicas with --shard (each replica has its own limit, "
            "the account sees their sum)",
        ]
        if interval <= self.longest_interval:
            ways.insert(0, f"raise collection.interval to {interval}s")
        return (
            f"about {self.calls:.0f} API calls per cycle but max_requests_per_minute "
            f"{self.per_minute} allows {self.allowed:.0f} per {self.interval:g} s interval, so "
            f"each cycle takes about {cycle:.0f} s: " + ", or ".join(ways)
        )


def _up(value: float) -> int:
    """Round up, ignoring float noise (13600 * 1.1 is 14960, not 14961)."""
    return math.ceil(round(value, 6))

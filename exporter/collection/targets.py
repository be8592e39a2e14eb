"""From the config to the list of collectors this replica polls (``--shard=i/n``)."""

import hashlib
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
                EventAttribute(a.name, a.operator, a.value) for a in event.attributes
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

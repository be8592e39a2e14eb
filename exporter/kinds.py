"""The kinds of collector: one declaration each, read by everything that needs to know them.

A kind's ``name`` is the ``collector`` label of the exporter's own metrics and the key of
``collection.intervals`` in the config. The scheduler takes its interval, the start-up budget
advice its calls per poll, ``--probe`` its methods, the config its name and recommended
interval, from here; no other module spells a kind's name.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

SCHEDULED_CALLS: Final = 2.1
"""API calls one poll of a scheduled method costs: the request and, on average, about 1.1
getResults (``bench.api_calls`` measures 2.06 to 2.13)."""


@dataclass(frozen=True, slots=True)
class Kind:
    """One kind of collector."""

    name: str
    """The ``collector`` label value and the ``collection.intervals`` key."""
    methods: tuple[str, ...]
    """The API methods a poll may call (besides getResults)."""
    bucket_seconds: int | None
    """The bucket width it plans its windows for; None for gauges and lifetime totals."""
    calls_per_poll: float
    """API calls one poll costs in steady state."""
    recommended_interval: timedelta | None
    """The interval the example config ships for it; None: the collection interval."""
    what: str
    """What it collects, for the schema and the docs."""


APP_STATS: Final = Kind(
    "app_stats", ("getAppStats",), 60, SCHEDULED_CALLS, None, "getAppStats counters"
)
SUBSCRIBERS: Final = Kind(
    "subscribers",
    ("getApplicationSubscribersStats", "getSubscribersStatistics"),
    None,
    1.0,
    timedelta(minutes=5),
    "subscriber gauges (they move slowly)",
)
EVENTS: Final = Kind(
    "events",
    ("getEventStatistics",),
    3600,
    SCHEDULED_CALLS,
    timedelta(minutes=5),
    "event triggers (hourly buckets need no minutely polling)",
)
CAMPAIGN: Final = Kind(
    "campaign", ("getCampaignStats",), 60, SCHEDULED_CALLS, None, "campaign counters"
)
MESSAGE: Final = Kind(
    "message",
    ("getMsgStats", "getMsgPlatformsStats"),
    None,
    SCHEDULED_CALLS,
    timedelta(minutes=5),
    "message lifetime totals (deprecated methods)",
)
TAG: Final = Kind(
    "tag",
    ("getTagStats",),
    None,
    SCHEDULED_CALLS + 1.0,  # the CSV download
    timedelta(minutes=15),
    "tag value gauges",
)

KINDS: Final[dict[str, Kind]] = {
    kind.name: kind for kind in (APP_STATS, SUBSCRIBERS, EVENTS, CAMPAIGN, MESSAGE, TAG)
}
"""Every kind, by name, in the order the docs list them."""

"""Values the client returns: parsed, typed, immutable. Times are timezone-aware."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StatRow:
    """One bucket of one action: ``count`` events in the bucket starting at ``start``."""

    action: str
    start: datetime
    count: int
    platform: int | None = None
    """Platform code, for methods whose rows carry ``platformid``."""


BUCKET_SECONDS = {"minutely": 60, "hourly": 3600, "daily": 86400}
"""The bucket width each ``formatter`` names. Months and years have no fixed width, so
answers in them cannot be counted exactly and are refused as malformed."""


@dataclass(frozen=True, slots=True)
class StatTable:
    """A ``{formatter, rows}`` object: the bucket size and the rows."""

    formatter: str
    rows: tuple[StatRow, ...]

    @property
    def bucket_seconds(self) -> int | None:
        """The width of the buckets the formatter names; None when it names none (an
        empty table may come without one)."""
        return BUCKET_SECONDS.get(self.formatter)


@dataclass(frozen=True, slots=True)
class AppStats:
    """getAppStats: the three scopes (applications, devices, messages)."""

    applications: StatTable
    devices: StatTable
    messages: StatTable


@dataclass(frozen=True, slots=True)
class Conversion:
    """The ``conversion`` totals of campaign and message statistics."""

    send: int = 0
    delivery: int = 0
    open: int = 0


@dataclass(frozen=True, slots=True)
class CampaignStats:
    """getCampaignStats: rows with ``platform`` set, plus conversion totals."""

    table: StatTable
    conversion: Conversion


@dataclass(frozen=True, slots=True)
class MessageStats:
    """getMsgStats / getMsgPlatformsStats: lifetime rows of one message."""

    table: StatTable
    conversion: Conversion


@dataclass(frozen=True, slots=True)
class EventBucket:
    """getEventStatistics: ``count`` triggers in the hour starting at ``start``."""

    start: datetime
    count: int


@dataclass(frozen=True, slots=True)
class EventAttribute:
    """One attribute filter of getEventStatistics: the attribute ``name`` compared by
    ``operator`` (``EQ``) with any of ``values``."""

    name: str
    operator: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TagValueCount:
    """getTagStats: ``count`` devices have ``value`` for the tag."""

    value: str
    count: int


@dataclass(frozen=True, slots=True)
class TagSummary:
    """A tag file as the exporter keeps it: the rows with the most devices, and the rest."""

    top: tuple[TagValueCount, ...]
    """At most ``max_values`` rows, most devices first, ties by value (smaller first)."""
    rest_rows: int = 0
    """Rows of the file not in ``top``; when there are any, their devices go to ``other``."""
    rest_sum: int = 0
    """Devices of those rows."""


@dataclass(frozen=True, slots=True)
class SubscriberCounts:
    """getApplicationSubscribersStats: subscribers by platform label value (``ios``...)."""

    by_platform: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class SubscribersPoint:
    """One point of v2 getSubscribersStatistics."""

    timestamp: datetime
    total: int
    by_platform: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SubscribersStatistics:
    """v2 getSubscribersStatistics: points at ``interval`` (``hour``, ``day``...)."""

    application_code: str
    interval: str
    points: tuple[SubscribersPoint, ...]


class RequestObserver(Protocol):
    """Told about every HTTP attempt; the exporter turns this into self-metrics."""

    def request_finished(self, method: str, seconds: float, failure: str | None) -> None:
        """One attempt of ``method`` took ``seconds``; ``failure`` is a reason or None."""
        ...

    def results_timed_out(self, method: str) -> None:
        """A ``method`` job was still pending at ``results_timeout``: given up."""
        ...


@dataclass(frozen=True, slots=True)
class ApplicationsPage:
    """One page of getApplications: application code -> title."""

    applications: Mapping[str, str]
    page: int
    total: int
    """The number of pages."""


@dataclass(frozen=True, slots=True)
class CampaignInfo:
    """One campaign of getCampaigns."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class TagInfo:
    """One tag of listTags."""

    name: str
    type: int | None

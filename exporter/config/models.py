"""The config file's schema as strict pydantic models: what README "Configuration" promises.

Every model forbids unknown keys and takes types as written (no ``"5"`` for 5, no ``"yes"``
for true); models are frozen. The attribute docstrings become the JSON Schema's
descriptions. Errors raised here are sentences; :mod:`exporter.config.messages` adds the key
path and line.
"""

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from exporter.config.durations import Duration, format_duration
from exporter.config.fields import (
    CollectorIntervals,
    HttpUrl,
    Pattern,
    Platform,
    PositiveDuration,
    Text,
    TimeZoneName,
    at_least,
    at_most,
    reject_duplicates,
)

MAX_LOOKBACK = timedelta(hours=3)
"""The longest lookback: each poll re-reads at most this much history."""

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True, use_attribute_docstrings=True)


class EventAttributeConfig(BaseModel):
    """One attribute filter of an event count, e.g. ``{name: plan, values: [pro, business]}``."""

    model_config = _STRICT

    name: Text
    """The event attribute's name."""
    operator: Text = "EQ"
    """How the attribute compares with the values (the API documents EQ)."""
    values: Annotated[list[str], Field(min_length=1)] | None = None
    """The values to compare with (strings: quote numbers); a trigger matches any of them."""
    value: str | None = None
    """Shorthand for ``values: [value]``."""

    @model_validator(mode="after")
    def _values_given_once(self) -> "EventAttributeConfig":
        if self.values is None and self.value is None:
            raise PydanticCustomError(
                "attribute_values", "needs values: [a, b] (or value: a for a single value)"
            )
        if self.values is not None and self.value is not None:
            raise PydanticCustomError(
                "attribute_values",
                "has both value and values: keep values: [a, b] (value: a is its shorthand)",
            )
        return self

    @property
    def filter_values(self) -> tuple[str, ...]:
        """The values a trigger's attribute is compared with."""
        return tuple(self.values) if self.values is not None else (str(self.value),)


class EventConfig(BaseModel):
    """A custom event counted by getEventStatistics (hourly buckets)."""

    model_config = _STRICT

    name: Text
    """The event's name: the label event."""
    attributes: list[EventAttributeConfig] = []
    """Optional filters: count only triggers with these attribute values."""


class TagConfig(BaseModel):
    """A tag whose device counts per value getTagStats reports; the top ``max_values`` are kept."""

    model_config = _STRICT

    name: Text
    """The tag's name: the label tag."""
    max_values: int = Field(default=20, ge=1)
    """Keep the values with the most devices; the rest sum into value="other"."""


def _unique_tags(tags: list[TagConfig]) -> list[TagConfig]:
    reject_duplicates(tags, lambda t: t.name, "name", "tag")
    return tags


class CollectSettings(BaseModel):
    """What is collected for one application."""

    model_config = _STRICT

    app_stats: bool = True
    """Collect getAppStats (opens, installs, registrations, messages)."""
    subscribers: Literal["v1", "v2", "off"] = "v1"
    """v1: getApplicationSubscribersStats; v2: getSubscribersStatistics; off: none."""
    events: list[EventConfig] = []
    """Events counted by getEventStatistics."""
    tags: list[TagConfig] = []
    """Tags of this application counted by getTagStats."""

    @field_validator("events")
    @classmethod
    def _unique_events(cls, events: list[EventConfig]) -> list[EventConfig]:
        reject_duplicates(events, lambda e: e.name, "name", "event")
        return events

    _unique_tags = field_validator("tags")(_unique_tags)

    @model_validator(mode="after")
    def _collects_something(self) -> "CollectSettings":
        if not (self.app_stats or self.subscribers != "off" or self.events or self.tags):
            raise PydanticCustomError(
                "nothing",
                "collects nothing: app_stats is false, subscribers is 'off' and it has no"
                " events or tags",
            )
        return self


class ApplicationConfig(CollectSettings):
    """An application: its app stats, subscribers, events and tags."""

    code: Text
    """The application code, e.g. ABCDE-12345: the label app."""
    name: Text | None = None
    """The label app_name; defaults to the code."""

    @property
    def display_name(self) -> str:
        """The ``app_name`` label: the configured name, else the code."""
        return self.name or self.code


class CampaignConfig(BaseModel):
    """A campaign counted by getCampaignStats."""

    model_config = _STRICT

    code: Text
    """The campaign code: the label campaign."""
    name: Text | None = None
    """The label campaign_name; defaults to the code."""

    @property
    def display_name(self) -> str:
        """The ``campaign_name`` label: the configured name, else the code."""
        return self.name or self.code


class MessageConfig(BaseModel):
    """A message of the deprecated getMsgStats, or getMsgPlatformsStats when platforms are given."""

    model_config = _STRICT

    code: Text
    """The message code: the label message."""
    platforms: Annotated[list[Platform], Field(min_length=1)] | None = None
    """Platform codes or names for getMsgPlatformsStats; leave out for getMsgStats."""

    @field_validator("platforms")
    @classmethod
    def _unique_platforms(cls, platforms: list[int] | None) -> list[int] | None:
        reject_duplicates(platforms or [], lambda p: p, "", "platform")
        return platforms


class PushwooshSettings(BaseModel):
    """Where and how fast the exporter talks to the API; the token itself is never here."""

    model_config = _STRICT

    api_url: HttpUrl = "https://api.pushwoosh.com"
    """The API's base URL (the simulator's in tests and the demo)."""
    api_token_file: Annotated[Path | None, Field(strict=False)] = None
    """A file holding the API token; without it, PUSHWOOSH_API_TOKEN is used."""
    request_timeout: PositiveDuration = timedelta(seconds=10)
    """Timeout of one HTTP request."""
    max_concurrent_requests: int = Field(default=4, ge=1)
    """API requests in flight at once."""
    max_requests_per_minute: int = Field(default=600, ge=1)
    """API requests started per minute."""
    results_timeout: PositiveDuration = timedelta(seconds=120)
    """Give up on one getResults job after this."""
    timezone: TimeZoneName = "UTC"
    """IANA zone of the v1 API's dates and times (Pushwoosh does not document it)."""

    @property
    def zone(self) -> ZoneInfo:
        """``timezone`` as a tzinfo."""
        return ZoneInfo(self.timezone)


class CollectionSettings(BaseModel):
    """How often targets are polled and how much history each poll re-reads."""

    model_config = _STRICT

    interval: Annotated[Duration, at_least(timedelta(seconds=1))] = timedelta(seconds=60)
    """How often each target is polled."""
    intervals: CollectorIntervals = {}
    """Per collector (keys: the collector label values), an interval other than ``interval``."""
    lookback: Annotated[PositiveDuration, at_most(MAX_LOOKBACK)] = timedelta(minutes=15)
    """How much history each poll re-reads, for late data; at most 3h."""
    max_catchup: Duration = timedelta(hours=6)
    """How far back a poll reaches after failed polls, downtime with a state file, or a long
    per-collector interval; at least the lookback and every interval."""

    @model_validator(mode="after")
    def _catchup_covers_lookback(self) -> "CollectionSettings":
        if self.max_catchup < self.lookback:
            raise PydanticCustomError(
                "bound",
                "must be at least the lookback, {lookback} (got {got})",
                {
                    "lookback": format_duration(self.lookback),
                    "got": format_duration(self.max_catchup),
                    "at": ("max_catchup",),
                },
            )
        for name, interval in self.intervals.items():
            if interval > self.max_catchup:
                raise PydanticCustomError(
                    "bound",
                    "must be at most max_catchup, {limit} (got {got}): a poll reads back to the"
                    " previous one at most that far",
                    {
                        "limit": format_duration(self.max_catchup),
                        "got": format_duration(interval),
                        "at": ("intervals", name),
                    },
                )
        return self

    def interval_of(self, kind: str) -> timedelta:
        """The interval of the collectors of ``kind``."""
        return self.intervals.get(kind, self.interval)


class TargetFilter(BaseModel):
    """Which discovered targets are kept: ``include`` (any matches; empty: all) and not
    ``exclude`` (any matches), each a regular expression searched in the code and the title."""

    model_config = _STRICT

    include: list[Pattern] = []
    """Keep a target when one of these matches its code or title (empty: every target)."""
    exclude: list[Pattern] = []
    """Drop a target when one of these matches its code or title (wins over include)."""

    def keeps(self, code: str, title: str) -> bool:
        """Whether a target with this code and title passes the filter."""

        def found(patterns: list[str]) -> bool:
            return any(re.search(p, code) or re.search(p, title) for p in patterns)

        return (not self.include or found(self.include)) and not found(self.exclude)


class ApplicationDiscovery(TargetFilter):
    """getApplications: every application the token sees, filtered."""

    collect: CollectSettings = CollectSettings()
    """What each discovered application collects (an applications entry without code and name)."""


class CampaignDiscovery(TargetFilter):
    """getCampaigns of every collected application, filtered."""

    max: int = Field(default=200, ge=1)
    """At most this many discovered campaigns, the first in listing order (listed ones do not
    count)."""


class DiscoverySettings(BaseModel):
    """Targets found from the token; listed targets win over discovered ones with their code."""

    model_config = _STRICT

    interval: Annotated[Duration, at_least(timedelta(seconds=1))] = timedelta(minutes=10)
    """How often the lists are read again."""
    applications: ApplicationDiscovery | None = None
    """Discover applications (getApplications)."""
    campaigns: CampaignDiscovery | None = None
    """Discover the campaigns of the collected applications (getCampaigns)."""

    @model_validator(mode="after")
    def _discovers_something(self) -> "DiscoverySettings":
        if self.applications is None and self.campaigns is None:
            raise PydanticCustomError(
                "nothing", "discovers nothing: give applications, campaigns or both"
            )
        return self


class Config(BaseModel):
    """The whole config file."""

    model_config = _STRICT

    pushwoosh: PushwooshSettings = PushwooshSettings()
    """The API connection."""
    collection: CollectionSettings = CollectionSettings()
    """Polling."""
    applications: list[ApplicationConfig] = []
    """Applications to collect."""
    campaigns: list[CampaignConfig] = []
    """Campaigns to collect."""
    messages: list[MessageConfig] = []
    """Messages to collect (deprecated methods, for legacy users)."""
    tags: list[TagConfig] = []
    """Account-wide tags (getTagStats without applications)."""
    discovery: DiscoverySettings | None = None
    """Find applications and campaigns from the token, besides the listed ones."""

    @field_validator("applications")
    @classmethod
    def _unique_applications(cls, apps: list[ApplicationConfig]) -> list[ApplicationConfig]:
        reject_duplicates(apps, lambda a: a.code, "code", "application code")
        return apps

    @field_validator("campaigns")
    @classmethod
    def _unique_campaigns(cls, campaigns: list[CampaignConfig]) -> list[CampaignConfig]:
        reject_duplicates(campaigns, lambda c: c.code, "code", "campaign code")
        return campaigns

    @field_validator("messages")
    @classmethod
    def _unique_messages(cls, messages: list[MessageConfig]) -> list[MessageConfig]:
        reject_duplicates(messages, lambda m: m.code, "code", "message code")
        return messages

    _unique_tags = field_validator("tags")(_unique_tags)

    @model_validator(mode="after")
    def _has_targets(self) -> "Config":
        listed = self.applications or self.campaigns or self.messages or self.tags
        if not (listed or self.discovery):
            raise PydanticCustomError(
                "no_targets",
                "nothing to collect: list at least one application, campaign, message or tag,"
                " or turn on discovery",
            )
        return self

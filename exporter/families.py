"""The metric families the exporter publishes from Pushwoosh data: names, types, HELP, labels.

A family owns its label names: every series is built through its family
(``SUBSCRIBERS.series(app=..., app_name=..., platform=...)``), which refuses a missing or an
extra label and puts the labels in the family's declared order, so no keyword order anywhere
can mislabel a sample. The exposition layer renders the families with their HELP text.
"""

import functools
from dataclasses import dataclass, field
from typing import Final, Literal

from exporter.store import Series


@dataclass(frozen=True, slots=True)
class Family:
    """One metric family: full sample name (with ``_total`` for counters), type, HELP and
    label names, in the order its series carry them."""

    name: str
    kind: Literal["counter", "gauge"]
    help: str
    labels: tuple[str, ...]
    _names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(set(self.labels)) != len(self.labels):
            raise ValueError(f"{self.name}: a label name is declared twice in {self.labels}")
        object.__setattr__(self, "_names", frozenset(self.labels))

    def series(self, **labels: str) -> Series:
        """The series of this family with these label values, whatever the keyword order.

        Raises ``ValueError`` naming the labels missing or not declared by the family.
        """
        if labels.keys() != self._names:
            missing = [name for name in self.labels if name not in labels]
            extra = sorted(name for name in labels if name not in self._names)
            problems = [f"missing {', '.join(missing)}"] if missing else []
            problems += [f"not declared {', '.join(extra)}"] if extra else []
            raise ValueError(
                f"{self.name} has the labels {', '.join(self.labels)}: {'; '.join(problems)}"
            )
        values = tuple([labels[name] for name in self.labels])
        return Series(self.name, _label_pairs(self.labels, values))


@functools.lru_cache(maxsize=256)
def _label_pairs(names: tuple[str, ...], values: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The label pairs of a series, one tuple shared by the series built one after another
    with the same labels (an app's six getAppStats counters hold one). Only the recent label
    sets are remembered: most belong to a single series (an event's, a platform's)."""
    return tuple([_pair(pair) for pair in zip(names, values, strict=True)])


_PAIRS: dict[tuple[str, str], tuple[str, str]] = {}
"""Label pairs in use, each held once: an app's ``("app", code)`` is shared by its events'
and subscribers' series, ``("event", name)`` by every app's series of that event. At
7,000 targets that is about 200 bytes a target less."""
_MAX_PAIRS = 1 << 14
"""Forgotten all at once beyond this many (values that come and go, such as tag values,
must not grow it forever); the series built before keep theirs."""


def _pair(pair: tuple[str, str]) -> tuple[str, str]:
    """The pair equal to ``pair`` already in use, or ``pair`` from now on."""
    found = _PAIRS.get(pair)
    if found is None:
        if len(_PAIRS) >= _MAX_PAIRS:
            _PAIRS.clear()
        found = _PAIRS[pair] = pair
    return found


APP = ("app", "app_name")
CAMPAIGN = ("campaign", "campaign_name", "platform")
MESSAGE = ("message", "platform")

APP_OPENS = Family(
    "pushwoosh_app_opens_total", "counter", "App opens (getAppStats applications/open).", APP
)
APP_INSTALLS = Family(
    "pushwoosh_app_installs_total",
    "counter",
    "App installs (getAppStats applications/install).",
    APP,
)
DEVICE_REGISTRATIONS = Family(
    "pushwoosh_device_registrations_total",
    "counter",
    "Device registrations for push (getAppStats devices/register).",
    APP,
)
DEVICE_UNREGISTRATIONS = Family(
    "pushwoosh_device_unregistrations_total",
    "counter",
    "Device unregistrations from push (getAppStats devices/unregister).",
    APP,
)
MESSAGES_SENT = Family(
    "pushwoosh_messages_sent_total",
    "counter",
    "Push messages sent (getAppStats messages/send).",
    APP,
)
MESSAGES_OPENED = Family(
    "pushwoosh_messages_opened_total",
    "counter",
    "Push messages opened (getAppStats messages/open).",
    APP,
)
SUBSCRIBERS = Family(
    "pushwoosh_subscribers",
    "gauge",
    "Subscribed devices by platform (getApplicationSubscribersStats, or the newest point "
    "of v2 getSubscribersStatistics).",
    ("app", "app_name", "platform"),
)
EVENT_TRIGGERS = Family(
    "pushwoosh_event_triggers_total",
    "counter",
    "Times the event was triggered (getEventStatistics, hourly buckets).",
    ("app", "app_name", "event"),
)
CAMPAIGN_SENT = Family(
    "pushwoosh_campaign_messages_sent_total",
    "counter",
    "Campaign messages sent (getCampaignStats send).",
    CAMPAIGN,
)
CAMPAIGN_DELIVERED = Family(
    "pushwoosh_campaign_messages_delivered_total",
    "counter",
    "Campaign messages delivered (getCampaignStats delivery).",
    CAMPAIGN,
)
CAMPAIGN_OPENED = Family(
    "pushwoosh_campaign_messages_opened_total",
    "counter",
    "Campaign messages opened (getCampaignStats open).",
    CAMPAIGN,
)
CAMPAIGN_INBOX_OPENS = Family(
    "pushwoosh_campaign_inbox_opens_total",
    "counter",
    "Campaign messages opened from the inbox (getCampaignStats inboxopen).",
    CAMPAIGN,
)
MESSAGE_SENT = Family(
    "pushwoosh_message_sent_total",
    "counter",
    "Lifetime sends of a message (getMsgStats / getMsgPlatformsStats send).",
    MESSAGE,
)
MESSAGE_DELIVERED = Family(
    "pushwoosh_message_delivered_total",
    "counter",
    "Lifetime deliveries of a message (getMsgStats / getMsgPlatformsStats delivery).",
    MESSAGE,
)
MESSAGE_OPENED = Family(
    "pushwoosh_message_opened_total",
    "counter",
    "Lifetime opens of a message (getMsgStats / getMsgPlatformsStats open).",
    MESSAGE,
)
MESSAGE_INBOX_OPENS = Family(
    "pushwoosh_message_inbox_opens_total",
    "counter",
    "Lifetime inbox opens of a message (getMsgStats / getMsgPlatformsStats inboxopen).",
    MESSAGE,
)
TAG_DEVICES = Family(
    "pushwoosh_tag_devices",
    "gauge",
    'Devices per tag value, top values by count, the rest summed into value="other" '
    "(getTagStats CSV; app is empty for account-wide tags).",
    ("app", "tag", "value"),
)

DATA_FAMILIES: Final[tuple[Family, ...]] = (
    APP_OPENS,
    APP_INSTALLS,
    DEVICE_REGISTRATIONS,
    DEVICE_UNREGISTRATIONS,
    MESSAGES_SENT,
    MESSAGES_OPENED,
    SUBSCRIBERS,
    EVENT_TRIGGERS,
    CAMPAIGN_SENT,
    CAMPAIGN_DELIVERED,
    CAMPAIGN_OPENED,
    CAMPAIGN_INBOX_OPENS,
    MESSAGE_SENT,
    MESSAGE_DELIVERED,
    MESSAGE_OPENED,
    MESSAGE_INBOX_OPENS,
    TAG_DEVICES,
)
"""Every family of Pushwoosh data, in exposition order."""

APP_STATS_FAMILIES: Final[dict[tuple[str, str], Family]] = {
    ("applications", "open"): APP_OPENS,
    ("applications", "install"): APP_INSTALLS,
    ("devices", "register"): DEVICE_REGISTRATIONS,
    ("devices", "unregister"): DEVICE_UNREGISTRATIONS,
    ("messages", "send"): MESSAGES_SENT,
    ("messages", "open"): MESSAGES_OPENED,
}
"""getAppStats (scope, action) -> counter family."""

CAMPAIGN_FAMILIES: Final[dict[str, Family]] = {
    "send": CAMPAIGN_SENT,
    "delivery": CAMPAIGN_DELIVERED,
    "open": CAMPAIGN_OPENED,
    "inboxopen": CAMPAIGN_INBOX_OPENS,
}
"""getCampaignStats action -> counter family."""

MESSAGE_FAMILIES: Final[dict[str, Family]] = {
    "send": MESSAGE_SENT,
    "delivery": MESSAGE_DELIVERED,
    "open": MESSAGE_OPENED,
    "inboxopen": MESSAGE_INBOX_OPENS,
}
"""getMsgStats action -> counter family."""

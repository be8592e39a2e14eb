"""Discovery: the applications and campaigns the token can list, filtered by the config.

Each round reads getApplications page by page and getCampaigns of every collected
application by cursor, keeps what the ``include``/``exclude`` regexes let through (a listed
target wins over a discovered one with its code) and at most ``campaigns.max`` campaigns.
A listing that fails keeps the last list it had (at start: none, so the listed targets run
alone; for campaigns, per application) and is logged once per failing streak. See the
README, "Discovery".
"""

import asyncio
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import structlog

from exporter.config import DiscoverySettings
from exporter.pushwoosh.client import PushwooshClient
from exporter.pushwoosh.errors import ArgumentError, PushwooshError

log = structlog.get_logger(__name__)

APPLICATIONS = "applications"
CAMPAIGNS = "campaigns"
LISTINGS = (APPLICATIONS, CAMPAIGNS)
"""The ``kind`` label values of the discovery self-metrics."""

MAX_PAGES = 10_000
"""No account has more pages than this: a server that never ends a listing is cut here."""
CAMPAIGN_PAGE = 100
"""Campaigns asked for per getCampaigns call."""
CAMPAIGN_LISTINGS_AT_ONCE = 2
"""Apps whose campaigns are listed at the same time: discovery trickles beside the polls
instead of queueing a call per app in front of them."""


@dataclass(frozen=True, slots=True)
class Found:
    """A discovered target: its code and title (the code when the API gives no title)."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Discovered:
    """What the last successful listings kept after the filters (listed targets left out)."""

    applications: tuple[Found, ...] = ()
    campaigns: tuple[Found, ...] = ()


@dataclass(frozen=True, slots=True)
class ListingStatus:
    """The state of one listing, for the self-metrics and the landing page."""

    up: bool = False
    targets: int = 0
    last_success: float | None = None
    last_error: str | None = None
    reason: str | None = None
    """The failure reason of the last listing (as in the metrics), None when it worked."""


@dataclass(slots=True)
class Calls:
    """API calls a listing made (counted as they are made, failed ones included)."""

    made: int = 0


async def list_applications(
    client: PushwooshClient, calls: Calls | None = None
) -> tuple[Found, ...]:
    """Every application of the token, page after page until one adds nothing or the
    last page (``total``) is read."""
    calls = calls if calls is not None else Calls()
    found: dict[str, str] = {}
    for page in range(1, MAX_PAGES + 1):
        calls.made += 1
        answer = await client.get_applications(page)
        new = {code: title for code, title in answer.applications.items() if code not in found}
        found.update(new)
        if not new or page >= answer.total:
            break
    return tuple(Found(code, title or code) for code, title in found.items())


async def list_campaigns(
    client: PushwooshClient, application: str, calls: Calls | None = None
) -> tuple[Found, ...]:
    """Every campaign of one application, by cursor until a page brings nothing new (the
    API may answer fewer than asked, so only an empty page ends the list)."""
    calls = calls if calls is not None else Calls()
    found: dict[str, str] = {}
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        calls.made += 1
        page = await client.get_campaigns(application, cursor, CAMPAIGN_PAGE)
        new = [c for c in page if c.code not in found]
        if not new:
            break
        found.update((c.code, c.name or c.code) for c in new)
        cursor = page[-1].code
    return tuple(Found(code, name) for code, name in found.items())


@dataclass
class Discovery:
    """Runs the listing rounds of one config; keeps the last good lists and their status."""

    settings: DiscoverySettings
    current: Discovered = field(default_factory=Discovered)
    status: dict[str, ListingStatus] = field(default_factory=dict)
    rounds: int = 0
    round_calls: int = 0
    """API calls the last round made: the budget advice counts them at each interval."""
    _failing: dict[str, str] = field(default_factory=dict)
    _campaigns_by_app: dict[str, tuple[Found, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for kind in self.kinds:
            self.status.setdefault(kind, ListingStatus())

    @property
    def kinds(self) -> tuple[str, ...]:
        """The listings this config turns on."""
        return tuple(
            kind
            for kind, on in (
                (APPLICATIONS, self.settings.applications is not None),
                (CAMPAIGNS, self.settings.campaigns is not None),
            )
            if on
        )

    async def refresh(
        self,
        client: PushwooshClient,
        now: float,
        listed_apps: Sequence[str],
        listed_campaigns: Collection[str],
    ) -> bool:
        """One round of listings; True when the kept targets changed."""
        calls = Calls()
        apps = await self.refresh_applications(client, now, listed_apps, calls)
        campaigns = await self.refresh_campaigns(
            client, now, [*listed_apps, *(a.code for a in apps)], listed_campaigns, calls
        )
        self.round_calls = calls.made
        found = Discovered(apps, campaigns)
        changed = found != self.current
        self.current = found
        self.rounds += 1
        return changed

    @property
    def complete(self) -> bool:
        """True once every listing this config turns on has succeeded at least once."""
        return all(status.last_success is not None for status in self.status.values())

    def crashed(self, error: str) -> None:
        """A round ended in an unexpected error: every listing counts as failed."""
        for kind in self.kinds:
            self._mark_failed(kind, "internal", error)

    async def refresh_applications(
        self,
        client: PushwooshClient,
        now: float,
        listed_apps: Sequence[str],
        calls: Calls | None = None,
    ) -> tuple[Found, ...]:
        """The applications to collect besides the listed ones (the last list on failure)."""
        chosen = self.settings.applications
        if chosen is None:
            return ()
        try:
            every = await list_applications(client, calls)
        except PushwooshError as exc:
            self._failed(APPLICATIONS, exc)
            return self.current.applications
        listed = set(listed_apps)
        apps = tuple(
            app for app in every if app.code not in listed and chosen.keeps(app.code, app.name)
        )
        self._succeeded(APPLICATIONS, len(apps), now)
        return apps

    async def refresh_campaigns(
        self,
        client: PushwooshClient,
        now: float,
        apps: Sequence[str],
        listed_campaigns: Collection[str],
        calls: Calls | None = None,
    ) -> tuple[Found, ...]:
        """The campaigns of ``apps`` to collect besides the listed ones, in the apps' order.

        An app whose listing fails keeps its last list (the listing then counts as failed);
        an app the API no longer knows ("Application not found") has no campaigns."""
        settings = self.settings.campaigns
        if settings is None:
            return ()
        gate = asyncio.Semaphore(CAMPAIGN_LISTINGS_AT_ONCE)

        async def one(app: str) -> tuple[Found, ...] | PushwooshError:
            async with gate:
                try:
                    return await list_campaigns(client, app, calls)
                except ArgumentError as exc:
                    # An app deleted since it was listed; other refusals are failures.
                    return () if "not found" in exc.message.lower() else exc
                except PushwooshError as exc:
                    return exc

        outcomes = await asyncio.gather(*(one(app) for app in apps))
        failure: PushwooshError | None = None
        by_app: dict[str, tuple[Found, ...]] = {}
        for app, outcome in zip(apps, outcomes, strict=True):
            if isinstance(outcome, PushwooshError):
                failure = failure or outcome
                by_app[app] = self._campaigns_by_app.get(app, ())
            else:
                by_app[app] = outcome
        self._campaigns_by_app = by_app
        kept: dict[str, Found] = {}
        for campaigns in by_app.values():
            for campaign in campaigns:
                if campaign.code in listed_campaigns or campaign.code in kept:
                    continue
                if settings.keeps(campaign.code, campaign.name):
                    kept[campaign.code] = campaign
        found = tuple(kept.values())[: settings.max]
        if failure is None:
            self._succeeded(CAMPAIGNS, len(found), now)
        else:
            self._failed(CAMPAIGNS, failure, targets=len(found))
        return found

    def _succeeded(self, kind: str, targets: int, now: float) -> None:
        self.status[kind] = ListingStatus(True, targets, now, None)
        if self._failing.pop(kind, None) is not None:
            log.info("discovery_recovered", kind=kind, targets=targets)

    def _failed(self, kind: str, exc: PushwooshError, targets: int | None = None) -> None:
        self._mark_failed(kind, exc.reason, str(exc), targets)

    def _mark_failed(
        self, kind: str, reason: str, message: str, targets: int | None = None
    ) -> None:
        error = f"{reason}: {message}"
        old = self.status[kind]
        kept = old.targets if targets is None else targets
        self.status[kind] = ListingStatus(False, kept, old.last_success, error, reason)
        if kind not in self._failing:
            log.warning(
                "discovery_failed",
                kind=kind,
                reason=reason,
                error=message,
                advice="the last list is kept; a plan without the listing methods answers"
                " 403 or 210: list the targets in the config instead",
            )
        self._failing[kind] = error

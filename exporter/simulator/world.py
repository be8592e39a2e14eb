"""The simulated account: apps, events, tags, campaigns and messages, from a seed.

Apps and campaigns come and go while the simulator runs (``POST /_sim/apps`` and
``/_sim/campaigns``); messages and tags stay. Every lookup the API makes per call is a dict
access or a slice, so an account of thousands of apps answers as fast as one of three.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass

EVENT_NAMES = ("PurchaseCompleted", "Login", "AddToCart", "SignUp")
APP_NAMES = ("shop-ios", "shop-android", "news-web", "games", "bank", "travel", "music")
CAMPAIGN_NAMES = (
    "promo-spring",
    "newsletter-weekly",
    "promo-summer",
    "onboarding-welcome",
    "newsletter-monthly",
    "promo-black-friday",
    "winback-30d",
    "promo-winter",
)
"""Campaign names, some with a common prefix so that name filters have something to match."""
TAG_TYPES = {"Language": 2, "Country": 2}
"""Type codes of the world's tags, as Pushwoosh numbers them in addTag and listTags:
1 integer, 2 string, 3 list, 4 date, 5 boolean, 6 decimal, 7 version. A tag not named here
is a string tag."""
STRING_TAG = 2
LANGUAGES = [
    "en",
    "de",
    "fr",
    "es",
    "it",
    "pt",
    "nl",
    "sv",
    "pl",
    "ru",
    "tr",
    "ar",
    "he",
    "hi",
    "ja",
    "ko",
    "zh",
    "th",
    "vi",
    "id",
    "ms",
    "uk",
    "cs",
    "ro",
    "hu",
    "el",
    "da",
    "fi",
    "no",
    "ca",
]
COUNTRIES = [
    "US",
    "DE",
    "GB",
    "FR",
    "IN",
    "BR",
    "ES",
    "IT",
    "CA",
    "MX",
    "JP",
    "KR",
    "RU",
    "TR",
    "PL",
    "NL",
    "ID",
    "AU",
    "SE",
    "CH",
    "BE",
    "AT",
    "NO",
    "DK",
    "FI",
    "IE",
    "PT",
    "CZ",
    "RO",
    "HU",
    "GR",
    "IL",
    "AE",
    "SA",
    "EG",
    "ZA",
    "NG",
    "KE",
    "AR",
    "CL",
    "CO",
    "PE",
    "VE",
    "UA",
    "KZ",
    "TH",
    "VN",
    "MY",
    "SG",
    "PH",
    "CN",
    "TW",
    "HK",
    "NZ",
    "PK",
    "BD",
    "LK",
    "MA",
    "TN",
    "IR",
]
"""Sixty ISO 3166 country codes, the values of the account-wide tag Country."""
APP_PLATFORMS = (1, 3, 10, 11, 12, 17)
"""Platforms with subscribers in every app: iOS, Android, Safari, Chrome, Firefox, Huawei."""


@dataclass(frozen=True, slots=True)
class App:
    """One application."""

    code: str
    name: str
    events: tuple[str, ...]
    tags: tuple[str, ...]
    scale: float
    """Traffic multiplier of this app."""


@dataclass(frozen=True, slots=True)
class Campaign:
    """One campaign, owned by one app."""

    code: str
    name: str
    app: str
    """The owning app's code."""
    description: str


class World:
    """Everything that exists in the account now.

    Apps and campaigns are kept in creation order. An app's campaigns are listed from its
    listing, which also remembers removed campaigns, so the code of a campaign removed
    between two pages still works as a cursor. Removing an app removes its campaigns.
    """

    def __init__(self, rng: random.Random, events: int | None) -> None:
        self._rng = rng
        self._events = events
        self._used: set[str] = set()
        """Every code drawn or given so far: a drawn code is never drawn again."""
        self._apps: dict[str, App] = {}
        self._app_tuple: tuple[App, ...] | None = None
        """``apps`` as one tuple, rebuilt after a change, so a page is a slice."""
        self._removed_apps: dict[str, App] = {}
        self._campaigns: dict[str, Campaign] = {}
        self._listings: dict[str, list[str]] = {}
        """An app's campaign codes in creation order, removed ones included."""
        self._positions: dict[str, tuple[str, int]] = {}
        """A campaign code's (app, index) in the listings."""
        self._apps_created = 0
        self._campaigns_created = 0
        self.messages: tuple[str, ...] = ()
        self.account_tags: tuple[str, ...] = ()

    @property
    def apps(self) -> tuple[App, ...]:
        """The apps, oldest first."""
        if self._app_tuple is None:
            self._app_tuple = tuple(self._apps.values())
        return self._app_tuple

    @property
    def campaigns(self) -> tuple[str, ...]:
        """The campaigns' codes, oldest first."""
        return tuple(self._campaigns)

    @property
    def campaign_details(self) -> tuple[Campaign, ...]:
        """The campaigns, oldest first."""
        return tuple(self._campaigns.values())

    def app(self, code: str) -> App | None:
        """The app with this code, if any."""
        return self._apps.get(code)

    def campaign(self, code: str) -> Campaign | None:
        """The campaign with this code, if any."""
        return self._campaigns.get(code)

    def tags(self) -> tuple[str, ...]:
        """Every tag of the account: the apps' tags, then the account-wide ones."""
        found = dict.fromkeys(t for a in self.apps for t in a.tags)
        return tuple(found | dict.fromkeys(self.account_tags))

    def draw_code(self, groups: tuple[int, ...]) -> str:
        """A fresh code of hex groups of these lengths, e.g. (5, 5) for ``ABCDE-12345``."""
        code = _code(self._rng, groups)
        while code in self._used:
            code = _code(self._rng, groups)
        self._used.add(code)
        return code

    def _claim(self, code: str | None) -> str:
        """``code`` if given and free (ValueError if it names something that exists), else
        a fresh one."""
        if code is None:
            return self.draw_code((5, 5))
        if not isinstance(code, str) or not code:
            raise ValueError(f"a code must be a non-empty string (got {code!r})")
        if code in self._apps or code in self._campaigns or code in self.messages:
            raise ValueError(f"code {code} is taken")
        self._used.add(code)
        return code

    def add_app(self, name: str | None = None, code: str | None = None) -> App:
        """A new app, with events, tags and a traffic scale drawn like the first ones'.
        The code of a removed app brings that app back (events, tags, scale) under ``name``."""
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"an app name must be a non-empty string (got {name!r})")
        code = self._claim(code)
        i = self._apps_created
        self._apps_created += 1
        default = APP_NAMES[i % len(APP_NAMES)] + ("" if i < len(APP_NAMES) else f"-{i}")
        before = self._removed_apps.pop(code, None)
        if before is not None:
            app = App(code, name or before.name, before.events, before.tags, before.scale)
        else:
            events = EVENT_NAMES[: 2 + i % 2] if self._events is None else event_names(self._events)
            app = App(code, name or default, events, ("Language",), 1.0 + 0.5 * (i % 3))
        self._apps[code] = app
        self._app_tuple = None
        return app

    def remove_app(self, code: str) -> list[str]:
        """Remove an app and its campaigns; returns the codes of the campaigns removed.
        KeyError if there is no such app."""
        app = self._apps.pop(code)
        self._app_tuple = None
        self._removed_apps[code] = app
        listed = dict.fromkeys(self._listings.get(code, ()))  # a code re-added is listed twice
        gone = [c for c in listed if self._is_listed(c, code)]
        for campaign in gone:
            del self._campaigns[campaign]
        return gone

    def add_campaign(
        self,
        app: str,
        name: str | None = None,
        code: str | None = None,
        description: str | None = None,
    ) -> Campaign:
        """A new campaign of ``app`` (ValueError if there is no such app), last in its
        listing."""
        if app not in self._apps:
            raise ValueError(f"no such app: {app!r}")
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"a campaign name must be a non-empty string (got {name!r})")
        if description is not None and not isinstance(description, str):
            raise ValueError(f"a description must be a string (got {description!r})")
        code = self._claim(code)
        i = self._campaigns_created
        self._campaigns_created += 1
        name = name or CAMPAIGN_NAMES[i % len(CAMPAIGN_NAMES)] + (
            "" if i < len(CAMPAIGN_NAMES) else f"-{i}"
        )
        if description is None:
            description = f"{name} of {self._apps[app].name}"
        campaign = Campaign(code, name, app, description)
        self._campaigns[code] = campaign
        listing = self._listings.setdefault(app, [])
        self._positions[code] = (app, len(listing))
        listing.append(code)
        return campaign

    def remove_campaign(self, code: str) -> Campaign:
        """Remove a campaign; KeyError if there is no such campaign."""
        return self._campaigns.pop(code)

    def page_count(self, size: int) -> int:
        """How many pages of ``size`` apps list them all (0 for no apps)."""
        return -(-len(self._apps) // size)

    def app_page(self, page: int, size: int) -> Sequence[App]:
        """The apps of page ``page`` (from 1) of ``size`` apps each; empty past the end."""
        return self.apps[(page - 1) * size : page * size]

    def campaign_page(self, app: str, cursor: str | None, limit: int) -> list[Campaign]:
        """At most ``limit`` campaigns of ``app`` in listing order, after the one whose code
        is ``cursor`` (from the first without one). KeyError for a cursor that was never a
        campaign of ``app``."""
        listing = self._listings.get(app, [])
        start = 0
        if cursor is not None:
            owner, index = self._positions[cursor]
            if owner != app:
                raise KeyError(cursor)
            start = index + 1
        found: list[Campaign] = []
        for index in range(start, len(listing)):
            if len(found) >= limit:
                break
            code = listing[index]
            if self._positions[code] == (app, index) and code in self._campaigns:
                found.append(self._campaigns[code])
        return found

    def _is_listed(self, code: str, app: str) -> bool:
        """Whether ``code`` exists now as a campaign of ``app``."""
        campaign = self._campaigns.get(code)
        return campaign is not None and campaign.app == app

    def as_json(self) -> dict[str, object]:
        """The shape of ``GET /_sim/world``."""
        return {
            "apps": [
                {"code": a.code, "name": a.name, "events": list(a.events), "tags": list(a.tags)}
                for a in self.apps
            ],
            "campaigns": list(self.campaigns),
            "messages": list(self.messages),
            "tags": list(self.account_tags),
            "campaign_details": [
                {"code": c.code, "name": c.name, "app": c.app, "description": c.description}
                for c in self._campaigns.values()
            ],
        }


def event_names(count: int) -> tuple[str, ...]:
    """``count`` event names: the four named ones first, then ``Event5``, ``Event6``..."""
    if count < 1:
        raise ValueError(f"--events must be at least 1 (got {count})")
    extra = tuple(f"Event{n}" for n in range(len(EVENT_NAMES) + 1, count + 1))
    return (EVENT_NAMES + extra)[:count]


def _code(rng: random.Random, groups: tuple[int, ...]) -> str:
    return "-".join("".join(rng.choice("0123456789ABCDEF") for _ in range(n)) for n in groups)


FIRST_CAMPAIGNS = 2
"""Campaigns whose codes are drawn before the messages' (the world's first layout)."""


def build_world(seed: int, apps: int, events: int | None = None, campaigns: int = 2) -> World:
    """A deterministic account with ``apps`` applications, ``campaigns`` campaigns (campaign
    ``i`` belongs to app ``i mod apps``; none without apps) and 2 messages; every code is
    unique. Each app has ``events`` events (the four named ones first, then ``Event5``,
    ``Event6``...), or 2 or 3 of the named ones when ``events`` is None."""
    if campaigns < 0:
        raise ValueError(f"--campaigns must not be negative (got {campaigns})")
    if events is not None:
        event_names(events)  # refuses a count below 1 even without apps
    world = World(random.Random(seed), events)
    for _ in range(apps):
        world.add_app()
    owners = [a.code for a in world.apps] if world.apps else []
    wanted = campaigns if owners else 0

    def add_campaigns(first: int, stop: int) -> None:
        for i in range(first, stop):
            world.add_campaign(owners[i % len(owners)])

    # Codes are drawn in the first layout's order (apps, two campaigns, messages), so the
    # codes of a seed stay what they were before campaigns could be more.
    add_campaigns(0, min(wanted, FIRST_CAMPAIGNS))
    world.messages = tuple(world.draw_code((4, 8, 4)) for _ in range(2))
    add_campaigns(FIRST_CAMPAIGNS, wanted)
    world.account_tags = ("Country",)
    return world

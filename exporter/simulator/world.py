"""The simulated account: apps, events, tags, campaigns and messages, from a seed."""

import random
from dataclasses import dataclass

EVENT_NAMES = ("PurchaseCompleted", "Login", "AddToCart", "SignUp")
APP_NAMES = ("shop-ios", "shop-android", "news-web", "games", "bank", "travel", "music")
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
class World:
    """Everything that exists in the account."""

    apps: tuple[App, ...]
    campaigns: tuple[str, ...]
    messages: tuple[str, ...]
    account_tags: tuple[str, ...]

    def app(self, code: str) -> App | None:
        """The app with this code, if any."""
        return next((a for a in self.apps if a.code == code), None)

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
        }


def event_names(count: int) -> tuple[str, ...]:
    """``count`` event names: the four named ones first, then ``Event5``, ``Event6``..."""
    if count < 1:
        raise ValueError(f"--events must be at least 1 (got {count})")
    extra = tuple(f"Event{n}" for n in range(len(EVENT_NAMES) + 1, count + 1))
    return (EVENT_NAMES + extra)[:count]


def _code(rng: random.Random, groups: tuple[int, ...]) -> str:
    return "-".join("".join(rng.choice("0123456789ABCDEF") for _ in range(n)) for n in groups)


def build_world(seed: int, apps: int, events: int | None = None) -> World:
    """A deterministic account with ``apps`` applications, 2 campaigns and 2 messages;
    every code is unique. Each app has ``events`` events (the four named ones first, then
    ``Event5``, ``Event6``...), or 2 or 3 of the named ones when ``events`` is None."""
    rng = random.Random(seed)
    used: set[str] = set()

    def fresh(groups: tuple[int, ...]) -> str:
        code = _code(rng, groups)
        while code in used:
            code = _code(rng, groups)
        used.add(code)
        return code

    built = []
    for i in range(apps):
        names = EVENT_NAMES[: 2 + i % 2] if events is None else event_names(events)
        name = APP_NAMES[i % len(APP_NAMES)] + ("" if i < len(APP_NAMES) else f"-{i}")
        built.append(App(fresh((5, 5)), name, names, ("Language",), 1.0 + 0.5 * (i % 3)))
    return World(
        apps=tuple(built),
        campaigns=tuple(fresh((5, 5)) for _ in range(2)),
        messages=tuple(fresh((4, 8, 4)) for _ in range(2)),
        account_tags=("Country",),
    )

"""Audience answers: subscribers (v1 now, v2 over a period) and tag value counts."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from exporter.platforms import platform_name
from exporter.simulator.periods import DAY, MINUTE, bucket_of, format_local, next_bucket
from exporter.simulator.traffic import Traffic, key_id, unit
from exporter.simulator.world import APP_PLATFORMS, COUNTRIES, LANGUAGES

PLATFORM_WEIGHTS = {1: 0.35, 3: 0.5, 10: 0.02, 11: 0.08, 12: 0.01, 17: 0.04}
"""Each platform's share of an app's subscribers."""


def subscribers_v1(traffic: Traffic, app: str, now: float) -> dict[str, Any]:
    """getApplicationSubscribersStats: current subscribers by upper-case device type."""
    return {
        "devices_types": {
            platform_name(p).upper(): traffic.subscribers(app, p, w, now)
            for p, w in PLATFORM_WEIGHTS.items()
            if p in APP_PLATFORMS
        }
    }


def v2_interval(span: float) -> tuple[str, str]:
    """(interval name, bucket formatter) of a v2 period: under 30 days an hour; up to a
    year a day; a year (365 to 366 days) a month; over that a year."""
    if span < 30 * DAY:
        return "hour", "hourly"
    if span < 365 * DAY:
        return "day", "daily"
    if span <= 366 * DAY:
        return "month", "monthly"
    return "year", "yearly"


def subscribers_v2(
    traffic: Traffic, app: str, start: float, end: float, now: float
) -> dict[str, Any]:
    """v2 getSubscribersStatistics (always UTC): one point per interval from the one holding
    ``start`` to the one holding ``min(end, now)``, each the subscribers at the end of its
    interval (or at ``now`` for the current one), so the newest point is the current count."""
    interval, formatter = v2_interval(end - start)
    points = []
    moment = bucket_of(int(start) // MINUTE * MINUTE, formatter)
    while moment <= min(end, now):
        following = next_bucket(moment, formatter)
        at = min(following - 1, now)
        platforms = {
            platform_name(p): traffic.subscribers(app, p, w, at)
            for p, w in PLATFORM_WEIGHTS.items()
        }
        points.append(
            {
                "timestamp": format_local(moment),
                "total": sum(platforms.values()),
                "platforms": platforms,
            }
        )
        moment = following
    return {"application_code": app, "interval": interval, "points": points}


def tag_values(tag: str, seed: int) -> list[tuple[str, int]]:
    """The values of a tag and their device counts, most common first."""
    values = (
        LANGUAGES
        if tag == "Language"
        else COUNTRIES
        if tag == "Country"
        else [f"v{i}" for i in range(8)]
    )
    k = key_id(("tag", tag))
    counts = [
        (v, int(20000 / (i + 1) * (0.8 + 0.4 * unit(seed, k, i)))) for i, v in enumerate(values)
    ]
    return sorted(((v, n) for v, n in counts if n > 0), key=lambda item: -item[1])


GENERATED_ROWS_PER_PIECE: Final = 8192
"""Rows of a generated tag file made and sent at a time."""


@dataclass(frozen=True, slots=True)
class GeneratedTagFile:
    """A tag with ``values`` values (``faults.tag_values``), its file made as it is sent.

    Value ``i`` is ``u<i>``, in that order, with a heavy-tailed device count: about one
    value in ``c`` has more than ``c`` devices, so a few values are large and most are
    small, with many ties. Nothing but these three fields is kept, whatever the size.
    """

    tag: str
    values: int
    seed: int

    def rows(self) -> Iterator[tuple[str, int]]:
        """Every (value, devices) row of the file, in file order."""
        salt = key_id(("tag", self.tag)) ^ self.seed
        for i in range(self.values):
            yield f"u{i}", _devices(i, salt)

    def pieces(self) -> Iterator[bytes]:
        """The CSV file (header row, then ``value;count`` rows) in pieces."""
        yield b"value;count\n"
        salt = key_id(("tag", self.tag)) ^ self.seed
        for start in range(0, self.values, GENERATED_ROWS_PER_PIECE):
            stop = min(self.values, start + GENERATED_ROWS_PER_PIECE)
            yield "".join(f"u{i};{_devices(i, salt)}\n" for i in range(start, stop)).encode()


def _devices(i: int, salt: int) -> int:
    # A multiplicative hash of the row number, then 1 + 10**6 // (1 + uniform draw).
    draw = (i * 2654435761 + salt) % 4294967291 % 1_000_000
    return 1 + 1_000_000 // (1 + draw)

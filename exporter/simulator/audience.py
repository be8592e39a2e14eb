"""Audience answers: subscribers (v1 now, v2 over a period) and tag value counts."""

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
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


GENERATED_ROWS_PER_PIECE: Final = 10_000
"""Rows of a generated tag file sent at a time."""
_DEVICE_TABLES: Final = 8
"""Device counts repeat every this many pieces: each piece's rows are a table made once."""


@dataclass(frozen=True, slots=True)
class GeneratedTagFile:
    """A tag with ``values`` values (``faults.tag_values``), its file made as it is sent.

    Value ``i`` is ``u<p><jjjj>`` for ``i = p * 10,000 + j`` (``u00000``, ``u00001``...,
    ``u10000``...), in that order. Device counts are heavy-tailed: about one value in ``c``
    has more than ``c`` devices, so a few values are large and most are small, with many
    ties; they repeat every 80,000 values. A piece is its 10,000 rows' ends, made once per
    tag and seed, joined on the piece's prefix, so a file of millions of values costs
    little time and no more memory than eight pieces' ends.
    """

    tag: str
    values: int
    seed: int

    def rows(self) -> Iterator[tuple[str, int]]:
        """Every (value, devices) row of the file, in file order."""
        for piece in range(-(-self.values // GENERATED_ROWS_PER_PIECE)):
            devices = _devices(self.tag, self.seed, piece % _DEVICE_TABLES)
            for j in range(self._rows_in(piece)):
                yield f"u{piece}{j:04d}", devices[j]

    def pieces(self) -> Iterator[bytes]:
        """The CSV file (header row, then ``value;count`` rows) in pieces."""
        yield b"value;count\n"
        for piece in range(-(-self.values // GENERATED_ROWS_PER_PIECE)):
            ends = _row_ends(self.tag, self.seed, piece % _DEVICE_TABLES)
            prefix = b"u%d" % piece
            yield prefix + prefix.join(ends[: self._rows_in(piece)])

    def _rows_in(self, piece: int) -> int:
        return min(GENERATED_ROWS_PER_PIECE, self.values - piece * GENERATED_ROWS_PER_PIECE)


@lru_cache(maxsize=2 * _DEVICE_TABLES)
def _row_ends(tag: str, seed: int, table: int) -> list[bytes]:
    """The ends of a piece's rows, ``jjjj;count\\n``, made once (about half a megabyte)."""
    return [b"%04d;%d\n" % row for row in enumerate(_devices(tag, seed, table))]


def _devices(tag: str, seed: int, table: int) -> list[int]:
    """The device counts of a piece's rows: a multiplicative hash of the row drawn in
    [0, 10**6), then 1 + 10**6 // (1 + draw)."""
    salt = key_id(("tag", tag)) ^ seed
    first = table * GENERATED_ROWS_PER_PIECE
    return [
        1 + 1_000_000 // (1 + (i * 2654435761 + salt) % 4294967291 % 1_000_000)
        for i in range(first, first + GENERATED_ROWS_PER_PIECE)
    ]

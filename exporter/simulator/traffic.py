"""The traffic model: what the API reports for a bucket at a given time.

Generated traffic is a pure function of (seed, series, minute, time), so answers are
repeatable and cost nothing to store. Each minute bucket ``b`` of a series has a final count
``C(b)`` (a daily cycle times seeded noise); most of it arrives during the minute, and a late
part arrives 2 to 8 minutes later, so a bucket minutes old can still grow. ``recorded(b, t)``
never decreases in ``t``. Injected events (``POST /_sim/inject``) add to it from the moment
they are injected. Event triggers carry attributes (see :mod:`attributes`), and a filtered
count is a prefix count of the bucket's triggers, so it never decreases either. The ground
truth of any interval is computed from the same functions.
"""

import math
import zlib
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from exporter.simulator.attributes import (
    GENERATED,
    Attributes,
    Filter,
    generated_codes,
    matches,
    trigger_code,
)

MINUTE = 60
HOUR = 3600
MASK = (1 << 64) - 1

Key = tuple[str, ...]
"""A series: ("app", code, scope, action), ("event", code, name),
("campaign", code, action, platform), ("message", code, action, platform)."""

APP_RATES = {
    ("messages", "send"): 120.0,
    ("messages", "open"): 12.0,
    ("applications", "open"): 25.0,
    ("applications", "install"): 1.5,
    ("devices", "register"): 2.5,
    ("devices", "unregister"): 0.8,
}
CAMPAIGN_ACTIONS = {"send": 1.0, "delivery": 0.9, "open": 0.1, "inboxopen": 0.02}
CAMPAIGN_TRAIL = {"send": 0, "delivery": 1, "open": 2, "inboxopen": 3}
"""Minutes after a campaign's send burst when each action's burst comes."""
CAMPAIGN_PLATFORMS = {1: 0.4, 3: 0.5, 11: 0.1}
MESSAGE_PLATFORMS = {1: 400, 3: 600}
NET_REGISTRATIONS = APP_RATES[("devices", "register")] - APP_RATES[("devices", "unregister")]
SUBSCRIBER_BASE = 20000
CODES_LIMIT = 200_000
"""Buckets whose trigger attributes are remembered; the memo starts over beyond this."""
HOURS_LIMIT = 500_000
"""Hours whose generated total is remembered; the memo starts over beyond this."""
LATEST = 8 * MINUTE
"""A bucket's generated events have all arrived this long after it starts."""
_MIX_START = 0x9E3779B97F4A7C15
_SPAN = 2.0**64
_OMEGA = 2 * math.pi / 86400
_PHASE = 2 * math.pi * 9.0 / 24.0


def _step(value: int, part: int) -> int:
    """One splitmix64 step of :func:`mix`: ``value`` with ``part`` mixed in."""
    value = (value ^ (part & MASK)) * 0xBF58476D1CE4E5B9 & MASK
    value = (value ^ (value >> 31)) * 0x94D049BB133111EB & MASK
    return value ^ (value >> 29)


def mix(*parts: int) -> int:
    """A 64-bit hash of integers (splitmix64 steps): stable across runs and processes."""
    value = _MIX_START
    for part in parts:
        value = _step(value, part)
    return value


def unit(*parts: int) -> float:
    """A number in [0, 1) from the hash of ``parts``."""
    return mix(*parts) / _SPAN


@lru_cache(maxsize=1 << 16)
def key_id(key: Key) -> int:
    """A stable integer for a series key."""
    return zlib.crc32("\0".join(key).encode())


@lru_cache(maxsize=1 << 16)
def _series_mix(seed: int, k: int) -> int:
    """``mix(seed, k)``: the start of every draw of one series, computed once."""
    return mix(seed, k)


def daily_cycle(minute_start: int) -> float:
    """More traffic in the (UTC) afternoon, less at night: between 0.5 and 1.5."""
    return 1.0 + 0.5 * math.sin(_OMEGA * (minute_start % 86400) - _PHASE)


def cycle_minutes(start: float, end: float) -> float:
    """The integral of :func:`daily_cycle` over [start, end], in minutes."""

    def primitive(s: float) -> float:
        return s - 0.5 * math.cos(_OMEGA * s - _PHASE) / _OMEGA

    return (primitive(end) - primitive(start)) / MINUTE


@dataclass(frozen=True, slots=True)
class Injected:
    """Events added by a test."""

    bucket: int
    recorded_at: float
    count: int
    attributes: Attributes = ()


class Traffic:
    """Counts per series and bucket, at any time."""

    def __init__(self, seed: int, origin: float, enabled: bool, scales: dict[str, float]):
        self.seed = seed
        self.origin = int(origin) // MINUTE * MINUTE
        self.enabled = enabled
        self.scales = scales
        self.injected: dict[Key, list[Injected]] = defaultdict(list)
        self._codes: dict[tuple[Key, int], bytes] = {}
        self._hours: dict[tuple[Key, int, Filter | None], int] = {}
        self._settled: dict[tuple[Key, int, Filter | None], tuple[int, int]] = {}
        """Per hour not yet final: (end of its settled minutes, their generated sum)."""

    def rate(self, key: Key, b: int) -> float:
        """Mean events per minute of ``key`` in the minute starting at ``b``."""
        kind, code = key[0], key[1]
        scale = self.scales.get(code, 1.0) * daily_cycle(b)
        if kind == "app":
            return APP_RATES.get((key[2], key[3]), 0.0) * scale
        if kind == "event":
            return (4.0 + 8.0 * _series_mix(self.seed, key_id(key)) / _SPAN) * scale
        if kind == "campaign":
            # A send burst every 10 minutes, deliveries and opens trailing it.
            burst_minute = (b // MINUTE - CAMPAIGN_TRAIL.get(key[2], 0)) % 10 == 0
            burst = 300.0 if burst_minute else 6.0
            share = CAMPAIGN_PLATFORMS.get(int(key[3]), 0.0)
            return burst * share * CAMPAIGN_ACTIONS.get(key[2], 0.0) * daily_cycle(b)
        return 0.0

    def _bucket_mix(self, key: Key, b: int) -> int:
        """``mix(seed, key_id(key), b)``: a bucket's draws are ``unit(seed, k, b, n)``."""
        return _step(_series_mix(self.seed, key_id(key)), b)

    def total(self, key: Key, b: int) -> int:
        """All the generated events of a bucket, once they have arrived."""
        if not self.enabled or b < self.origin:
            return 0
        state = self._bucket_mix(key, b)
        mean = self.rate(key, b)
        return int(mean * (0.6 + 0.8 * _step(state, 1) / _SPAN) + _step(state, 2) / _SPAN)

    def final(self, key: Key, b: int) -> tuple[int, int, int]:
        """(on-time count, late count, delay of the late part in minutes) of a bucket."""
        total = self.total(key, b)
        if not total:
            return 0, 0, 2
        state = self._bucket_mix(key, b)
        late = int(total * 0.3 * _step(state, 4) / _SPAN) if _step(state, 3) / _SPAN < 0.5 else 0
        delay = 2 + int(_step(state, 5) / _SPAN * 7)
        return total - late, late, delay

    def generated(self, key: Key, b: int, t: float) -> int:
        """Generated events of bucket ``b`` recorded by time ``t``."""
        if t < b:
            return 0
        if t >= b + LATEST:
            return self.total(key, b)  # the common case, without the lateness draws
        on_time, late, delay = self.final(key, b)
        seen = on_time if t >= b + MINUTE else int(on_time * (t - b) / MINUTE)
        return seen + (late if t >= b + delay * MINUTE else 0)

    def trigger_codes(self, key: Key, b: int) -> bytes:
        """The attributes of every generated trigger of bucket ``b``, in arrival order, one
        :func:`trigger_code` per byte: triggers seen by any time are a prefix of it."""
        codes = self._codes.get((key, b))
        if codes is None:
            state = self._bucket_mix(key, b)
            starts = [_step(state, 7 + j) for j in range(len(GENERATED))]
            codes = bytes(
                trigger_code(tuple(_step(start, i) / _SPAN for start in starts))
                for i in range(self.total(key, b))
            )
            if len(self._codes) >= CODES_LIMIT:
                self._codes.clear()
            self._codes[(key, b)] = codes
        return codes

    def count(self, key: Key, b: int, t: float, wanted: Filter | None = None) -> int:
        """What the API reports for bucket ``b`` of ``key`` at time ``t``; ``wanted`` counts
        only the event triggers whose attributes match it."""
        return self.generated_count(key, b, t, wanted) + self.injected_count(
            key, b, b + MINUTE, t, wanted
        )

    def generated_count(self, key: Key, b: int, t: float, wanted: Filter | None = None) -> int:
        """The generated part of :meth:`count`."""
        generated = self.generated(key, b, t)
        if wanted is not None and generated:
            if key[0] != "event":
                return 0  # only event triggers carry attributes
            codes = self.trigger_codes(key, b)
            generated = sum(codes.count(c, 0, generated) for c in _codes_of(wanted))
        return generated

    def injected_count(
        self, key: Key, start: int, stop: int, t: float, wanted: Filter | None = None
    ) -> int:
        """Injected events of ``key`` in the buckets starting in [start, stop), recorded by
        ``t``, whose attributes match ``wanted``."""
        return sum(
            i.count
            for i in self.injected.get(key, ())
            if start <= i.bucket < stop and i.recorded_at <= t and matches(i.attributes, wanted)
        )

    def hour_count(self, key: Key, hour: int, t: float, wanted: Filter | None = None) -> int:
        """:meth:`count` summed over the 60 minute buckets of the hour starting at ``hour``
        (a multiple of 3600). The generated part of an hour whose events have all arrived
        is remembered: a day of hourly buckets costs its recent hours only."""
        return self._hour_generated(key, hour, t, wanted) + self.injected_count(
            key, hour, hour + HOUR, t, wanted
        )

    def _hour_generated(self, key: Key, hour: int, t: float, wanted: Filter | None) -> int:
        if not self.enabled or hour + HOUR <= self.origin or t < hour:
            return 0
        final = t >= hour + HOUR - MINUTE + LATEST
        memo = (key, hour, wanted)
        if final and memo in self._hours:
            return self._hours[memo]
        # The minutes whose events have all arrived never change: their sum is kept, so
        # the hour in progress (and the one before, until its late events are in) costs
        # its last few minutes per call, not sixty.
        settled_end = min(hour + HOUR, int(t - LATEST) // MINUTE * MINUTE + MINUTE)
        done, total = self._settled.get(memo, (hour, 0))
        if done > settled_end:  # kept at a later time than ``t``: not all settled at ``t``
            done, total = hour, 0
        for b in range(done, max(done, settled_end), MINUTE):
            total += self.generated_count(key, b, t, wanted)
        done = max(done, settled_end)
        if final:
            self._settled.pop(memo, None)
            if len(self._hours) >= HOURS_LIMIT:
                self._hours.clear()
            self._hours[memo] = total
            return total
        if len(self._settled) >= HOURS_LIMIT:
            self._settled.clear()
        self._settled[memo] = (done, total)
        begun_end = min(hour + HOUR, int(t) // MINUTE * MINUTE + MINUTE)  # none after ``t``
        return total + sum(
            self.generated_count(key, b, t, wanted) for b in range(done, begun_end, MINUTE)
        )

    def buckets(
        self, key: Key, start: float, end: float, t: float, wanted: Filter | None = None
    ) -> dict[int, int]:
        """Non-zero minute buckets with start in [floor(start), end], as seen at ``t``."""
        first = max(int(start) // MINUTE * MINUTE, self.origin if self.enabled else 0)
        minutes: set[int] = set()
        if self.enabled:
            minutes.update(range(first, int(min(end, t)) + 1, MINUTE))
        minutes.update(
            i.bucket
            for i in self.injected.get(key, ())
            if start // MINUTE * MINUTE <= i.bucket <= end
        )
        found = {b: self.count(key, b, t, wanted) for b in sorted(minutes)}
        return {b: n for b, n in found.items() if n}

    def truth(
        self,
        key: Key,
        after: float,
        until: float,
        bucket_from: float = 0.0,
        wanted: Filter | None = None,
        bucket_before: float = math.inf,
    ) -> int:
        """Events recorded in (after, until] in the minute buckets starting in
        [bucket_from, bucket_before), narrowed by the attribute filter ``wanted``."""
        # Generated buckets older than the longest lateness were final before ``after``,
        # and there are none before the origin.
        oldest = int(max(bucket_from, after - 10 * MINUTE, self.origin)) // MINUTE * MINUTE
        if oldest < bucket_from:
            oldest += MINUTE
        minutes = set(range(oldest, int(until) + 1, MINUTE)) if self.enabled else set()
        minutes.update(i.bucket for i in self.injected.get(key, ()) if i.bucket >= bucket_from)
        return sum(
            self.count(key, b, until, wanted) - self.count(key, b, after, wanted)
            for b in minutes
            if b < bucket_before
        )

    def inject(
        self, key: Key, bucket: int, now: float, count: int, attributes: Attributes = ()
    ) -> None:
        """Record ``count`` events of ``key`` in ``bucket`` from ``now`` on, carrying
        ``attributes`` (event triggers only)."""
        self.injected[key].append(Injected(bucket // MINUTE * MINUTE, now, count, attributes))

    def message_total(self, code: str, action: str, platform: int, created: int, t: float) -> int:
        """Lifetime count of a message's action on one platform by time ``t``."""
        since = t - created
        base = 0
        if since >= 0 and self.enabled:
            n = MESSAGE_PLATFORMS.get(platform, 0)
            growth = 1 - math.exp(-since / 5400)
            base = {
                "send": n,
                "delivery": int(0.9 * n * min(1.0, since / 1800)),
                "open": int(0.15 * n * growth),
                "inboxopen": int(0.03 * n * growth),
            }.get(action, 0)
        key = ("message", code, action, str(platform))
        return base + sum(i.count for i in self.injected.get(key, ()) if i.recorded_at <= t)

    def message_hours(
        self, code: str, action: str, platform: int, created: int, t: float, starts: list[int]
    ) -> dict[int, int]:
        """A message's counts per bucket, as seen at ``t``: ``starts`` are the buckets'
        starts (Unix seconds, ascending, the first holding ``created``), each bucket ending
        where the next starts."""
        rows: dict[int, int] = {}
        before = 0
        for i, start in enumerate(starts):
            end = starts[i + 1] - 1e-6 if i + 1 < len(starts) else t
            upto = self.message_total(code, action, platform, created, min(t, end))
            if upto - before:
                rows[start] = upto - before
            before = upto
        return rows

    def subscribers(self, code: str, platform: int, weight: float, t: float) -> int:
        """Subscribed devices of an app on a platform at time ``t``, never negative.

        A base per app and platform, plus the platform's ``weight`` share of the net
        registrations (register - unregister) since the origin: the expected generated ones
        (the daily cycle integrated) and the injected ones recorded by ``t``.
        """
        scale = self.scales.get(code, 1.0)
        net = 0.0
        if self.enabled and t > self.origin:
            net = NET_REGISTRATIONS * scale * cycle_minutes(self.origin, t)
        for action, sign in (("register", 1), ("unregister", -1)):
            key = ("app", code, "devices", action)
            net += sign * sum(i.count for i in self.injected.get(key, ()) if i.recorded_at <= t)
        return max(0, int(SUBSCRIBER_BASE * scale * weight) + math.floor(weight * net))

    def platforms_of(self, kind: str, code: str, modelled: tuple[int, ...]) -> list[int]:
        """The modelled platforms of a campaign or message, and any other with injections."""
        injected = {int(k[3]) for k in self.injected if k[0] == kind and k[1] == code}
        return sorted(set(modelled) | injected)


@lru_cache(maxsize=256)
def _codes_of(wanted: Filter) -> frozenset[bytes]:
    """The codes of generated triggers ``wanted`` counts, each as one byte for bytes.count."""
    return frozenset(bytes([c]) for c in generated_codes(wanted) or ())

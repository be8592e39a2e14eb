"""Buckets in, monotonic counters and gauges out: the counting rules of docs/counting.md.

The collection layer hands the store one :class:`Observation` per successful poll (or a
failure); the store keeps, per target, the last count the API gave for every
(series, bucket) still inside the window, and turns growth into counter increments:

1. a bucket seen for the first time adds its whole count, a larger count adds the difference;
2. a smaller count never lowers a counter (it is counted as a downward revision);
3. buckets that start before the window are final and forgotten;
4. the first successful poll of a target only sets the baseline;
6. a failed poll changes no counter.

Readers get an immutable :class:`Snapshot`, rebuilt only when something changed. The whole
state serialises to plain JSON-able data (:meth:`Store.dump_state`).
"""

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

import structlog

log = structlog.get_logger(__name__)

STATE_VERSION = 1


class Series(NamedTuple):
    """One time series: a metric name and its (name, value) label pairs.

    Built through its family (``exporter.families``), which checks the label names and
    puts them in the family's order, so equal series compare equal. A tuple, so hashing and
    comparing (once per bucket per poll) run in C.
    """

    metric: str
    labels: tuple[tuple[str, str], ...]


class TargetKey(NamedTuple):
    """One polled thing: the collector kind and the target id (the ``collector,target`` labels).

    A tuple, so hashing it (several dict look-ups per poll, in every structure kept per
    target) runs in C.
    """

    collector: str
    target: str

    def __str__(self) -> str:
        return f"{self.collector}:{self.target}"


@dataclass(frozen=True, slots=True)
class BucketCount:
    """The API's count for one series in the bucket starting at ``start`` (Unix seconds)."""

    series: Series
    start: int
    count: int


@dataclass(frozen=True, slots=True)
class Observation:
    """What one successful poll of one target saw."""

    target: TargetKey
    window_start: int
    """Buckets starting before this are final: forgotten, and ignored if seen again."""
    window_end: int
    """End of the data read: the target's new watermark."""
    buckets: tuple[BucketCount, ...] = ()
    totals: tuple[tuple[Series, int], ...] = ()
    """Lifetime totals (message stats): the counter becomes the total, never lower."""
    gauges: tuple[tuple[Series, float], ...] = ()
    """Replaces every gauge of the target."""
    declared: tuple[Series, ...] = ()
    """Counters that exist (at 0) from the first successful poll."""
    newest_bucket: int | None = None
    read_from: int | None = None
    """Start of the oldest window read, when a catch-up read before ``window_start``."""
    bucket_width: int | None = None
    """Seconds per bucket, as the answers' ``formatter`` said (None: no buckets, or not
    bucketed)."""


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """The health of one target, as the landing page and self-metrics show it."""

    up: bool = False
    last_duration: float | None = None
    """Length of the last attempt (None: not attempted yet)."""
    last_success: float | None = None
    last_error: str | None = None
    last_error_body: str | None = None
    """The start of the answer that could not be read, when that was the error."""
    newest_bucket: float | None = None

    @property
    def attempted(self) -> bool:
        """True once a collection attempt of this target has ended, either way."""
        return self.last_duration is not None


@dataclass(frozen=True, slots=True)
class TargetView:
    """The published values of one target."""

    status: TargetStatus
    counters: tuple[tuple[Series, float], ...]
    gauges: tuple[tuple[Series, float], ...]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """An immutable view of everything the exporter publishes from Pushwoosh data."""

    targets: Mapping[TargetKey, TargetView]
    revisions: Mapping[str, int]
    version: int
    """Grows with every change; equal versions mean equal content."""

    @property
    def ready(self) -> bool:
        """True once every target has completed at least one collection attempt."""
        return all(view.status.attempted for view in self.targets.values())


_UNPOLLED = TargetStatus()
"""The status of every target before its first attempt (one object, shared)."""
_EMPTY_VIEW = TargetView(_UNPOLLED, (), ())
"""The view of every target with no attempt and no restored counter (one object, shared)."""


@dataclass(slots=True)
class _TargetState:
    baselined: bool = False
    watermark: int | None = None
    horizon: int | None = None
    bucket_width: int | None = None
    buckets: tuple["_Buckets", ...] = ()
    """The remembered buckets of each counted series (each knows its series): a tuple, as
    a dict of one series costs about 200 bytes more per target."""
    counters: tuple[tuple[Series, float], ...] = ()
    """Sorted, as published (the view shares the tuple): a poll counts into a dict of them
    and leaves a new tuple, so no dict is kept per target."""
    gauges: tuple[tuple[Series, float], ...] = ()
    """Sorted, as published: a poll replaces them all."""
    status: TargetStatus = _UNPOLLED

    def view(self) -> TargetView:
        """What is published of this target now."""
        if self.status is _UNPOLLED and not self.counters and not self.gauges:
            return _EMPTY_VIEW
        return TargetView(self.status, self.counters, self.gauges)


class Store:
    """The single owner of counts. Not thread-safe: used from one event loop."""

    def __init__(self) -> None:
        self._targets: dict[TargetKey, _TargetState] = {}
        self._pending: dict[TargetKey, _TargetState] = {}
        self._views: dict[TargetKey, TargetView] = {}
        """Every target's last built view, in key order; a snapshot copies it."""
        self._stale: set[TargetKey] = set()
        """Targets whose view must be built again: only these, so that publishing after each
        poll costs a copy of this dict, not a rebuild of every target's view."""
        self._revisions = {"up": 0, "down": 0}
        self._version = 0
        self._snapshot: Snapshot | None = None

    def set_targets(self, keys: Iterable[TargetKey]) -> None:
        """Track exactly these targets: new ones start unpolled, others are dropped."""
        old, pending = self._targets, self._pending
        # Kept in key order, so the exposition lists targets in a stable order.
        self._targets = {
            key: old.get(key) or pending.pop(key, None) or _TargetState()
            for key in sorted(set(keys))
        }
        views = self._views
        self._views = {
            key: state.view() if key in self._stale or key not in views else views[key]
            for key, state in self._targets.items()
        }
        self._stale.clear()
        self._changed()

    def forget_pending(self) -> int:
        """Give up the saved targets no :meth:`set_targets` has asked for (see
        :meth:`load_state`); how many there were."""
        count = len(self._pending)
        self._pending.clear()
        return count

    def watermark(self, key: TargetKey) -> int | None:
        """End of the data last read for ``key``, or None before its first success."""
        state = self._targets.get(key)
        return state.watermark if state else None

    def bucket_width(self, key: TargetKey) -> int | None:
        """The bucket width ``key``'s answers last came in, or None before it is known."""
        state = self._targets.get(key)
        return state.bucket_width if state else None

    def apply(self, obs: Observation, *, started: float, finished: float) -> None:
        """Count what a successful poll saw (rules 1-4)."""
        state = self._targets.get(obs.target)
        if state is None:
            return  # the target was removed while its poll ran
        counting = state.baselined
        # Counts up to here are in the counters already: a new bucket width makes a bucket
        # that started before the last read hold events counted at the old width.
        settled: int | None = None
        if obs.bucket_width is not None and obs.bucket_width != state.bucket_width:
            if state.bucket_width is not None:
                settled = state.watermark
                state.buckets, state.horizon = (), None
            state.bucket_width = obs.bucket_width
        lowest = obs.window_start if obs.read_from is None else obs.read_from
        if state.horizon is not None:
            lowest = max(lowest, state.horizon)
        counters = dict(state.counters)
        remembered = {seen.series: seen for seen in state.buckets}
        try:
            for bucket in obs.buckets:
                if bucket.start >= lowest:
                    new = counting and (settled is None or bucket.start >= settled)
                    self._apply_bucket(remembered, counters, bucket, new, obs.target)
            for series, total in obs.totals:
                self._apply_total(counters, series, total, obs.target)
            for series in obs.declared:
                counters.setdefault(series, 0.0)
        finally:  # what was counted stays counted, as the buckets recorded stay recorded
            state.counters = tuple(sorted(counters.items()))
            if len(remembered) != len(state.buckets):
                state.buckets = tuple(remembered.values())
        state.gauges = tuple(sorted(dict(obs.gauges).items())) if obs.gauges else ()
        self._forget_before(state, obs.window_start)
        state.horizon = max(state.horizon or obs.window_start, obs.window_start)
        state.watermark = max(state.watermark or obs.window_end, obs.window_end)
        state.baselined = True
        newest = state.status.newest_bucket
        if obs.newest_bucket is not None:
            newest = max(newest or 0.0, float(obs.newest_bucket))
        state.status = TargetStatus(
            up=True,
            last_duration=finished - started,
            last_success=finished,
            last_error=None,
            newest_bucket=newest,
        )
        self._stale.add(obs.target)
        self._changed()

    def record_failure(
        self,
        key: TargetKey,
        error: str,
        *,
        started: float,
        finished: float,
        body: str | None = None,
    ) -> None:
        """A failed poll: the target is down, no count changes (rule 6). ``body`` is the
        start of an answer that could not be read, to show beside the error."""
        state = self._targets.get(key)
        if state is None:
            return
        old = state.status
        state.status = TargetStatus(
            up=False,
            last_duration=finished - started,
            last_success=old.last_success,
            last_error=error,
            last_error_body=body,
            newest_bucket=old.newest_bucket,
        )
        self._stale.add(key)
        self._changed()

    def snapshot(self) -> Snapshot:
        """The view of everything applied so far; the same object until something changes.

        Readers of the exporter see it once published (:mod:`exporter.publish`)."""
        if self._snapshot is None:
            views = self._views
            for key in self._stale:
                views[key] = self._targets[key].view()
            self._stale.clear()
            self._snapshot = Snapshot(
                targets=MappingProxyType(views.copy()),
                revisions=MappingProxyType(dict(self._revisions)),
                version=self._version,
            )
        return self._snapshot

    def _apply_bucket(
        self,
        remembered: dict[Series, "_Buckets"],
        counters: dict[Series, float],
        bucket: BucketCount,
        counting: bool,
        key: TargetKey,
    ) -> None:
        # No real count is that large; clamped here, once, it fits the int64 storage and a
        # repeat of it compares equal to what was stored.
        series, count = bucket.series, min(bucket.count, _INT64_MAX)
        seen = remembered.get(series)
        if seen is None:
            seen = remembered[series] = _Buckets(series)
        counters.setdefault(series, 0.0)
        previous = seen.record(bucket.start, count)
        if previous is None:
            if counting:
                counters[series] += count
        elif count > previous:
            self._revisions["up"] += 1
            if counting:
                counters[series] += count - previous
        elif count < previous:
            # The larger count is kept: were the bucket to grow back, nothing is counted twice.
            self._revisions["down"] += 1
            log.info(
                "count_revised_down",
                target=str(key),
                metric=series.metric,
                bucket=bucket.start,
                before=previous,
                after=count,
            )

    def _apply_total(
        self, counters: dict[Series, float], series: Series, total: int, key: TargetKey
    ) -> None:
        current = counters.get(series)
        if current is None or total > current:
            if current is not None:
                self._revisions["up"] += 1
            counters[series] = float(total)
        elif total < current:
            self._revisions["down"] += 1
            log.info(
                "count_revised_down",
                target=str(key),
                metric=series.metric,
                before=current,
                after=total,
            )

    @staticmethod
    def _forget_before(state: _TargetState, start: int) -> None:
        emptied = False
        for seen in state.buckets:
            seen.forget_before(start)
            emptied = emptied or not seen
        if emptied:
            state.buckets = tuple(seen for seen in state.buckets if seen)

    def _changed(self) -> None:
        self._version += 1
        self._snapshot = None

    def dump_state(self) -> dict[str, Any]:
        """Everything needed to continue counting after a restart, as JSON-able data."""
        targets = []
        for key, state in sorted({**self._pending, **self._targets}.items()):
            if not state.baselined:
                continue
            targets.append(
                {
                    "collector": key.collector,
                    "target": key.target,
                    "watermark": state.watermark,
                    "horizon": state.horizon,
                    "bucket_width": state.bucket_width,
                    "counters": [_series_json(s) | {"value": v} for s, v in state.counters],
                    "buckets": [
                        _series_json(seen.series)
                        | {"counts": [list(pair) for pair in seen.items()]}
                        for seen in state.buckets
                    ],
                }
            )
        return {"version": STATE_VERSION, "targets": targets}

    def load_state(self, data: Mapping[str, Any], *, keep_unknown: bool = False) -> int:
        """Continue from :meth:`dump_state` output; targets not tracked are dropped, or with
        ``keep_unknown`` kept aside (and in :meth:`dump_state`) until :meth:`set_targets`
        asks for them or :meth:`forget_pending` gives them up: discovered targets are known
        only after the first listing.

        Returns how many tracked targets were restored. Raises ``ValueError`` on a bad
        document.
        """
        if not isinstance(data, Mapping) or data.get("version") != STATE_VERSION:
            raise ValueError(f"state version is not {STATE_VERSION}")
        parsed: list[tuple[TargetKey, _TargetState, _TargetState]] = []
        pending: dict[TargetKey, _TargetState] = {}
        try:
            for item in data["targets"]:
                key = TargetKey(str(item["collector"]), str(item["target"]))
                state = self._targets.get(key)
                if state is None and not keep_unknown:
                    continue
                loaded = _TargetState(
                    baselined=True,
                    watermark=int(item["watermark"]),
                    horizon=int(item["horizon"]),
                    bucket_width=_optional_int(item.get("bucket_width")),
                    counters=tuple(
                        sorted({_series_of(c): float(c["value"]) for c in item["counters"]}.items())
                    ),
                    buckets=_buckets_of(item["buckets"]),
                )
                if state is None:
                    pending[key] = loaded
                else:
                    parsed.append((key, state, loaded))
        except (KeyError, TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"state document is malformed: {exc!r}") from None
        for key, state, loaded in parsed:
            state.baselined = True
            state.watermark, state.horizon = loaded.watermark, loaded.horizon
            state.bucket_width = loaded.bucket_width
            state.counters, state.buckets = loaded.counters, loaded.buckets
            self._stale.add(key)
        self._pending = pending
        restored = len(parsed)
        self._changed()
        return restored


if TYPE_CHECKING:
    _IntArray = array[int]
else:
    _IntArray = array  # not subscriptable at run time before Python 3.12


class _Buckets(_IntArray):
    """The remembered counts of one series: one int64 array, bucket starts in order in its
    first half and their counts, in the same order, in its second half.

    A single machine-integer array instead of a dict of Python ints: about a third of the
    memory, which matters at 100,000 series with a 15-minute (or 3-hour) window.
    """

    __slots__ = ("series",)

    series: Series

    def __new__(cls, series: Series) -> "_Buckets":
        buckets: _Buckets = super().__new__(cls, "q")  # type: ignore[assignment]
        buckets.series = series
        return buckets

    @classmethod
    def of(cls, series: Series, pairs: Iterable[tuple[int, int]]) -> "_Buckets":
        """Buckets from (start, count) pairs in any order; a repeated start keeps its largest."""
        buckets = cls(series)
        for start, count in pairs:
            buckets.record(start, count)
        return buckets

    def record(self, start: int, count: int) -> int | None:
        """Remember ``count`` for ``start`` unless a larger one is known; return the previous.

        Both must fit an int64 (``OverflowError`` otherwise)."""
        n = len(self) >> 1
        i = n if n == 0 or start > self[n - 1] else bisect_left(self, start, 0, n)
        if i < n and self[i] == start:
            previous: int = self[n + i]
            if count > previous:
                self[n + i] = count
            return previous
        self.insert(n + i, count)
        self.insert(i, start)
        return None

    def forget_before(self, start: int) -> None:
        """Drop the buckets that start before ``start``."""
        n = len(self) >> 1
        i = bisect_left(self, start, 0, n)
        if i:
            del self[n : n + i]
            del self[:i]

    def items(self) -> Iterator[tuple[int, int]]:
        """(start, count) pairs, oldest first."""
        n = len(self) >> 1
        return zip(self[:n], self[n:], strict=True)


_INT64_MAX = 2**63 - 1


def _optional_int(value: Any) -> int | None:
    """An optional number of a state document (absent in files of older versions)."""
    return None if value is None else int(value)


def _buckets_of(items: Iterable[Mapping[str, Any]]) -> tuple[_Buckets, ...]:
    """The remembered buckets of a state document's target (a series given twice: the last)."""
    found = {}
    for item in items:
        series = _series_of(item)
        found[series] = _Buckets.of(series, ((int(start), int(n)) for start, n in item["counts"]))
    return tuple(found.values())


def _series_json(series: Series) -> dict[str, Any]:
    return {"metric": series.metric, "labels": [list(pair) for pair in series.labels]}


def _series_of(item: Mapping[str, Any]) -> Series:
    return Series(str(item["metric"]), tuple((str(k), str(v)) for k, v in item["labels"]))

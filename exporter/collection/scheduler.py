"""The collection loop: every target polled at its kind's interval, decoupled from scrapes.

One dispatching task and a heap of due times, not one task per target: a target costs a
small heap entry between polls, and an asyncio task only while its poll runs (at 7,000
targets a sleeping task per target was about a kilobyte each).

The targets of a kind added together get phases spread evenly over their kind's interval,
so the API sees a steady trickle of each kind. Their first polls all come within the
collection interval, so readiness never waits for a long interval: target ``i`` of ``n``
has the phase ``interval * i / n`` and first polls at that phase modulo the collection
interval, so from its first poll on it is polled at least once per interval, and never
twice within less than the collection interval. (Spreading only the first polls over the
collection interval would poll a whole 5-minute kind within one minute of every five.)

A target's next poll is scheduled only when its poll ends, so its polls never overlap; each
poll runs in its own task, so a slow or failing target delays no other. A poll that
overruns skips the ticks it missed and keeps its phase.

A due poll starts only while the request budget has room for one more request per poll
running (``room``: the client's): otherwise it waits in the heap, not as a task queued for
the budget. It would not go sooner, the polls running get the room their next requests
need, and the first cycle of a large config, which asks for more than a minute's budget,
does not hold thousands of half-done polls in memory at once (a few kilobytes each, kept
afterwards as fragmentation). A slow poll holds no budget while it waits for its answer: it
would take as many slow polls as a minute's budget allows to hold back another.
"""

import asyncio
import heapq
import math
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, tzinfo

import structlog

from exporter.clock import Clock
from exporter.collection.collectors import Collector, PollContext
from exporter.pushwoosh.client import PushwooshClient
from exporter.pushwoosh.errors import MalformedResponse, PushwooshError
from exporter.store import Store, TargetKey

log = structlog.get_logger(__name__)

FUTURE_TOLERANCE = 120.0
"""Seconds a bucket may start after now before its time zone is suspect (clock skew)."""
ROOM_RECHECK = 0.1
"""Seconds between two looks at the request budget while due polls wait for room."""


class _Target:
    """One scheduled target: its collector, when its next poll is due, its running poll.

    Ordered by due time, then by when it was added (the heap's order). It sits in the heap
    while it waits for its next poll and never while a poll of it runs.
    """

    __slots__ = ("collector", "due", "order", "phase", "poll")

    def __init__(self, collector: Collector, due: float, order: int, phase: float) -> None:
        self.collector = collector
        self.due = due
        self.order = order
        self.phase: float | None = phase
        """When the poll after the first is due (then None: one interval after the last)."""
        self.poll: asyncio.Task[None] | None = None

    def __lt__(self, other: "_Target") -> bool:
        return (self.due, self.order) < (other.due, other.order)


class Scheduler:
    """Runs the collectors against one client and feeds the store."""

    def __init__(
        self,
        *,
        store: Store,
        client: PushwooshClient,
        clock: Clock,
        interval: float,
        intervals: Mapping[str, float] | None = None,
        lookback: float,
        max_catchup: float,
        after_poll: Callable[[], Awaitable[None]] | None = None,
        timezone: tzinfo = UTC,
        room: Callable[[], int] | None = None,
    ) -> None:
        """``room``: the requests the budget lets go now (default: no limit)."""
        self.store = store
        self.client = client
        self.clock = clock
        self.interval = interval
        self.intervals = dict(intervals or {})
        self.lookback = lookback
        self.max_catchup = max_catchup
        self.timezone = timezone
        self._after_poll = after_poll
        self._room = room or _unlimited
        self._running = 0
        """Polls running now."""
        self._targets: dict[TargetKey, _Target] = {}
        self._heap: list[_Target] = []
        self._added = 0
        self._dispatcher: asyncio.Task[None] | None = None
        self._wake_at = math.inf
        """When the dispatcher wakes next (infinity: it is not running)."""
        self._failing: dict[TargetKey, str] = {}
        self._from_future: set[TargetKey] = set()

    def interval_of(self, kind: str) -> float:
        """Seconds between two polls of a target of ``kind``."""
        return self.intervals.get(kind, self.interval)

    @property
    def collectors(self) -> list[Collector]:
        """The collectors currently scheduled."""
        return [target.collector for target in self._targets.values()]

    def start(self, collectors: Sequence[Collector]) -> None:
        """Schedule ``collectors`` (replacing any current set: see :meth:`update`)."""
        self.update(collectors)

    def update(self, collectors: Sequence[Collector]) -> None:
        """Poll exactly ``collectors``: unchanged ones keep running untouched, removed or
        changed ones are cancelled, new ones start spread over the interval."""
        wanted = {c.key: c for c in collectors}
        for key, target in list(self._targets.items()):
            if wanted.get(key) != target.collector:
                # Its heap entry stays until due and is skipped then: it is no longer here.
                if target.poll is not None:
                    target.poll.cancel()
                del self._targets[key]
                self._failing.pop(key, None)
                self._from_future.discard(key)
        self.store.set_targets(wanted)
        # The keys of ``wanted`` (the store holds the same objects): a collector's ``key``
        # makes a new one at each call.
        new: dict[str, list[tuple[TargetKey, Collector]]] = {}
        for key, collector in wanted.items():
            if key not in self._targets:
                new.setdefault(key.collector, []).append((key, collector))
        now = self.clock.now()
        for kind, group in new.items():
            interval = self.interval_of(kind)
            within = min(interval, self.interval)
            for i, (key, collector) in enumerate(group):
                offset = interval * i / len(group)
                first = offset % within
                # The first tick of its phase after the first poll, at most an interval on.
                phase = now + offset if offset > first else now + first + interval
                target = _Target(collector, now + first, self._added, phase)
                self._added += 1
                self._targets[key] = target
                self._schedule(target)

    async def stop(self) -> None:
        """Cancel every poll and the dispatcher, and wait for them to end."""
        tasks = [t.poll for t in self._targets.values() if t.poll is not None]
        if self._dispatcher is not None:
            tasks.append(self._dispatcher)
        self._targets.clear()
        self._heap.clear()
        self._dispatcher, self._wake_at = None, math.inf
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _schedule(self, target: _Target) -> None:
        """Put ``target`` in the heap; wake the dispatcher earlier if it is due first."""
        heapq.heappush(self._heap, target)
        if target.due < self._wake_at or self._dispatcher is None or self._dispatcher.done():
            self._wake(target.due)

    def _wake(self, at: float) -> None:
        """Restart the dispatcher, to look at the heap again at ``at`` at the latest."""
        # It only ever waits in one sleep: cancelling it there loses nothing.
        if self._dispatcher is not None:
            self._dispatcher.cancel()
        self._wake_at = at
        self._dispatcher = asyncio.create_task(self._dispatch(), name="scheduler")

    async def _dispatch(self) -> None:
        """Start the polls that are due, in due order, while the budget has room for them;
        sleep until the next is due (or a while, to look for room); end when none waits."""
        heap = self._heap
        while True:
            now = self.clock.now()
            while heap and heap[0].due <= now and self._room() > self._running:
                target = heapq.heappop(heap)
                key = target.collector.key
                if self._targets.get(key) is target:  # else: removed while it waited
                    self._running += 1
                    target.poll = asyncio.create_task(self._poll(target), name=str(key))
            if not heap:
                self._dispatcher, self._wake_at = None, math.inf
                return
            due = heap[0].due
            self._wake_at = due if due > now else now + ROOM_RECHECK  # due, but no room
            await self.clock.sleep(self._wake_at - now)

    async def _poll(self, target: _Target) -> None:
        """Poll ``target`` once, then schedule its next poll one interval after this one's
        due time, skipping the ticks an overrunning poll missed (so the phase stays)."""
        try:
            await self.poll_once(target.collector)
        finally:
            self._running -= 1
        target.poll = None
        now = self.clock.now()
        if self._heap and self._heap[0].due <= now < self._wake_at:
            self._wake(now)  # polls wait for room, and this one made some
        key = target.collector.key
        if self._targets.get(key) is not target:
            return  # removed while it ran, after its last await
        interval = self.interval_of(key.collector)
        due = target.due + interval if target.phase is None else target.phase
        target.phase = None
        if due < now:
            due += math.ceil((now - due) / interval) * interval
        target.due = due
        self._schedule(target)

    async def poll_once(self, collector: Collector) -> bool:
        """Poll one target now and record the outcome; True on success."""
        key = collector.key
        started = self.clock.now()
        ctx = PollContext(
            client=self.client,
            now=started,
            lookback=self.lookback,
            max_catchup=self.max_catchup,
            watermark=self.store.watermark(key),
            bucket_width=self.store.bucket_width(key),
            timezone=self.timezone,
        )
        try:
            observation = await collector.collect(ctx)
        except PushwooshError as exc:
            self._failed(key, exc.reason, str(exc), started, exc)
            ok = False
        except Exception as exc:  # a bug in one collector must not stop the others
            log.exception("poll_crashed", collector=key.collector, target=key.target)
            self._failed(key, "internal", f"{type(exc).__name__}: {exc}", started)
            ok = False
        else:
            self.store.apply(observation, started=started, finished=self.clock.now())
            self._check_bucket_times(key, observation.newest_bucket, started)
            if self._failing.pop(key, None) is not None:
                log.info("poll_recovered", collector=key.collector, target=key.target)
            ok = True
        if self._after_poll is not None:
            await self._after_poll()
        return ok

    def _check_bucket_times(self, key: TargetKey, newest: int | None, now: float) -> None:
        """Warn once per target about buckets from the future: the API's dates are not in
        the configured ``pushwoosh.timezone``."""
        if newest is None or newest <= now + FUTURE_TOLERANCE or key in self._from_future:
            return
        self._from_future.add(key)
        log.warning(
            "bucket_from_future",
            collector=key.collector,
            target=key.target,
            seconds_ahead=int(newest - now),
            advice="the API's times are not in pushwoosh.timezone: set it to the account's"
            " time zone (an IANA name such as Europe/Berlin)",
        )

    def _failed(
        self,
        key: TargetKey,
        reason: str,
        message: str,
        started: float,
        exc: PushwooshError | None = None,
    ) -> None:
        error = f"{reason}: {message}"
        # An answer nobody predicted: show where it went wrong and what came back.
        detail: dict[str, str] = {}
        if exc is not None and exc.method:
            detail["method"] = exc.method
        if isinstance(exc, MalformedResponse):
            if exc.path:
                detail["path"] = exc.path
            if exc.body_start is not None:
                detail["body"] = exc.body_start
        self.store.record_failure(
            key, error, started=started, finished=self.clock.now(), body=detail.get("body")
        )
        # One line when a target starts failing or its error changes, not one per poll.
        level = log.debug if self._failing.get(key) == error else log.warning
        level(
            "poll_failed",
            collector=key.collector,
            target=key.target,
            reason=reason,
            error=message,
            **detail,
        )
        self._failing[key] = error


def _unlimited() -> int:
    return sys.maxsize

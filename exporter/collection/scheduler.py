"""The collection loop: every target polled at its kind's interval, decoupled from scrapes.

One asyncio task per target. The targets of each kind start at evenly spread offsets over
the shorter of their interval and the collection interval, so the API sees a steady trickle
rather than a burst and readiness never waits for a long interval. A target's polls never
overlap (its task runs them one after another), and a slow or failing target delays no other.
"""

import asyncio
import math
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
    ) -> None:
        self.store = store
        self.client = client
        self.clock = clock
        self.interval = interval
        self.intervals = dict(intervals or {})
        self.lookback = lookback
        self.max_catchup = max_catchup
        self.timezone = timezone
        self._after_poll = after_poll
        self._tasks: dict[TargetKey, tuple[Collector, asyncio.Task[None]]] = {}
        self._failing: dict[TargetKey, str] = {}
        self._from_future: set[TargetKey] = set()

    def interval_of(self, kind: str) -> float:
        """Seconds between two polls of a target of ``kind``."""
        return self.intervals.get(kind, self.interval)

    @property
    def collectors(self) -> list[Collector]:
        """The collectors currently scheduled."""
        return [collector for collector, _ in self._tasks.values()]

    def start(self, collectors: Sequence[Collector]) -> None:
        """Schedule ``collectors`` (replacing any current set: see :meth:`update`)."""
        self.update(collectors)

    def update(self, collectors: Sequence[Collector]) -> None:
        """Poll exactly ``collectors``: unchanged ones keep running untouched, removed or
        changed ones are cancelled, new ones start spread over the interval."""
        wanted = {c.key: c for c in collectors}
        for key, (collector, task) in list(self._tasks.items()):
            if wanted.get(key) != collector:
                task.cancel()
                del self._tasks[key]
                self._failing.pop(key, None)
                self._from_future.discard(key)
        self.store.set_targets(wanted)
        new: dict[str, list[Collector]] = {}
        for key, collector in wanted.items():
            if key not in self._tasks:
                new.setdefault(key.collector, []).append(collector)
        for kind, group in new.items():
            spread = min(self.interval_of(kind), self.interval)
            for i, collector in enumerate(group):
                offset = spread * i / len(group)
                task = asyncio.create_task(self._run(collector, offset), name=str(collector.key))
                self._tasks[collector.key] = (collector, task)

    async def stop(self) -> None:
        """Cancel every poll and wait for the tasks to end."""
        tasks = [task for _, task in self._tasks.values()]
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, collector: Collector, offset: float) -> None:
        interval = self.interval_of(collector.key.collector)
        await self.clock.sleep(offset)
        next_at = self.clock.now()
        while True:
            await self.poll_once(collector)
            next_at += interval
            now = self.clock.now()
            if next_at < now:  # the poll overran: skip the missed ticks, keep the phase
                next_at += math.ceil((now - next_at) / interval) * interval
            await self.clock.sleep(next_at - now)

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

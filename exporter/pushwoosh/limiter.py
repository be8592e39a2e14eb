"""How many requests the client may have in flight, and how many it may send per minute.

Every HTTP attempt (API calls, getResults polls, the tag file download) takes one
:meth:`RequestLimiter.slot`: first a concurrency slot, then a send time in the sliding
window. That order matters: a send time is recorded only when the request leaves at once,
so the log holds real send times and never more than ``max_per_minute`` fall in any window.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from exporter.clock import Clock


class SlidingWindowLimiter:
    """At most ``limit`` acquisitions in any ``window`` seconds, by a log of send times.

    Waiters are served in arrival order; time comes from the injected clock.
    """

    def __init__(self, limit: int, clock: Clock, window: float = 60.0) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._limit = limit
        self._window = window
        self._clock = clock
        self._sent: deque[float] = deque()
        self._turn = asyncio.Lock()

    def room(self) -> int:
        """Sends that would go now without waiting."""
        self._expire(self._clock.now())
        return self._limit - len(self._sent)

    def _expire(self, now: float) -> None:
        # Compare expiry times (not ``now - window``) so that a wait is always > 0.
        while self._sent and self._sent[0] + self._window <= now:
            self._sent.popleft()

    async def acquire(self) -> None:
        """Wait until one more send fits in the window, and record it as sent now."""
        async with self._turn:
            while True:
                now = self._clock.now()
                self._expire(now)
                if len(self._sent) < self._limit:
                    self._sent.append(now)
                    return
                await self._clock.sleep(self._sent[0] + self._window - now)


class RequestLimiter:
    """The concurrency cap and the per-minute limit, shared by all calls of one client."""

    def __init__(self, *, max_concurrent: int, max_per_minute: int, clock: Clock) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self._max_concurrent = max_concurrent
        self._in_flight = asyncio.Semaphore(max_concurrent)
        self._per_minute = SlidingWindowLimiter(max_per_minute, clock)
        self._waiting = 0

    @property
    def room(self) -> int:
        """Requests that could go now besides those already waiting: the per-minute window's
        room less the requests waiting, and 0 while as many wait as may be in flight at once
        (then the concurrency cap, not the window, holds them)."""
        if self._waiting >= self._max_concurrent:
            return 0
        return max(0, self._per_minute.room() - self._waiting)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one request slot while the body of the ``async with`` sends one request."""
        self._waiting += 1
        waiting = True
        try:
            async with self._in_flight:
                await self._per_minute.acquire()
                self._waiting -= 1
                waiting = False
                yield
        finally:
            if waiting:  # cancelled or failed while it waited
                self._waiting -= 1

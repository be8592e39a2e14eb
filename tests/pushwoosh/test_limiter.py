"""The request limits on a fake clock: the per-minute window and the concurrency cap."""

import asyncio
import heapq
import itertools
import math
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from virtual_clock import settle

from exporter.pushwoosh.limiter import RequestLimiter, SlidingWindowLimiter

T = TypeVar("T")

START = 0.0
"""Fake time starts at zero, so offsets stay exact in floating point."""
EPSILON = 1e-9


class FakeClock:
    """A clock whose time only moves when every task is waiting on it.

    ``run`` drives a coroutine: whenever the loop has nothing else to do, time jumps to the
    earliest sleeper's wake-up time and wakes it.
    """

    def __init__(self, start: float = START) -> None:
        self.time = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self.time

    async def sleep(self, seconds: float) -> None:
        wake = asyncio.get_running_loop().create_future()
        when = self.time + max(0.0, seconds)
        if seconds > 0 and when == self.time:
            when = math.nextafter(when, math.inf)  # real time always moves on; so does this
        heapq.heappush(self._sleepers, (when, next(self._order), wake))
        await wake

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        task = asyncio.ensure_future(work)
        while True:
            for _ in range(50):  # let every runnable task reach its next wait
                await asyncio.sleep(0)
            if task.done():
                return task.result()
            assert self._sleepers, "deadlock: nothing sleeps and the work is not done"
            when, _, wake = heapq.heappop(self._sleepers)
            self.time = max(self.time, when)
            wake.set_result(None)


async def send_times(
    limiter: SlidingWindowLimiter, clock: FakeClock, arrivals: list[float]
) -> list[float]:
    """Acquire once per arrival offset; the offsets at which each acquisition was granted."""
    granted: list[float] = []

    async def one(arrival: float) -> None:
        await clock.sleep(arrival)
        await limiter.acquire()
        granted.append(clock.now() - START)

    await asyncio.gather(*(one(a) for a in arrivals))
    return sorted(granted)


async def test_a_burst_is_sent_in_whole_minutes() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(10, clock)
    granted = await clock.run(send_times(limiter, clock, [0.0] * 25))
    assert granted == [0.0] * 10 + [60.0] * 10 + [120.0] * 5


async def test_a_freed_place_is_reused_exactly_sixty_seconds_after_its_send() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(3, clock)
    granted = await clock.run(send_times(limiter, clock, [0.0, 10.0, 20.0, 25.0, 26.0, 90.0]))
    assert granted == [0.0, 10.0, 20.0, 60.0, 70.0, 90.0]


@settings(max_examples=40, deadline=None)
@given(
    limit=st.integers(min_value=1, max_value=6),
    arrivals=st.lists(st.floats(min_value=0, max_value=200, allow_nan=False), max_size=30),
)
def test_never_more_than_the_limit_in_any_sixty_seconds(limit: int, arrivals: list[float]) -> None:
    async def scenario() -> list[float]:
        clock = FakeClock()
        return await clock.run(send_times(SlidingWindowLimiter(limit, clock), clock, arrivals))

    granted = asyncio.run(scenario())
    assert len(granted) == len(arrivals)
    for first, later in zip(granted, granted[limit:], strict=False):
        assert later - first >= 60.0 - EPSILON
    # Nothing waits for no reason: each send is at an arrival or when a place freed up.
    moments = arrivals + [g + 60.0 for g in granted]
    assert all(any(abs(g - m) < EPSILON for m in moments) for g in granted)


async def test_concurrency_cap_holds_while_requests_are_in_flight() -> None:
    clock = FakeClock()
    limiter = RequestLimiter(max_concurrent=3, max_per_minute=600, clock=clock)
    in_flight = 0
    peak = 0
    started: list[float] = []

    async def request() -> None:
        nonlocal in_flight, peak
        async with limiter.slot():
            in_flight += 1
            peak = max(peak, in_flight)
            started.append(clock.now() - START)
            await clock.sleep(2.0)
            in_flight -= 1

    await clock.run(asyncio.gather(*(request() for _ in range(8))))
    assert peak == 3
    assert sorted(started) == [0.0] * 3 + [2.0] * 3 + [4.0] * 2


async def test_slot_applies_both_limits_and_records_the_real_send_time() -> None:
    clock = FakeClock()
    limiter = RequestLimiter(max_concurrent=2, max_per_minute=3, clock=clock)
    started: list[float] = []

    async def request() -> None:
        async with limiter.slot():
            started.append(clock.now() - START)
            await clock.sleep(70.0)

    await clock.run(asyncio.gather(*(request() for _ in range(5))))
    # Two in flight at once; at t=70 both return, and the sends of t=0 have left the window.
    assert sorted(started) == [0.0, 0.0, 70.0, 70.0, 140.0]


async def test_room_is_what_could_go_now_besides_the_requests_waiting() -> None:
    clock = FakeClock()
    limiter = RequestLimiter(max_concurrent=2, max_per_minute=6, clock=clock)

    async def request() -> None:
        async with limiter.slot():
            await clock.sleep(2.0)

    async def watch() -> list[int]:
        seen = []
        for _ in range(4):
            await clock.sleep(1.0)  # at 1, 3, 5 and 7 s
            seen.append(limiter.room)
        return seen

    assert limiter.room == 6
    work = asyncio.gather(watch(), *(request() for _ in range(5)))
    # At 1 s: 2 sent, 3 wait (as many as may be in flight): 0. At 3 s: 4 sent, 1 waits:
    # 6 - 4 - 1. At 5 s: 5 sent. At 7 s, still 5 in the window.
    assert (await clock.run(work))[0] == [0, 1, 1, 1]
    clock.time += 60.0
    assert limiter.room == 6  # the window moved on

    async def cancelled() -> None:
        task = asyncio.gather(*(request() for _ in range(4)))
        await settle(10)
        assert limiter.room == 0
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    await clock.run(cancelled())
    assert limiter.room == 4  # requests cancelled while they waited no longer count


def test_limits_below_one_are_refused() -> None:
    with pytest.raises(ValueError, match="limit"):
        SlidingWindowLimiter(0, FakeClock())
    with pytest.raises(ValueError, match="max_concurrent"):
        RequestLimiter(max_concurrent=0, max_per_minute=1, clock=FakeClock())

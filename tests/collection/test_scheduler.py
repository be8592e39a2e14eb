"""The collection loop: spread, cadence, no overlap, isolation of failures, reload."""

import asyncio
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from virtual_clock import VirtualClock

from exporter.collection.collectors import PollContext
from exporter.collection.scheduler import ROOM_RECHECK, Scheduler
from exporter.pushwoosh.errors import AuthError
from exporter.store import Observation, Store, TargetKey


@dataclass(eq=False)
class ScriptedCollector:
    """A collector whose polls take ``duration`` virtual seconds and may fail."""

    name: str
    clock: VirtualClock
    duration: float = 1.0
    kind: str = "app_stats"
    fail: bool = False
    starts: list[float] = field(default_factory=list)
    running: int = 0
    max_running: int = 0
    log: list[str] | None = None
    """Where to note the order polls start in, if given."""

    @property
    def key(self) -> TargetKey:
        return TargetKey(self.kind, self.name)

    async def collect(self, ctx: PollContext) -> Observation:
        self.starts.append(ctx.now)
        if self.log is not None:
            self.log.append(self.name)
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await self.clock.sleep(self.duration)
        finally:
            self.running -= 1
        if self.fail:
            raise AuthError("Account not found", method="getAppStats")
        return Observation(self.key, int(ctx.now), int(ctx.now))


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=1000.0)


def make_scheduler(
    clock: VirtualClock,
    store: Store,
    *,
    interval: float = 60.0,
    intervals: dict[str, float] | None = None,
    room: Callable[[], int] | None = None,
) -> Scheduler:
    return Scheduler(
        store=store,
        client=None,  # type: ignore[arg-type]  # scripted collectors never call the API
        clock=clock,
        interval=interval,
        intervals=intervals,
        lookback=900.0,
        max_catchup=3600.0,
        room=room,
    )


async def test_targets_start_spread_over_the_interval_and_keep_their_phase(
    clock: VirtualClock,
) -> None:
    collectors = [ScriptedCollector(f"APP{i}", clock) for i in range(4)]
    scheduler = make_scheduler(clock, Store())
    scheduler.start(collectors)
    await clock.advance_to(1000.0 + 299.0)
    await scheduler.stop()
    for i, c in enumerate(collectors):
        assert c.starts == [1000.0 + 15.0 * i + 60.0 * k for k in range(5)]


async def test_slow_target_never_overlaps_itself_nor_delays_others(clock: VirtualClock) -> None:
    slow = ScriptedCollector("SLOW", clock, duration=150.0)
    quick = ScriptedCollector("QUICK", clock)
    scheduler = make_scheduler(clock, Store())
    scheduler.start([slow, quick])
    await clock.advance_to(1000.0 + 600.0)
    await scheduler.stop()
    assert slow.max_running == 1
    # A poll that overran skips the missed ticks and keeps the phase.
    assert slow.starts == [1000.0, 1180.0, 1360.0, 1540.0]
    assert quick.starts == [1030.0 + 60.0 * k for k in range(10)]


async def test_a_failing_target_is_down_and_the_others_up(clock: VirtualClock) -> None:
    store = Store()
    bad = ScriptedCollector("BAD", clock, fail=True)
    good = ScriptedCollector("GOOD", clock)
    scheduler = make_scheduler(clock, store)
    scheduler.start([bad, good])
    await clock.advance_to(1000.0 + 200.0)
    await scheduler.stop()
    targets = store.snapshot().targets
    assert targets[bad.key].status.up is False
    assert targets[bad.key].status.last_error == "auth: getAppStats: Account not found"
    assert targets[good.key].status.up is True
    assert (len(bad.starts), len(good.starts)) == (4, 3)


async def test_update_keeps_unchanged_targets_and_swaps_the_rest(clock: VirtualClock) -> None:
    store = Store()
    kept = ScriptedCollector("KEPT", clock)
    removed = ScriptedCollector("GONE", clock)
    scheduler = make_scheduler(clock, store)
    scheduler.start([kept, removed])
    await clock.advance_to(1100.0)
    added = ScriptedCollector("NEW", clock)
    scheduler.update([kept, added])
    await clock.advance_to(1300.0)
    await scheduler.stop()
    assert kept.starts == [1000.0 + 60.0 * k for k in range(6)]
    assert removed.starts == [1030.0, 1090.0]
    assert added.starts[0] == 1100.0
    assert set(store.snapshot().targets) == {kept.key, added.key}


async def test_each_kind_is_polled_at_its_own_interval(clock: VirtualClock) -> None:
    scheduler = make_scheduler(clock, Store(), interval=2.0, intervals={"events": 20.0})
    stats = [ScriptedCollector(f"APP{i}", clock, duration=0.1) for i in range(2)]
    events = [ScriptedCollector(f"APP{i}/E", clock, duration=0.1, kind="events") for i in range(4)]
    scheduler.start([*stats, *events])
    await clock.advance_to(1000.0 + 200.0 - 0.01)
    await scheduler.stop()
    assert [len(c.starts) for c in stats] == [100, 100]
    # The first polls of the slow kind come within the shorter interval: ready within 2 s.
    assert [c.starts[0] - 1000.0 for c in events] == [0.0, 1.0, 0.0, 1.0]
    # Then each is polled every 20 s, at phases spread evenly over the 20 s; the first gap
    # is at most one interval.
    assert [c.starts[1] - 1000.0 for c in events] == [20.0, 5.0, 10.0, 15.0]
    assert all(b - a == 20.0 for c in events for a, b in itertools.pairwise(c.starts[1:]))
    assert [len(c.starts) for c in events] == [10, 11, 11, 11]


async def test_a_kind_is_spread_evenly_over_its_own_interval(clock: VirtualClock) -> None:
    scheduler = make_scheduler(clock, Store(), intervals={"events": 300.0})
    events = [ScriptedCollector(f"APP{i}/E", clock, kind="events") for i in range(300)]
    scheduler.start(events)
    await clock.advance_to(1000.0 + 1500.0 - 0.01)
    await scheduler.stop()
    assert max(c.starts[0] for c in events) < 1060.0
    per_minute = [0] * 25
    for c in events:
        for start in c.starts[1:]:
            per_minute[int((start - 1000.0) // 60)] += 1
    # From the second minute on, a fifth of the kind is polled each minute.
    assert per_minute[1:] == [60] * 24
    assert all(b - a <= 300.0 for c in events for a, b in itertools.pairwise(c.starts))


async def test_between_polls_no_task_is_kept_per_target(clock: VirtualClock) -> None:
    before = len(asyncio.all_tasks())
    collectors = [ScriptedCollector(f"APP{i}", clock, duration=0.01) for i in range(1000)]
    scheduler = make_scheduler(clock, Store())
    scheduler.start(collectors)
    await clock.advance_to(1000.0 + 30.0)  # 500 polled, at most one running (0.06 s apart)
    assert len(asyncio.all_tasks()) - before <= 2  # the dispatcher and that poll
    await clock.advance_to(1000.0 + 90.0)
    assert all(len(c.starts) == (2 if c.starts[0] <= 1030.0 else 1) for c in collectors)
    await scheduler.stop()
    assert len(asyncio.all_tasks()) == before


async def test_due_polls_wait_for_room_in_the_budget_then_go_in_due_order(
    clock: VirtualClock,
) -> None:
    room = 0
    order: list[str] = []
    scheduler = make_scheduler(clock, Store(), room=lambda: room)
    collectors = [ScriptedCollector(f"APP{i}", clock, duration=0.5, log=order) for i in (3, 1, 2)]
    scheduler.start(collectors)  # due at 0, 20 and 40 s
    await clock.advance_to(1050.0)
    assert order == []
    room = 2  # room for two polls running at once
    await clock.advance_to(1200.0)
    await scheduler.stop()
    assert order[:3] == ["APP3", "APP1", "APP2"]
    first = collectors[0].starts[0]
    assert 1050.0 <= first <= 1050.0 + ROOM_RECHECK
    # Two at once, the third when one of them is done; then each at its own phase again.
    assert [c.starts[0] for c in collectors[1:]] == [first, first + 0.5]
    assert [c.starts[1:] for c in collectors] == [
        [1060.0, 1120.0, 1180.0],
        [1080.0, 1140.0, 1200.0],
        [1100.0, 1160.0],
    ]

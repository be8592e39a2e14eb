"""A virtual clock for asyncio code: sleeps wait for the test to advance time."""

import asyncio
import heapq
import itertools


class VirtualClock:
    """Implements exporter.clock.Clock; time moves only in :meth:`advance_to`."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = start
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (self.t + max(0.0, seconds), next(self._seq), future))
        await future

    async def advance_to(self, target: float) -> None:
        """Run every task due up to ``target``, in virtual-time order."""
        while True:
            await settle()
            while self._waiters and self._waiters[0][2].done():
                heapq.heappop(self._waiters)
            if not self._waiters or self._waiters[0][0] > target:
                break
            wake, _, future = heapq.heappop(self._waiters)
            self.t = max(self.t, wake)
            future.set_result(None)
        self.t = max(self.t, target)


async def settle(rounds: int = 50) -> None:
    """Let every ready task run until all are waiting."""
    for _ in range(rounds):
        await asyncio.sleep(0)

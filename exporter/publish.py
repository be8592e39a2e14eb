"""The one publish point: what readers see of the store, swapped in whole after each change.

The poller builds (the store applies a poll), :class:`Publisher` publishes, the HTTP
handlers only :meth:`~Publisher.load`. After every poll, and after the targets change, the
store's new snapshot is published; with a state file it is first written to disk, so what
was written is what gets published.

A write that fails does not hold the snapshot back: publishing goes on, so the metrics never
freeze on a disk fault. Until the next good write a crash may lose what was published since
the last one (the counters would then go back to the state on disk); the failures are
logged once per streak and counted in ``pushwoosh_state_write_failures_total``.
"""

import asyncio

from exporter.checkpoint import StateFile
from exporter.store import Snapshot, Store


class Publisher:
    """Publishes the store's snapshot after each change, written first when there is a state
    file. Used from one event loop.

    Writes are coalesced: a change while a write runs triggers one more write (of the
    newest snapshot) after it, never a queue of them.
    """

    def __init__(self, store: Store, state_file: StateFile | None = None) -> None:
        self._store = store
        self._state_file = state_file
        self._published = store.snapshot()
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def load(self) -> Snapshot:
        """The snapshot readers see: immutable, swapped whole by each publish. Without a
        state file every change is published at once: the store's own snapshot, built on
        the first read after a change (building it after every poll would cost a pass over
        all targets per poll)."""
        if self._state_file is None:
            return self._store.snapshot()
        return self._published

    async def changed(self) -> None:
        """Publish what the store holds now (the scheduler's after-poll hook, and after the
        targets change); returns at once, a state write runs in the background."""
        if self._state_file is None:
            return  # load() reads the store itself
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._publish_while_needed())
        else:
            self._again = True

    async def flush(self) -> None:
        """Wait for a pending write, then write and publish once more (at shutdown)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self._publish()

    async def _publish_while_needed(self) -> None:
        while True:
            self._again = False
            await self._publish()
            if not self._again:
                return

    async def _publish(self) -> None:
        # Taken together on the loop: the state written is the snapshot published.
        snapshot = self._store.snapshot()
        try:
            if self._state_file is not None:
                await self._state_file.write(self._store.dump_state())
        finally:
            self._published = snapshot

"""The state file (``--state.file``): counters, remembered buckets and watermarks on disk.

Written atomically after polls (temp file in the same folder, fsync, rename, mode 0600)
off the event loop; read once at start. A file that cannot be used is moved aside with a
timestamp suffix and the exporter starts as without one (docs/counting.md, rule 5).
"""

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import structlog

from exporter.store import Store

log = structlog.get_logger(__name__)


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace ``path`` with ``state`` as JSON, atomically and durably, readable by us only."""
    data = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def read_state(path: Path, now: float | None = None) -> dict[str, Any] | None:
    """The saved state, or None when there is none or it is unreadable (then moved aside)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("state_unreadable", path=str(path), error=exc.strerror or str(exc))
        return None
    try:
        state = json.loads(raw)
        if not isinstance(state, dict):
            raise ValueError("not a JSON object")
    except ValueError as exc:
        set_aside(path, f"not valid JSON ({exc})", now)
        return None
    return state


def set_aside(path: Path, why: str, now: float | None = None) -> Path | None:
    """Rename an unusable state file to ``<name>.bad-<UTC timestamp>`` and log it once."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time()))
    target = path.with_name(f"{path.name}.bad-{stamp}")
    try:
        os.replace(path, target)
    except OSError as exc:
        log.warning("state_discarded", path=str(path), reason=why, error=str(exc))
        return None
    log.warning("state_discarded", path=str(path), moved_to=str(target), reason=why)
    return target


class Checkpointer:
    """Writes the store's state after polls, then publishes what was written.

    Publishing only what is on disk means a counter Prometheus has seen is never lost by a
    crash: after a restart it continues from at least that value. Writes are coalesced: a
    poll finishing while a write runs triggers one more write after it.
    """

    def __init__(self, path: Path, store: Store) -> None:
        self.path = path
        self.store = store
        self._task: asyncio.Task[None] | None = None
        self._again = False

    def restore(self, *, keep_unknown: bool = False) -> int:
        """Load the state file into the store (its targets must be set); targets restored.
        With ``keep_unknown`` the saved targets not set yet wait for discovery."""
        state = read_state(self.path)
        if state is None:
            return 0
        try:
            restored = self.store.load_state(state, keep_unknown=keep_unknown)
        except ValueError as exc:
            set_aside(self.path, str(exc))
            return 0
        log.info("state_restored", path=str(self.path), targets=restored)
        return restored

    async def after_poll(self) -> None:
        """Schedule a write (the scheduler's after-poll hook); returns at once."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write_while_needed())
        else:
            self._again = True

    async def flush(self) -> None:
        """Wait for pending writes, then write once more (at shutdown)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        await self._write_once()

    async def _write_while_needed(self) -> None:
        while True:
            self._again = False
            await self._write_once()
            if not self._again:
                return

    async def _write_once(self) -> None:
        snapshot, state = self.store.latest(), self.store.dump_state()
        try:
            await asyncio.to_thread(write_state, self.path, state)
        except OSError as exc:
            log.error("state_write_failed", path=str(self.path), error=exc.strerror or str(exc))
        self.store.publish(snapshot)

"""The state file (``--state.file``): counters, remembered buckets and watermarks on disk.

Written atomically after polls (temp file in the same folder, fsync, rename, mode 0600)
off the event loop; read once at start. A file that cannot be used is moved aside with a
timestamp suffix and the exporter starts as without one. A write that fails (disk full,
read-only volume, the folder gone) is logged once when writes start failing and once when
they recover, and reported to an observer (the self-metrics); what to do about it is the
publisher's business (:mod:`exporter.publish`).
"""

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any, Protocol

import structlog

from exporter.clock import Clock, SystemClock
from exporter.store import Store

log = structlog.get_logger(__name__)


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace ``path`` with ``state`` as JSON, atomically and durably, readable by us only.

    Raises ``OSError`` when any step fails; ``path`` then still holds the previous state.
    """
    data = memoryview(json.dumps(state, separators=(",", ":"), sort_keys=True).encode())
    temp = path.with_name(f".{path.name}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        # os.write may write less than asked (a nearly full disk) without raising: a
        # truncated file renamed into place would lose every counter at the next start.
        while data:
            data = data[os.write(fd, data) :]
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


class StateWriteObserver(Protocol):
    """Told the outcome of every state write (the self-metrics)."""

    def state_write_finished(self, ok: bool, when: float) -> None:
        """One write of the state file finished at ``when``: written (``ok``) or failed."""
        ...


class StateFile:
    """The state file of a running exporter: restored once at start, written after polls.

    A failing write is logged as ``state_write_failed`` (with the error) when writes start
    failing, not at every poll, and ``state_write_recovered`` when one works again; the
    observer sees every outcome.
    """

    def __init__(
        self, path: Path, *, clock: Clock | None = None, observer: StateWriteObserver | None = None
    ) -> None:
        self.path = path
        self._clock: Clock = clock or SystemClock()
        self._observer = observer
        self._failing: str | None = None
        """The error of the current failing streak; None while writes work."""

    def restore(self, store: Store, *, keep_unknown: bool = False) -> int:
        """Load the state file into ``store`` (its targets must be set); targets restored.
        With ``keep_unknown`` the saved targets not set yet wait for discovery."""
        state = read_state(self.path)
        if state is None:
            return 0
        try:
            restored = store.load_state(state, keep_unknown=keep_unknown)
        except ValueError as exc:
            set_aside(self.path, str(exc))
            return 0
        log.info("state_restored", path=str(self.path), targets=restored)
        return restored

    async def write(self, state: dict[str, Any]) -> bool:
        """Write ``state`` off the event loop; True when it is on disk."""
        try:
            await asyncio.to_thread(write_state, self.path, state)
        except OSError as exc:
            error = exc.strerror or str(exc)
            if self._failing is None:
                log.error("state_write_failed", path=str(self.path), error=error)
            self._failing = error
            self._report(ok=False)
            return False
        if self._failing is not None:
            log.info("state_write_recovered", path=str(self.path), error_was=self._failing)
            self._failing = None
        self._report(ok=True)
        return True

    def _report(self, *, ok: bool) -> None:
        if self._observer is not None:
            self._observer.state_write_finished(ok, self._clock.now())

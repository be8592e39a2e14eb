"""Disk faults under the state file: the exporter keeps serving and publishing, says so once
per failing streak, counts the failures, and writes again when the fault is gone.

Real faults under a real exporter process: the state folder replaced by a file while it runs,
and a real full filesystem (a 64 KiB tmpfs, which needs root: CI runs as root and fails
rather than skips when it cannot mount one).
"""

import contextlib
import errno
import json
import math
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ci import cannot_run
from harness import TOKEN, QuietSim, inject, metric_value, wait_for
from processes import ExporterProcess, write_config

FAILURES = "pushwoosh_state_write_failures_total"
LAST_WRITE = "pushwoosh_state_last_write_success_timestamp_seconds"


def log_events(path: Path, event: str) -> list[dict[str, Any]]:
    """The JSON log lines of ``event``."""
    lines = path.read_text().splitlines()
    entries = [json.loads(line) for line in lines if line.startswith("{")]
    return [entry for entry in entries if entry.get("event") == event]


class Running:
    """One exporter process on a state file, and how to read it."""

    def __init__(self, quiet_sim: QuietSim, tmp_path: Path, state: Path) -> None:
        self.sim, world, self.session = quiet_sim
        app = world["apps"][0]
        self.app = app["code"]
        self.sent = {"app": self.app, "app_name": app["name"]}
        self.log = tmp_path / "exporter.log"
        config = write_config(tmp_path / "config.yaml", self.sim.url, world)
        self.process = ExporterProcess(
            [f"--config.file={config}", f"--state.file={state}", "--log.format=json"],
            TOKEN,
            self.log,
        )

    async def metric(self, name: str, **labels: str) -> float | None:
        return await metric_value(self.session, self.process.url, name, **labels)

    async def sent_total(self) -> float | None:
        return await self.metric("pushwoosh_messages_sent_total", **self.sent)

    async def wait_metric(
        self, name: str, what: str, *, at_least: float, at_most: float = math.inf, **labels: str
    ) -> float:
        """Wait until the sample ``name`` is within [at_least, at_most]; its value."""

        async def check() -> tuple[float] | None:
            found = await self.metric(name, **labels)
            return (found,) if found is not None and at_least <= found <= at_most else None

        (found,) = await wait_for(check, what=what)
        return found

    async def counts_while_failing(self, count: int, expected: float) -> None:
        """Events keep being counted and published while writes fail."""
        await inject(self.session, self.sim, self.app, count)
        await self.wait_metric(
            "pushwoosh_messages_sent_total",
            f"{expected} counted",
            at_least=expected,
            at_most=expected,
            **self.sent,
        )

    def events(self, event: str) -> list[dict[str, Any]]:
        return log_events(self.log, event)


async def test_a_state_folder_replaced_by_a_file_does_not_freeze_the_metrics(
    quiet_sim: QuietSim, tmp_path: Path
) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    state = folder / "state.json"
    running = Running(quiet_sim, tmp_path, state)
    await running.process.start()
    try:
        await running.wait_metric(LAST_WRITE, "a first write", at_least=1)
        await running.wait_metric(
            "pushwoosh_messages_sent_total", "baseline", at_least=0, at_most=0, **running.sent
        )
        expected = 0.0
        for streak in (1, 2):
            before = await running.metric(FAILURES)
            assert before is not None
            shutil.rmtree(folder)
            folder.write_text("the volume is gone")
            expected += 5
            await running.counts_while_failing(5, expected)
            await running.wait_metric(FAILURES, "failed writes", at_least=before + 3)
            assert len(running.events("state_write_failed")) == streak
            failed = running.events("state_write_failed")[-1]
            # A write between the two steps of the swap finds no folder at all.
            assert failed["error"] in {"Not a directory", "No such file or directory"}
            assert failed["path"] == str(state)
            assert failed["level"] == "error"
            assert len(running.events("state_write_recovered")) == streak - 1

            folder.unlink()
            folder.mkdir()
            fixed_at = time.time()
            await running.wait_metric(LAST_WRITE, "a fresh write", at_least=fixed_at)
            assert len(running.events("state_write_recovered")) == streak
            assert len(running.events("state_write_failed")) == streak
            saved = json.loads(state.read_text())
            (target,) = (t for t in saved["targets"] if t["collector"] == "app_stats")
            (sent,) = (
                c for c in target["counters"] if c["metric"] == "pushwoosh_messages_sent_total"
            )
            assert sent["value"] == expected
    finally:
        await running.process.kill()


def mount_tiny_filesystem(where: Path) -> None:
    """Mount a 64 KiB tmpfs at ``where``; fails loudly in CI, skips elsewhere, if it cannot."""
    where.mkdir()
    mount = shutil.which("mount")
    result = (
        subprocess.run(
            [mount, "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(where)],
            capture_output=True,
            text=True,
            check=False,
        )
        if mount and os.geteuid() == 0
        else None
    )
    if result is None or result.returncode != 0:
        why = result.stderr.strip() if result else "not root, or no mount command"
        cannot_run(f"cannot mount a tiny tmpfs for the disk-full test ({why}): run as root")


@pytest.fixture
def tiny_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A real 64 KiB filesystem, unmounted afterwards."""
    where = tmp_path / "volume"
    mount_tiny_filesystem(where)
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


def fill(volume: Path) -> Path:
    """Write a file until the filesystem is full (ENOSPC); its path."""
    filler = volume / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    chunk = b"\0" * 4096
    try:
        while True:
            try:
                os.write(fd, chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                return filler
    finally:
        os.close(fd)


async def test_a_full_disk_does_not_freeze_the_metrics(
    quiet_sim: QuietSim, tmp_path: Path, tiny_filesystem: Path
) -> None:
    state = tiny_filesystem / "state.json"
    filler = fill(tiny_filesystem)
    running = Running(quiet_sim, tmp_path, state)
    await running.process.start()
    try:
        await running.wait_metric(
            "pushwoosh_messages_sent_total", "baseline", at_least=0, at_most=0, **running.sent
        )
        failures = await running.wait_metric(FAILURES, "a failed write", at_least=1)
        await running.counts_while_failing(4, 4.0)
        await running.wait_metric(FAILURES, "more failures", at_least=failures + 3)
        assert await running.metric(LAST_WRITE) == 0.0
        (failed,) = running.events("state_write_failed")
        assert failed["error"] == "No space left on device"
        assert not state.exists()

        filler.unlink()
        fixed_at = time.time()
        await running.wait_metric(LAST_WRITE, "a fresh write", at_least=fixed_at)
        (recovered,) = running.events("state_write_recovered")
        assert recovered["error_was"] == "No space left on device"
        assert len(running.events("state_write_failed")) == 1
        assert await running.sent_total() == 4.0
        saved = json.loads(state.read_text())
        assert {t["collector"] for t in saved["targets"]} >= {"app_stats", "campaign"}
    finally:
        await running.process.kill()
        with contextlib.suppress(FileNotFoundError):
            filler.unlink()


async def test_a_bad_config_at_start_leaves_the_state_file_untouched(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"version": 1, "targets": [{"collector": "app_stats"}]}')
    before = state.read_bytes()
    config = tmp_path / "config.yaml"
    config.write_text("applications: [{code: ABCDE-12345, name: shop, subscribers: v3}]\n")
    process = ExporterProcess(
        [f"--config.file={config}", f"--state.file={state}"], TOKEN, tmp_path / "log"
    )
    await process.start()
    try:
        assert await process.wait() == 1
    finally:
        await process.kill()
    assert state.read_bytes() == before
    assert "subscribers" in (tmp_path / "log").read_text()

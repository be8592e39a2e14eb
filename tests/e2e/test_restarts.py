"""Restarts lose nothing (docs/counting.md, rule 5): SIGKILL, downtime, late events, SIGTERM."""

import asyncio
import json
import signal
import stat
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from harness import TOKEN, QuietSim, get_json, inject, metric_value, wait_for
from processes import ExporterProcess, write_config


async def run_and_kill(
    quiet_sim: QuietSim,
    tmp_path: Path,
    downtime: float,
    late_by: float,
    **collection: str,
) -> None:
    sim, world, session = quiet_sim
    app, name = world["apps"][0]["code"], world["apps"][0]["name"]
    config = write_config(tmp_path / "config.yaml", sim.url, world, **collection)
    state = tmp_path / "state.json"
    args = [f"--config.file={config}", f"--state.file={state}"]
    sent = {"name": "pushwoosh_messages_sent_total", "app": app, "app_name": name}

    async def counter(url: str) -> float | None:
        return await metric_value(session, url, **sent)

    first = await ExporterProcess(args, TOKEN, tmp_path / "exporter.log").start()
    try:
        await wait_for(lambda: _equals(counter(first.url), 0.0), what="baseline")
        await inject(session, sim, app, 5)
        await wait_for(lambda: _equals(counter(first.url), 5.0), what="5 counted")
    finally:
        await first.kill()
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    killed_at = time.time()
    await inject(session, sim, app, 7)  # during the downtime, in the current minute
    await inject(session, sim, app, 3, bucket=killed_at - late_by)  # late, into an old bucket
    await asyncio.sleep(max(0.0, downtime - (time.time() - killed_at)))
    second = await ExporterProcess(args, TOKEN, tmp_path / "exporter.log").start()
    try:
        (seen_after_restart,) = await wait_for(lambda: _present(counter(second.url)), what="up")
        assert seen_after_restart >= 5.0, "the counter went back: Prometheus would see a reset"
        await wait_for(lambda: _equals(counter(second.url), 15.0), what="downtime counted")
        polls = len(await get_json(session, f"{sim.url}/_sim/requests"))
        await wait_for(lambda: _more(session, sim.url, polls + 20), what="more polls")
        assert await counter(second.url) == 15.0, "something was counted twice"
    finally:
        await second.kill()


async def _present(pending: Any) -> tuple[float] | None:
    """The value in a tuple (truthy even when 0), or None while there is none."""
    found = await pending
    return None if found is None else (found,)


async def _equals(pending: Any, expected: float) -> bool:
    return (await pending) == expected


async def _more(session: aiohttp.ClientSession, url: str, at_least: int) -> bool:
    return len(await get_json(session, f"{url}/_sim/requests")) >= at_least


async def test_sigkill_and_restart_counts_the_downtime_once(
    quiet_sim: QuietSim, tmp_path: Path
) -> None:
    await run_and_kill(quiet_sim, tmp_path, downtime=2.0, late_by=240.0)


@pytest.mark.timeout(300)
async def test_downtime_longer_than_lookback_is_recovered_from_the_watermark(
    quiet_sim: QuietSim, tmp_path: Path
) -> None:
    # lookback 30s: after 100 s down, every bucket the downtime's events landed in starts
    # before the steady window (now - 30 s, floored to the minute), so only the catch-up
    # from the watermark (max_catchup 10m) reads them; without it the counter stays at 5.
    # The late event lands in a bucket that was inside the window when the exporter died.
    await run_and_kill(
        quiet_sim, tmp_path, downtime=100.0, late_by=20.0, lookback="30s", max_catchup="10m"
    )


async def test_sigterm_writes_a_final_checkpoint_and_exits_0(
    quiet_sim: QuietSim, tmp_path: Path
) -> None:
    sim, world, session = quiet_sim
    config = write_config(tmp_path / "config.yaml", sim.url, world)
    state = tmp_path / "state.json"
    exporter = ExporterProcess(
        [f"--config.file={config}", f"--state.file={state}"], TOKEN, tmp_path / "log"
    )
    await exporter.start()
    try:
        await wait_for(lambda: _ready(session, exporter.url), what="ready")
        exporter.signal(signal.SIGTERM)
        assert await exporter.wait(within=5.0) == 0
    finally:
        await exporter.kill()
    saved = json.loads(state.read_text())
    assert saved["version"] == 1
    assert {t["collector"] for t in saved["targets"]} == {
        "app_stats",
        "subscribers",
        "events",
        "campaign",
    }


async def _ready(session: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with session.get(f"{url}/-/ready") as r:
            return r.status == 200
    except aiohttp.ClientError:
        return False

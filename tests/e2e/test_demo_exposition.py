"""The demo config's whole exposition: clean for promtool, parseable as OpenMetrics."""

import asyncio
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator

import aiohttp
import pytest
from harness import TOKEN, get_json, start_exporter, wait_for
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from exporter.demo import demo_config
from exporter.runtime import Exporter
from exporter.simulator.server import start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings


@pytest.fixture
async def demo() -> AsyncIterator[tuple[Exporter, aiohttp.ClientSession]]:
    settings = SimulatorSettings(
        seed=42, apps=3, token=TOKEN, faults=Faults(pending_min=0.05, pending_max=0.2)
    )
    async with await start_simulator(settings) as sim, aiohttp.ClientSession() as session:
        world = await get_json(session, f"{sim.url}/_sim/world")
        exporter = await start_exporter(demo_config(sim.url, world, interval="1s"))
        try:

            async def ready() -> bool:
                async with session.get(f"http://127.0.0.1:{exporter.port}/-/ready") as r:
                    return r.status == 200

            await wait_for(ready, what="readiness")
            yield exporter, session
        finally:
            await exporter.stop()


async def test_promtool_finds_nothing_to_complain_about(
    demo: tuple[Exporter, aiohttp.ClientSession], promtool: str
) -> None:
    exporter, session = demo
    async with session.get(f"http://127.0.0.1:{exporter.port}/metrics") as r:
        body = await r.read()
    assert b"pushwoosh_tag_devices" in body
    assert b"pushwoosh_message_sent_total" in body
    check = await asyncio.create_subprocess_exec(
        promtool, "check", "metrics", stdin=PIPE, stdout=PIPE, stderr=PIPE
    )
    out, err = await check.communicate(body)
    assert (check.returncode, out, err) == (0, b"", b"")


async def test_openmetrics_exposition_parses(demo: tuple[Exporter, aiohttp.ClientSession]) -> None:
    exporter, session = demo
    headers = {"Accept": "application/openmetrics-text; version=1.0.0"}
    async with session.get(f"http://127.0.0.1:{exporter.port}/metrics", headers=headers) as r:
        text = await r.text()
        assert r.headers["Content-Type"].startswith("application/openmetrics-text")
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"pushwoosh_messages_sent", "pushwoosh_up", "pushwoosh_api_requests"} <= names

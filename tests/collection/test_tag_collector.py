"""The tag collector against the simulator over real HTTP: a tag of many values becomes its
top ``max_values`` gauges and ``other``, exactly as sorting the whole file would give."""

import time
from collections.abc import AsyncIterator

import pytest

from exporter import families
from exporter.collection.collectors import PollContext, TagCollector
from exporter.pushwoosh.client import PushwooshClient
from exporter.pushwoosh.timing import PollPolicy
from exporter.simulator.audience import GeneratedTagFile
from exporter.simulator.server import RunningSimulator, start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings
from exporter.store import Series

TOKEN = "tag-collector-token-31"
SEED = 8


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    faults = Faults(pending_min=0.0, pending_max=0.0, tag_values={"UserId": 40_000})
    settings = SimulatorSettings(seed=SEED, apps=1, token=TOKEN, faults=faults)
    async with await start_simulator(settings) as running:
        yield running


async def collect(sim: RunningSimulator, collector: TagCollector) -> dict[Series, float]:
    async with PushwooshClient(
        api_url=sim.url, token=TOKEN, poll_policy=PollPolicy(initial_wait=0.02)
    ) as client:
        context = PollContext(client, time.time(), 900.0, 3600.0, None)
        observation = await collector.collect(context)
    assert observation.target == collector.key
    return dict(observation.gauges)


def gauge(app: str, value: str) -> Series:
    return families.TAG_DEVICES.series(app=app, tag="UserId", value=value)


async def test_a_tag_of_many_values_publishes_its_top_values_and_other(
    sim: RunningSimulator,
) -> None:
    app = sim.state.world.apps[0].code
    rows = sorted(GeneratedTagFile("UserId", 40_000, SEED).rows(), key=lambda r: (-r[1], r[0]))
    for collector in (TagCollector("UserId", 5, app), TagCollector("UserId", 5)):
        assert await collect(sim, collector) == {
            **{gauge(collector.app, value): float(count) for value, count in rows[:5]},
            gauge(collector.app, "other"): float(sum(count for _, count in rows[5:])),
        }


async def test_a_tag_with_fewer_values_than_kept_has_no_other(sim: RunningSimulator) -> None:
    sim.state.settings.faults.tag_values = {"UserId": 3}
    rows = list(GeneratedTagFile("UserId", 3, SEED).rows())
    assert await collect(sim, TagCollector("UserId", 5)) == {
        gauge("", value): float(count) for value, count in rows
    }

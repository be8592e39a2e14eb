"""Fixtures of the end-to-end tests."""

from collections.abc import AsyncIterator

import aiohttp
import pytest
from harness import TOKEN, QuietSim, get_json

from exporter.simulator.server import start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings


@pytest.fixture
async def quiet_sim() -> AsyncIterator[QuietSim]:
    """A one-app simulator without background traffic: counts move only by injection."""
    settings = SimulatorSettings(
        seed=3, apps=1, token=TOKEN, traffic=False, faults=Faults(pending_min=0.05, pending_max=0.2)
    )
    async with await start_simulator(settings) as sim, aiohttp.ClientSession() as session:
        yield sim, await get_json(session, f"{sim.url}/_sim/world"), session

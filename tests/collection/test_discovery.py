"""Discovery's listings against the simulator over HTTP: the calls a round makes are the
calls the budget advice counts."""

from collections.abc import AsyncIterator

import pytest

from exporter.collection.discovery import Discovery
from exporter.config import Config
from exporter.pushwoosh.client import PushwooshClient
from exporter.pushwoosh.timing import PollPolicy
from exporter.simulator.server import RunningSimulator, start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings

TOKEN = "discovery-calls-token"
LISTINGS = ("getApplications", "getCampaigns")


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    faults = Faults(pending_min=0.0, pending_max=0.0, apps_page_size=2, campaigns_page_cap=3)
    settings = SimulatorSettings(seed=5, apps=5, campaigns=7, token=TOKEN, faults=faults)
    async with await start_simulator(settings) as running:
        yield running


def settings(sim: RunningSimulator, *, campaigns: bool) -> Config:
    discovery: dict[str, object] = {"applications": {"collect": {"app_stats": True}}}
    if campaigns:
        discovery["campaigns"] = {}
    return Config.model_validate({"pushwoosh": {"api_url": sim.url}, "discovery": discovery})


@pytest.mark.parametrize("campaigns", [False, True])
async def test_a_round_counts_the_listing_calls_the_api_received(
    sim: RunningSimulator, campaigns: bool
) -> None:
    config = settings(sim, campaigns=campaigns)
    assert config.discovery is not None
    discovery = Discovery(config.discovery)
    async with PushwooshClient(
        api_url=sim.url, token=TOKEN, poll_policy=PollPolicy(initial_wait=0.02)
    ) as client:
        for round_number in range(2):
            sim.state.requests.clear()
            await discovery.refresh(client, 0.0, [], set())
            received = sum(call["method"] in LISTINGS for call in sim.state.requests)
            assert discovery.round_calls == received, round_number
    # Five apps two a page: three pages; with campaigns, each app's pages of at most three
    # and the empty page that ends its list.
    assert received >= 3 + (5 * 2 if campaigns else 0)
    assert len(discovery.current.applications) == 5

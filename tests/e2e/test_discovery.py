"""End to end: targets discovered from the token, against the simulator's listings.

Apps come over several pages and campaigns a few at a time by cursor; the filters, the
listed-wins rule, apps added and removed while the exporter runs, exact counts of a
discovered app, and a plan that forbids listing.
"""

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from harness import TOKEN, Samples, get_json, labels, scrape, start_exporter, wait_for

from exporter.config import Config
from exporter.runtime import Exporter
from exporter.simulator.server import RunningSimulator, start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    running = await start_simulator(
        SimulatorSettings(
            seed=31,
            apps=5,
            campaigns=8,
            token=TOKEN,
            traffic=False,
            faults=Faults(
                pending_min=0.05, pending_max=0.2, apps_page_size=2, campaigns_page_cap=1
            ),
        )
    )
    yield running
    await running.close()


def discovery_config(api_url: str, listed: dict[str, Any]) -> Config:
    return Config.model_validate(
        {
            "pushwoosh": {"api_url": api_url, "results_timeout": "20s", "request_timeout": "5s"},
            "collection": {"interval": "1s", "lookback": "15m"},
            "applications": [{"code": listed["code"], "name": "listed-name", "subscribers": "off"}],
            "discovery": {
                "interval": "1s",
                "applications": {
                    "exclude": ["^bank$"],
                    "collect": {"app_stats": True, "subscribers": "off"},
                },
                "campaigns": {"include": ["^promo"], "max": 50},
            },
        }
    )


def names_of(samples: Samples, metric: str, label: str) -> dict[str, str]:
    """``app`` (or ``campaign``) -> its name label, for every series of ``metric``."""
    return {
        dict(lbls)[label]: dict(lbls)[f"{label}_name"]
        for (name, lbls), _ in samples.items()
        if name == metric
    }


async def test_discovered_targets_are_collected_filtered_and_follow_the_account(
    session: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    world = await get_json(session, f"{sim.url}/_sim/world")
    apps = {app["code"]: app["name"] for app in world["apps"]}
    listed = world["apps"][0]
    kept_apps = {code: name for code, name in apps.items() if name != "bank"}
    kept_apps[listed["code"]] = "listed-name"
    kept_campaigns = {
        c["code"]: c["name"]
        for c in world["campaign_details"]
        if re.search("^promo", c["name"]) and apps[c["app"]] != "bank"
    }
    assert len(kept_apps) == 4
    assert 0 < len(kept_campaigns) < len(world["campaign_details"])
    exporter = await start_exporter(discovery_config(sim.url, listed))
    try:

        async def found() -> tuple[dict[str, str], dict[str, str]]:
            samples = await scrape(session, exporter)
            return (
                names_of(samples, "pushwoosh_app_opens_total", "app"),
                names_of(samples, "pushwoosh_campaign_messages_sent_total", "campaign"),
            )

        async def everything_found() -> bool:
            apps_seen, _ = await found()
            return apps_seen == kept_apps

        await wait_for(everything_found, within=40, what=f"apps {kept_apps}")
        samples = await scrape(session, exporter)
        assert samples["pushwoosh_discovery_up", labels(kind="applications")] == 1
        assert samples["pushwoosh_discovery_up", labels(kind="campaigns")] == 1
        assert samples["pushwoosh_discovery_targets", labels(kind="applications")] == 3
        assert samples["pushwoosh_discovery_targets", labels(kind="campaigns")] == len(
            kept_campaigns
        )
        polled = {
            dict(lbls)["target"]
            for (name, lbls), _ in samples.items()
            if name == "pushwoosh_up" and dict(lbls)["collector"] == "campaign"
        }
        assert polled == set(kept_campaigns)

        # Counts of a discovered app are exact from its baseline on.
        discovered = next(code for code in kept_apps if code != listed["code"])
        async with session.post(
            f"{sim.url}/_sim/inject",
            json={
                "kind": "app",
                "app": discovered,
                "scope": "messages",
                "action": "send",
                "count": 7,
            },
        ) as r:
            assert r.status == 200, await r.text()
        sent = ("pushwoosh_messages_sent_total", labels(app=discovered, app_name=apps[discovered]))
        await wait_for(
            lambda: _sample_is(session, exporter, sent, 7.0), within=30, what="7 sends counted"
        )

        # An app added to the account appears; a removed one goes with its series.
        async with session.post(f"{sim.url}/_sim/apps", json={"add": {"name": "fresh-app"}}) as r:
            added = (await r.json())["code"]
        async with session.post(f"{sim.url}/_sim/apps", json={"remove": discovered}) as r:
            assert r.status == 200

        async def followed() -> bool:
            apps_seen, _ = await found()
            return apps_seen.get(added) == "fresh-app" and discovered not in apps_seen

        await wait_for(followed, within=30, what="the added app in, the removed one out")
        samples = await scrape(session, exporter)
        assert not [k for k in samples if dict(k[1]).get("app") == discovered]

        # A plan without the listing methods: the last lists stay, discovery_up says so.
        async with session.post(f"{sim.url}/_sim/faults", json={"forbid_listing": 403}) as r:
            assert r.status == 200
        before = await found()

        async def listing_down() -> bool:
            samples = await scrape(session, exporter)
            return samples.get(("pushwoosh_discovery_up", labels(kind="applications"))) == 0.0

        await wait_for(listing_down, within=30, what="pushwoosh_discovery_up 0")
        samples = await scrape(session, exporter)
        assert samples["pushwoosh_discovery_up", labels(kind="campaigns")] == 0
        assert await found() == before
        ups = {
            dict(lbls)["target"]: v
            for (name, lbls), v in samples.items()
            if name == "pushwoosh_up" and dict(lbls)["collector"] == "app_stats"
        }
        assert ups[listed["code"]] == 1
        landing = await (await session.get(f"http://127.0.0.1:{exporter.port}/")).text()
        assert "Token restrictions forbid this operation" in landing
    finally:
        await exporter.stop()


async def test_a_plan_without_listing_runs_the_listed_targets_alone(
    session: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    async with session.post(f"{sim.url}/_sim/faults", json={"forbid_listing": 210}) as r:
        assert r.status == 200
    world = await get_json(session, f"{sim.url}/_sim/world")
    listed = world["apps"][0]
    exporter = await start_exporter(discovery_config(sim.url, listed))
    try:

        async def listed_alone() -> bool:
            samples = await scrape(session, exporter)
            ups = {
                dict(lbls)["target"]: v
                for (name, lbls), v in samples.items()
                if name == "pushwoosh_up"
            }
            down = samples.get(("pushwoosh_discovery_up", labels(kind="applications")))
            return ups == {listed["code"]: 1.0} and down == 0.0

        await wait_for(listed_alone, within=30, what="the listed app alone, discovery down")
    finally:
        await exporter.stop()


async def _sample_is(
    session: aiohttp.ClientSession, exporter: Exporter, key: Any, value: float
) -> bool:
    return (await scrape(session, exporter)).get(key) == value


async def test_one_app_refusing_its_campaign_listing_keeps_the_others(
    session: aiohttp.ClientSession, sim: RunningSimulator
) -> None:
    world = await get_json(session, f"{sim.url}/_sim/world")
    refused, listed = world["apps"][0], world["apps"][1]
    async with session.post(
        f"{sim.url}/_sim/faults", json={"forbidden_apps": [refused["code"]]}
    ) as r:
        assert r.status == 200
    config = Config.model_validate(
        {
            "pushwoosh": {"api_url": sim.url, "results_timeout": "20s"},
            "collection": {"interval": "1s"},
            "applications": [
                {"code": refused["code"], "subscribers": "off"},
                {"code": listed["code"], "subscribers": "off"},
            ],
            "discovery": {"interval": "1s", "campaigns": {}},
        }
    )
    theirs = {c["code"] for c in world["campaign_details"] if c["app"] == listed["code"]}
    assert theirs
    exporter = await start_exporter(config)
    try:

        async def found() -> bool:
            samples = await scrape(session, exporter)
            polled = {
                dict(lbls)["target"]
                for (name, lbls), _ in samples.items()
                if name == "pushwoosh_up" and dict(lbls)["collector"] == "campaign"
            }
            down = samples.get(("pushwoosh_discovery_up", labels(kind="campaigns")))
            return polled == theirs and down == 0.0

        await wait_for(found, within=30, what="the other app's campaigns, listing down")
    finally:
        await exporter.stop()


async def test_saved_counters_of_discovered_targets_survive_a_failed_first_listing(
    session: aiohttp.ClientSession, sim: RunningSimulator, tmp_path: Path
) -> None:
    world = await get_json(session, f"{sim.url}/_sim/world")
    listed = world["apps"][0]
    discovered = world["apps"][1]
    config = discovery_config(sim.url, listed)
    state = tmp_path / "state.json"
    sent = (
        "pushwoosh_messages_sent_total",
        labels(app=discovered["code"], app_name=discovered["name"]),
    )

    async def inject(count: int) -> None:
        body = {"kind": "app", "app": discovered["code"], "scope": "messages", "action": "send"}
        async with session.post(f"{sim.url}/_sim/inject", json={**body, "count": count}) as r:
            assert r.status == 200, await r.text()

    exporter = await start_exporter(config, state_file=state)
    try:
        await wait_for(
            lambda: _sample_is(session, exporter, sent, 0.0), within=30, what="the baseline"
        )
        await inject(4)
        await wait_for(lambda: _sample_is(session, exporter, sent, 4.0), within=30, what="4")
    finally:
        await exporter.stop()

    async with session.post(f"{sim.url}/_sim/faults", json={"forbid_listing": 403}) as r:
        assert r.status == 200
    await inject(3)  # while the exporter is down
    restarted = await start_exporter(config, state_file=state)
    try:

        async def listing_failed() -> bool:
            samples = await scrape(session, restarted)
            return samples.get(("pushwoosh_discovery_up", labels(kind="applications"))) == 0.0

        await wait_for(listing_failed, within=30, what="the first listing failed")
        await asyncio.sleep(2.5)  # two more failed rounds
        async with session.post(f"{sim.url}/_sim/faults", json={"forbid_listing": None}) as r:
            assert r.status == 200
        # The saved counter continues, and the downtime's events are counted once.
        await wait_for(lambda: _sample_is(session, restarted, sent, 7.0), within=30, what="4 + 3")
    finally:
        await restarted.stop()

"""End to end: simulator and exporter on real loopback ports; every counter equals the truth.

Two ways to know the truth:
- injected events (the simulator's own traffic off): the test knows exactly what it added,
  including late events into buckets minutes old;
- the simulator's generated traffic: its truth endpoint says what was recorded between the
  job that set the baseline and the last job whose result the exporter applied.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from harness import (
    TOKEN,
    Samples,
    delivered_entries,
    delivered_jobs,
    e2e_config,
    get_json,
    labels,
    past_window,
    samples_of,
    scrape,
    start_exporter,
    wait_for,
)

from exporter.families import APP_STATS_FAMILIES, CAMPAIGN_FAMILIES, MESSAGE_FAMILIES
from exporter.platforms import PLATFORM_NAMES
from exporter.runtime import Exporter
from exporter.simulator.server import RunningSimulator, start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings

FAST = Faults(pending_min=0.05, pending_max=0.2)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def running(traffic: bool) -> tuple[RunningSimulator, dict[str, Any]]:
    sim = await start_simulator(
        SimulatorSettings(seed=11, apps=2, token=TOKEN, traffic=traffic, faults=FAST)
    )
    async with aiohttp.ClientSession() as s:
        world = await get_json(s, f"{sim.url}/_sim/world")
    return sim, world


async def all_up(session: aiohttp.ClientSession, exporter: Exporter) -> bool:
    samples = await scrape(session, exporter)
    ups = [v for (name, _), v in samples.items() if name == "pushwoosh_up"]
    return bool(ups) and all(v == 1.0 for v in ups)


def minute_string(seconds: float) -> str:
    return datetime.fromtimestamp(seconds // 60 * 60, UTC).strftime("%Y-%m-%d %H:%M:%S")


async def test_injected_events_are_counted_exactly_once_including_late_ones(
    session: aiohttp.ClientSession,
) -> None:
    sim, world = await running(traffic=False)
    app = world["apps"][0]
    code, name, event = app["code"], app["name"], app["events"][0]
    campaign = world["campaigns"][0]
    exporter = await start_exporter(e2e_config(sim.url, world))
    try:
        await wait_for(lambda: all_up(session, exporter), what="every target up")
        now = time.time()

        async def inject(**body: Any) -> None:
            async with session.post(f"{sim.url}/_sim/inject", json=body) as r:
                assert r.status == 200, await r.text()

        await inject(kind="app", app=code, scope="messages", action="send", count=5)
        await inject(
            kind="app",
            app=code,
            scope="messages",
            action="send",
            count=4,
            bucket=minute_string(now - 300),
        )
        await inject(kind="app", app=code, scope="applications", action="open", count=3)
        await inject(kind="app", app=code, scope="devices", action="register", count=2)
        await inject(kind="event", app=code, event=event, count=7)
        await inject(kind="campaign", campaign=campaign, action="send", platform=1, count=6)
        await inject(kind="campaign", campaign=campaign, action="send", platform=3, count=2)

        app_labels = {"app": code, "app_name": name}
        expected = {
            ("pushwoosh_messages_sent_total", labels(**app_labels)): 9.0,
            ("pushwoosh_app_opens_total", labels(**app_labels)): 3.0,
            ("pushwoosh_device_registrations_total", labels(**app_labels)): 2.0,
            ("pushwoosh_device_unregistrations_total", labels(**app_labels)): 0.0,
            ("pushwoosh_event_triggers_total", labels(**app_labels, event=event)): 7.0,
            (
                "pushwoosh_campaign_messages_sent_total",
                labels(campaign=campaign, campaign_name="campaign-one", platform="ios"),
            ): 6.0,
            (
                "pushwoosh_campaign_messages_sent_total",
                labels(campaign=campaign, campaign_name="campaign-one", platform="android"),
            ): 2.0,
        }

        async def matches() -> bool:
            return await samples_of(session, exporter, expected) == expected

        await wait_for(matches, what=f"counters {expected}")
        polls_before = len(await get_json(session, f"{sim.url}/_sim/requests"))
        await wait_for(
            lambda: _more_requests(session, sim.url, polls_before + 30), what="more polls"
        )
        assert await samples_of(session, exporter, expected) == expected, "counted twice"

        # A late event into a bucket already seen adds exactly one.
        await inject(
            kind="app",
            app=code,
            scope="messages",
            action="send",
            count=1,
            bucket=minute_string(now - 300),
        )
        expected[("pushwoosh_messages_sent_total", labels(**app_labels))] = 10.0
        await wait_for(matches, what="the late event counted")
    finally:
        await exporter.stop()
        await sim.close()


async def _more_requests(session: aiohttp.ClientSession, url: str, at_least: int) -> bool:
    return len(await get_json(session, f"{url}/_sim/requests")) >= at_least


async def test_generated_traffic_matches_the_ground_truth(
    session: aiohttp.ClientSession,
) -> None:
    sim, world = await running(traffic=True)
    app = world["apps"][0]
    code, name, event = app["code"], app["name"], app["events"][0]
    campaign = world["campaigns"][0]
    exporter = await start_exporter(e2e_config(sim.url, world))
    try:
        await wait_for(lambda: all_up(session, exporter), what="every target up")
        await wait_for(lambda: _more_requests(session, sim.url, 200), within=60, what="a few polls")
        # Freeze what the exporter can learn: no job result is delivered from here on, and
        # what was delivered before is applied well within the pause.
        async with session.post(f"{sim.url}/_sim/faults", json={"stuck_results": True}) as r:
            assert r.status == 200
        await asyncio.sleep(1.5)
        samples: Samples = await scrape(session, exporter)
        log = await get_json(session, f"{sim.url}/_sim/requests")

        async def truth(**query: Any) -> float:
            params = {k: str(v) for k, v in query.items()}
            async with session.get(f"{sim.url}/_sim/truth", params=params) as r:
                assert r.status == 200, await r.text()
                return float((await r.json())["count"])

        async def counted(
            first: dict[str, Any], last: float, end_key: str, size: int, **series: Any
        ) -> float:
            """What the exporter should have added from the baseline job to the last one."""
            after_baseline = await truth(**series, after=first["time"], until=last)
            beyond_window = await truth(
                **series,
                after=0,
                until=first["time"],
                bucket_from=past_window(first, end_key, size),
            )
            return after_baseline + beyond_window

        compared = 0
        entries = delivered_entries(log, "getAppStats", application=code)
        assert len(entries) >= 3
        for (scope, action), family in APP_STATS_FAMILIES.items():
            want = await counted(
                entries[0],
                entries[-1]["time"],
                "dateto",
                60,
                kind="app",
                app=code,
                scope=scope,
                action=action,
            )
            assert samples[family.name, labels(app=code, app_name=name)] == want, family.name
            compared += want > 0

        entries = delivered_entries(log, "getEventStatistics", application=code, event=event)
        want = await counted(
            entries[0], entries[-1]["time"], "date_to", 3600, kind="event", app=code, event=event
        )
        key = ("pushwoosh_event_triggers_total", labels(app=code, app_name=name, event=event))
        assert samples[key] == want, "events"

        entries = delivered_entries(log, "getCampaignStats", campaign=campaign)
        for action, family in CAMPAIGN_FAMILIES.items():
            exported = {
                dict(lbls)["platform"]: value
                for (metric, lbls), value in samples.items()
                if metric == family.name and dict(lbls)["campaign"] == campaign
            }
            for platform_code, platform in PLATFORM_NAMES.items():
                want = await counted(
                    entries[0],
                    entries[-1]["time"],
                    "dateto",
                    60,
                    kind="campaign",
                    campaign=campaign,
                    action=action,
                    platform=platform_code,
                )
                assert exported.get(platform, 0.0) == want, (family.name, platform)
                compared += want > 0

        for message in world["messages"][:1]:
            jobs = delivered_jobs(log, "getMsgStats", message=message)
            for action, family in MESSAGE_FAMILIES.items():
                want = await truth(kind="message", message=message, action=action, until=jobs[-1])
                assert samples[family.name, labels(message=message, platform="all")] == want, (
                    family.name,
                    jobs,
                )
        assert compared >= 3, "the traffic was too thin to show anything"
    finally:
        await exporter.stop()
        await sim.close()

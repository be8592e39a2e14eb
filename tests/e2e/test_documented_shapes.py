"""End to end against an API that answers in every documented shape at once.

The simulator's answer-shape knobs are all on together (hourly campaign buckets, scopes left
out, a bucket split over several rows, quiet rows, prefixed request ids, counts as strings,
the legacy envelope, a time zone that is not UTC, 210s without ``response``...), in two
sets where two knobs cannot hold at once. Every target must stay up, and every counter must
rise by exactly the events injected, filtered events included.
"""

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from harness import (
    TOKEN,
    e2e_document,
    get_json,
    labels,
    samples_of,
    scrape,
    start_exporter,
    wait_for,
)

from exporter.config import Config
from exporter.simulator.server import start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings

SHAPES = {
    "docs-examples": {
        "campaign_formatter": "hourly",
        "omit_empty_scopes": True,
        "split_rows": True,
        "request_id_prefix": "DC1_",
        "string_counts": True,
        "legacy_envelope": True,
        "timezone": "Asia/Kolkata",  # +05:30: its hours start at half past the UTC hour
    },
    "coarse-and-quiet": {
        "app_formatter": "hourly",
        "campaign_formatter": "daily",
        "zero_rows": True,
        "null_response": True,
        "conversion_delivery": True,
        "timezone": "America/New_York",
    },
}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def shaped_config(api_url: str, world: dict[str, Any], timezone: str) -> Config:
    """The usual e2e targets, in ``timezone``, the first event filtered by a plan attribute
    and a second event without a filter."""
    document = e2e_document(api_url, world)
    document["pushwoosh"]["timezone"] = timezone
    filtered, plain = world["apps"][0]["events"][:2]
    document["applications"][0]["events"] = [
        {"name": filtered, "attributes": [{"name": "plan", "values": ["pro", "business"]}]},
        {"name": plain},
    ]
    return Config.model_validate(document)


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
async def test_every_documented_shape_at_once_counts_exactly(
    session: aiohttp.ClientSession, shape: str
) -> None:
    knobs: dict[str, Any] = SHAPES[shape]
    sim = await start_simulator(
        SimulatorSettings(
            seed=23,
            apps=2,
            token=TOKEN,
            traffic=False,
            faults=Faults(pending_min=0.05, pending_max=0.2, **knobs),
        )
    )
    world = await get_json(session, f"{sim.url}/_sim/world")
    app = world["apps"][0]
    code, name = app["code"], app["name"]
    filtered, plain = app["events"][:2]
    campaign = world["campaigns"][0]
    exporter = await start_exporter(shaped_config(sim.url, world, knobs["timezone"]))
    try:

        async def ups() -> dict[str, float]:
            samples = await scrape(session, exporter)
            return {
                dict(lbls)["target"]: value
                for (metric, lbls), value in samples.items()
                if metric == "pushwoosh_up"
            }

        await wait_for(
            lambda: _all_one(ups()), what="every target up", within=40
        )  # the first polls set the baseline
        now = time.time()

        async def inject(**body: Any) -> None:
            async with session.post(f"{sim.url}/_sim/inject", json=body) as r:
                assert r.status == 200, await r.text()

        await inject(kind="app", app=code, scope="messages", action="send", count=5)
        await inject(
            kind="app", app=code, scope="messages", action="send", count=4, bucket=now - 300
        )
        await inject(kind="app", app=code, scope="applications", action="open", count=3)
        await inject(kind="app", app=code, scope="devices", action="register", count=2)
        for plan, count in (("pro", 3), ("business", 2), ("free", 4)):
            await inject(
                kind="event", app=code, event=filtered, count=count, attributes={"plan": plan}
            )
        await inject(kind="event", app=code, event=plain, count=7, attributes={"plan": "free"})
        await inject(kind="campaign", campaign=campaign, action="send", platform=1, count=6)
        await inject(kind="campaign", campaign=campaign, action="send", platform=3, count=2)
        await inject(kind="campaign", campaign=campaign, action="open", platform=3, count=1)

        app_labels = {"app": code, "app_name": name}
        campaign_labels = {"campaign": campaign, "campaign_name": "campaign-one"}
        expected = {
            ("pushwoosh_messages_sent_total", labels(**app_labels)): 9.0,
            ("pushwoosh_app_opens_total", labels(**app_labels)): 3.0,
            ("pushwoosh_device_registrations_total", labels(**app_labels)): 2.0,
            ("pushwoosh_device_unregistrations_total", labels(**app_labels)): 0.0,
            ("pushwoosh_event_triggers_total", labels(**app_labels, event=filtered)): 5.0,
            ("pushwoosh_event_triggers_total", labels(**app_labels, event=plain)): 7.0,
            (
                "pushwoosh_campaign_messages_sent_total",
                labels(**campaign_labels, platform="ios"),
            ): 6.0,
            (
                "pushwoosh_campaign_messages_sent_total",
                labels(**campaign_labels, platform="android"),
            ): 2.0,
            (
                "pushwoosh_campaign_messages_opened_total",
                labels(**campaign_labels, platform="android"),
            ): 1.0,
        }

        async def matches() -> bool:
            return await samples_of(session, exporter, expected) == expected

        await wait_for(matches, within=40, what=f"counters {expected}")
        seen = len(await get_json(session, f"{sim.url}/_sim/requests"))
        await wait_for(
            lambda: _at_least(session, f"{sim.url}/_sim/requests", seen + 40), what="more polls"
        )
        assert await samples_of(session, exporter, expected) == expected, "counted twice"
        assert set((await ups()).values()) == {1.0}

        # A late event into a bucket already counted adds exactly one.
        await inject(
            kind="app", app=code, scope="messages", action="send", count=1, bucket=now - 300
        )
        expected[("pushwoosh_messages_sent_total", labels(**app_labels))] = 10.0
        await wait_for(matches, within=40, what="the late event counted")
    finally:
        await exporter.stop()
        await sim.close()


async def _all_one(values: Any) -> bool:
    found = await values
    return bool(found) and set(found.values()) == {1.0}


async def _at_least(session: aiohttp.ClientSession, url: str, count: int) -> bool:
    return len(await get_json(session, url)) >= count

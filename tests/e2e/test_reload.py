"""Reload (POST /-/reload and SIGHUP): kept targets continue, added ones start at baseline,
removed ones disappear, and a bad config is refused while the old one keeps running."""

import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from harness import TOKEN, get_json, labels, scrape, wait_for
from processes import ExporterProcess
from prometheus_client.parser import text_string_to_metric_families

from exporter.config import Config, load_config, load_token
from exporter.runtime import Exporter, ListenAddress
from exporter.simulator.server import RunningSimulator, start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings

Sim = tuple[RunningSimulator, dict[str, Any], aiohttp.ClientSession]


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    settings = SimulatorSettings(
        seed=4, apps=2, token=TOKEN, traffic=False, faults=Faults(pending_min=0.05, pending_max=0.1)
    )
    async with await start_simulator(settings) as running, aiohttp.ClientSession() as session:
        yield running, await get_json(session, f"{running.url}/_sim/world"), session


def document(sim: Sim, apps: list[int], campaign: bool) -> dict[str, Any]:
    running, world, _ = sim
    doc: dict[str, Any] = {
        "pushwoosh": {"api_url": running.url, "results_timeout": "10s"},
        "collection": {"interval": "1s"},
        "applications": [
            {
                "code": world["apps"][i]["code"],
                "name": world["apps"][i]["name"],
                "subscribers": "off",
            }
            for i in apps
        ],
    }
    if campaign:
        doc["campaigns"] = [{"code": world["campaigns"][0], "name": "c1"}]
    return doc


async def inject(sim: Sim, **body: Any) -> None:
    running, _, session = sim
    async with session.post(f"{running.url}/_sim/inject", json=body) as r:
        assert r.status == 200


def sent_key(world: dict[str, Any], i: int) -> tuple[str, tuple[tuple[str, str], ...]]:
    app = world["apps"][i]
    return ("pushwoosh_messages_sent_total", labels(app=app["code"], app_name=app["name"]))


async def has(
    session: aiohttp.ClientSession, exporter: Exporter, key: Any, value: float | None
) -> bool:
    return (await scrape(session, exporter)).get(key) == value


async def test_reload_applies_a_good_config_and_refuses_a_bad_one(sim: Sim, tmp_path: Path) -> None:
    _, world, session = sim
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document(sim, apps=[0, 1], campaign=False)))

    def source() -> tuple[Config, str]:
        config = load_config(path)
        return config, load_token(config, {"PUSHWOOSH_API_TOKEN": TOKEN})

    exporter = Exporter(source, listen=ListenAddress("127.0.0.1", 0))
    await exporter.start()
    url = f"http://127.0.0.1:{exporter.port}"
    a, b = world["apps"][0]["code"], world["apps"][1]["code"]
    send = {"kind": "app", "scope": "messages", "action": "send"}
    try:
        await wait_for(lambda: has(session, exporter, sent_key(world, 0), 0.0), what="baseline")
        await inject(sim, **send, app=a, count=5)
        await wait_for(lambda: has(session, exporter, sent_key(world, 0), 5.0), what="5 counted")
        # Campaign events recorded before the campaign is added belong to its baseline.
        await inject(
            sim, kind="campaign", campaign=world["campaigns"][0], action="send", platform=1, count=8
        )

        path.write_text(yaml.safe_dump(document(sim, apps=[0], campaign=True)))
        async with session.post(f"{url}/-/reload") as r:
            assert r.status == 200
        samples = await scrape(session, exporter)
        assert samples[sent_key(world, 0)] == 5.0, "a kept target's counter changed on reload"
        assert sent_key(world, 1) not in samples, "a removed target's series is still exported"
        assert samples["pushwoosh_config_last_reload_successful", ()] == 1.0
        campaign = (
            "pushwoosh_campaign_messages_sent_total",
            labels(campaign=world["campaigns"][0], campaign_name="c1", platform="ios"),
        )
        await wait_for(
            lambda: _up(session, exporter, "campaign", world["campaigns"][0]),
            what="campaign polled",
        )
        await inject(
            sim, kind="campaign", campaign=world["campaigns"][0], action="send", platform=1, count=2
        )
        await inject(sim, **send, app=a, count=1)
        await wait_for(
            lambda: has(session, exporter, campaign, 2.0), what="only new campaign sends"
        )
        await wait_for(
            lambda: has(session, exporter, sent_key(world, 0), 6.0), what="kept app counting"
        )

        path.write_text("applications:\n  - code: [not, a, code]\n")
        async with session.post(f"{url}/-/reload") as r:
            assert r.status == 500
            assert "applications[0].code" in await r.text()
        async with session.get(f"{url}/-/reload") as r:
            assert r.status == 405
        assert (await scrape(session, exporter))[
            "pushwoosh_config_last_reload_successful", ()
        ] == 0.0
        await inject(sim, **send, app=a, count=4)
        await wait_for(
            lambda: has(session, exporter, sent_key(world, 0), 10.0),
            what="old config still polling",
        )
        assert b not in {key.target for key in exporter.store.snapshot().targets}
    finally:
        await exporter.stop()


async def _up(
    session: aiohttp.ClientSession, exporter: Exporter, collector: str, target: str
) -> bool:
    samples = await scrape(session, exporter)
    return samples.get(("pushwoosh_up", labels(collector=collector, target=target))) == 1.0


async def test_sighup_reloads_a_running_process(sim: Sim, tmp_path: Path) -> None:
    _, world, session = sim
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(document(sim, apps=[0], campaign=False)))
    exporter = await ExporterProcess([f"--config.file={path}"], TOKEN, tmp_path / "log").start()
    target = ("pushwoosh_up", labels(collector="campaign", target=world["campaigns"][0]))

    async def metrics() -> dict[Any, float]:
        try:
            async with session.get(f"{exporter.url}/metrics") as r:
                text = await r.text()
        except aiohttp.ClientError:
            return {}
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }

    try:
        await wait_for(
            lambda: _has_key(
                metrics(),
                ("pushwoosh_up", labels(collector="app_stats", target=world["apps"][0]["code"])),
            ),
            what="serving",
        )
        path.write_text(yaml.safe_dump(document(sim, apps=[0], campaign=True)))
        exporter.signal(signal.SIGHUP)
        await wait_for(lambda: _has_key(metrics(), target), what="campaign after SIGHUP")
    finally:
        await exporter.kill()


async def _has_key(pending: Any, key: Any) -> bool:
    return key in await pending

"""API faults change no count: each fault class takes the target down with the right reason,
no counter moves while it lasts, and the first good poll afterwards catches up exactly."""

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import structlog
from harness import TOKEN, get_json, labels, scrape, wait_for
from processes import free_port

from exporter.config import Config
from exporter.runtime import Exporter, ListenAddress
from exporter.simulator.server import RunningSimulator, start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings

Sim = tuple[RunningSimulator, dict[str, Any], aiohttp.ClientSession]


@pytest.fixture
async def sim() -> AsyncIterator[Sim]:
    settings = SimulatorSettings(
        seed=9, apps=1, token=TOKEN, traffic=False, faults=Faults(pending_min=0.05, pending_max=0.1)
    )
    async with await start_simulator(settings) as running, aiohttp.ClientSession() as session:
        yield running, await get_json(session, f"{running.url}/_sim/world"), session


def config(api_url: str, app: dict[str, Any]) -> Config:
    return Config.model_validate(
        {
            "pushwoosh": {"api_url": api_url, "request_timeout": "1s", "results_timeout": "2s"},
            "collection": {"interval": "1s"},
            "applications": [{"code": app["code"], "name": app["name"], "subscribers": "off"}],
        }
    )


async def exporter_for(api_url: str, app: dict[str, Any], token: str = TOKEN) -> Exporter:
    exporter = Exporter(lambda: (config(api_url, app), token), listen=ListenAddress("127.0.0.1", 0))
    await exporter.start()
    return exporter


class Watch:
    """Reads the exporter's view of the app's sends, its health and its failures."""

    def __init__(self, session: aiohttp.ClientSession, exporter: Exporter, app: dict[str, Any]):
        self.session, self.exporter, self.app = session, exporter, app

    async def sent(self) -> float | None:
        key = (
            "pushwoosh_messages_sent_total",
            labels(app=self.app["code"], app_name=self.app["name"]),
        )
        return (await scrape(self.session, self.exporter)).get(key)

    async def up(self) -> float | None:
        key = ("pushwoosh_up", labels(collector="app_stats", target=self.app["code"]))
        return (await scrape(self.session, self.exporter)).get(key)

    async def failures(self, reason: str) -> float:
        samples = await scrape(self.session, self.exporter)
        return sum(
            v
            for (name, lbls), v in samples.items()
            if name == "pushwoosh_api_request_failures_total" and dict(lbls)["reason"] == reason
        )


async def inject(sim: Sim, count: int) -> None:
    running, world, session = sim
    body = {
        "kind": "app",
        "app": world["apps"][0]["code"],
        "scope": "messages",
        "action": "send",
        "count": count,
    }
    async with session.post(f"{running.url}/_sim/inject", json=body) as r:
        assert r.status == 200


async def set_faults(sim: Sim, **knobs: Any) -> None:
    running, _, session = sim
    async with session.post(f"{running.url}/_sim/faults", json=knobs) as r:
        assert r.status == 200


async def is_value(pending: Any, expected: float) -> bool:
    return (await pending) == expected


FAULTS = {
    "http_500": ({"error_rate": 1.0}, "http_5xx"),
    "json_status_500": ({"json500_rate": 1.0}, "http_5xx"),
    "429_with_retry_after": ({"rate_limit_rate": 1.0, "retry_after": 0.2}, "rate_limited"),
    "429_without_retry_after": ({"rate_limit_rate": 1.0, "retry_after": None}, "rate_limited"),
    "body_not_json": ({"malformed_rate": 1.0}, "malformed"),
    "json_of_the_wrong_shape": ({"wrong_shape_rate": 1.0}, "malformed"),
    "results_stuck_at_420": ({"stuck_results": True}, "timeout"),
    "api_hangs": ({"hang": True}, "timeout"),
}
CLEAR = {
    "error_rate": 0.0,
    "json500_rate": 0.0,
    "rate_limit_rate": 0.0,
    "malformed_rate": 0.0,
    "wrong_shape_rate": 0.0,
    "stuck_results": False,
    "hang": False,
    "forbidden_apps": [],
}


@pytest.mark.parametrize(("knobs", "reason"), FAULTS.values(), ids=FAULTS.keys())
async def test_fault_takes_the_target_down_and_recovery_catches_up(
    sim: Sim, knobs: dict[str, Any], reason: str
) -> None:
    running, world, session = sim
    app = world["apps"][0]
    exporter = await exporter_for(running.url, app)
    watch = Watch(session, exporter, app)
    try:
        await wait_for(lambda: is_value(watch.sent(), 0.0), what="baseline")
        await inject(sim, 5)
        await wait_for(lambda: is_value(watch.sent(), 5.0), what="5 counted")
        await set_faults(sim, **knobs)
        await inject(sim, 4)  # recorded while the API misbehaves
        await wait_for(lambda: is_value(watch.up(), 0.0), what="target down")
        assert await watch.failures(reason) > 0
        scrapes = []
        for _ in range(20):  # /metrics answers from memory while the API fails or hangs
            started = time.perf_counter()
            assert await watch.sent() == 5.0, "a counter moved during the fault"
            scrapes.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
        await set_faults(sim, **CLEAR)
        await wait_for(lambda: is_value(watch.sent(), 9.0), what="catch-up after recovery")
        await wait_for(lambda: is_value(watch.up(), 1.0), what="target up again")
    finally:
        await exporter.stop()


async def test_forbidden_app_is_an_auth_failure(sim: Sim) -> None:
    running, world, session = sim
    app = world["apps"][0]
    await set_faults(sim, forbidden_apps=[app["code"]])
    exporter = await exporter_for(running.url, app)
    watch = Watch(session, exporter, app)
    try:
        await wait_for(lambda: is_value(watch.up(), 0.0), what="target down")
        assert await watch.failures("auth") > 0
        assert await watch.sent() is None, "no series before the first successful poll"
    finally:
        await exporter.stop()


async def test_bad_token_logs_once_per_target_and_keeps_serving(sim: Sim) -> None:
    running, world, session = sim
    app = world["apps"][0]
    with structlog.testing.capture_logs() as logs:
        exporter = await exporter_for(running.url, app, token="not-the-token-1234")
        watch = Watch(session, exporter, app)
        try:
            await wait_for(lambda: is_value(watch.up(), 0.0), what="target down")
            polls = len(await get_json(session, f"{running.url}/_sim/requests"))
            await wait_for(
                lambda: _requests_at_least(session, running.url, polls + 3), what="3 more polls"
            )
            assert await watch.failures("auth") >= 4
            async with session.get(f"http://127.0.0.1:{exporter.port}/-/healthy") as r:
                assert r.status == 200
        finally:
            await exporter.stop()
    warnings = [e for e in logs if e["event"] == "poll_failed" and e["log_level"] == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["reason"] == "auth"
    assert "Account not found" in warnings[0]["error"]
    assert all("not-the-token-1234" not in repr(e) for e in logs)


async def test_connection_refused_is_a_timeout(sim: Sim) -> None:
    _, world, session = sim
    app = world["apps"][0]
    exporter = await exporter_for(f"http://127.0.0.1:{free_port()}", app)
    watch = Watch(session, exporter, app)
    try:
        await wait_for(lambda: is_value(watch.up(), 0.0), what="target down")
        await wait_for(lambda: _positive(watch.failures("timeout")), what="timeout failures")
    finally:
        await exporter.stop()


async def _positive(pending: Any) -> bool:
    return bool(await pending > 0)


async def _requests_at_least(session: aiohttp.ClientSession, url: str, n: int) -> bool:
    return len(await get_json(session, f"{url}/_sim/requests")) >= n

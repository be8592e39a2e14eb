"""The simulator follows pushwoosh-api.md: envelopes, auth, jobs, formatters, faults, truth."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from exporter.simulator.server import RunningSimulator, start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings
from exporter.simulator.traffic import Traffic

TOKEN = "sim-test-token"
NOW = 1_764_324_000.0  # 2025-11-28 10:00:00 UTC


class FakeTime:
    """A settable clock for the simulator, so answers do not depend on the wall clock."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def sim() -> AsyncIterator[tuple[RunningSimulator, aiohttp.ClientSession, FakeTime]]:
    clock = FakeTime(NOW)
    settings = SimulatorSettings(
        seed=5, apps=2, token=TOKEN, clock=clock, faults=Faults(pending_min=0.0, pending_max=0.0)
    )
    async with await start_simulator(settings) as running, aiohttp.ClientSession() as session:
        yield running, session, clock


Sim = tuple[RunningSimulator, aiohttp.ClientSession, FakeTime]


async def call(sim: Sim, method: str, **args: Any) -> tuple[int, Any]:
    running, session, _ = sim
    body = {"request": {"auth": TOKEN, **args}}
    async with session.post(f"{running.url}/json/1.3/{method}", json=body) as r:
        return r.status, await r.json(content_type=None)


async def result(sim: Sim, method: str, **args: Any) -> Any:
    status, answer = await call(sim, method, **args)
    assert (status, answer["status_code"]) == (200, 200), answer
    request_id = answer["response"]["request_id"]
    assert len(request_id) == 32
    status, done = await call(sim, "getResults", request_id=request_id)
    assert done["status_code"] == 200, done
    return done["response"]


async def test_app_stats_has_three_minutely_scopes(sim: Sim) -> None:
    app = sim[0].state.world.apps[0].code
    data = await result(
        sim,
        "getAppStats",
        application=app,
        datefrom="2025-11-28 09:45:00",
        dateto="2025-11-28 10:00:00",
    )
    assert set(data) == {"applications", "devices", "messages"}
    assert {data[s]["formatter"] for s in data} == {"minutely"}
    actions = {(s, row["action"]) for s in data for row in data[s]["rows"]}
    assert ("messages", "send") in actions
    for scope in data.values():
        for row in scope["rows"]:
            assert "2025-11-28 09:45:00" <= row["datetime"] <= "2025-11-28 10:00:00"
            assert isinstance(row["count"], int)
            assert row["count"] > 0


@pytest.mark.parametrize(
    ("datefrom", "formatter"),
    [
        ("2025-11-28 07:00:00", "minutely"),
        ("2025-11-28 06:59:59", "hourly"),
        ("2025-11-27 09:59:59", "daily"),
        ("2025-10-28 09:59:59", "monthly"),
        ("2024-11-28 09:59:59", "yearly"),
    ],
)
async def test_formatter_follows_the_period_length(sim: Sim, datefrom: str, formatter: str) -> None:
    app = sim[0].state.world.apps[0].code
    data = await result(
        sim, "getAppStats", application=app, datefrom=datefrom, dateto="2025-11-28 10:00:00"
    )
    assert data["messages"]["formatter"] == formatter


async def test_results_are_pending_then_done_and_unknown_ids_refused(sim: Sim) -> None:
    running, _, clock = sim
    running.state.settings.faults.pending_min = running.state.settings.faults.pending_max = 5.0
    app = running.state.world.apps[0].code
    _, answer = await call(sim, "getApplicationSubscribersStats", application=app)
    assert answer["status_code"] == 200  # synchronous: data at once
    assert "IOS" in answer["response"]["devices_types"]
    _, answer = await call(sim, "getMsgStats", message=running.state.world.messages[0])
    request_id = answer["response"]["request_id"]
    _, pending = await call(sim, "getResults", request_id=request_id)
    assert (pending["status_code"], pending["response"]) == (420, None)
    clock.t += 5.0
    _, done = await call(sim, "getResults", request_id=request_id)
    assert done["status_code"] == 200
    _, unknown = await call(sim, "getResults", request_id="0" * 32)
    assert unknown["status_code"] == 210
    clock.t += 3600.0
    _, expired = await call(sim, "getResults", request_id=request_id)
    assert expired["status_code"] == 210


@pytest.mark.parametrize(
    ("args", "status_code", "message"),
    [
        ({"auth": "wrong"}, 210, "Account not found"),
        ({"auth": ""}, 210, "API token or application is not set"),
        ({"application": "NOPE0-00000"}, 210, "Application not found"),
        ({"datefrom": "yesterday"}, 210, "Cannot parse date"),
    ],
)
async def test_argument_and_auth_errors(
    sim: Sim, args: dict[str, str], status_code: int, message: str
) -> None:
    app = sim[0].state.world.apps[0].code
    base = {"application": app, "datefrom": "2025-11-28 09:00:00", "dateto": "2025-11-28 10:00:00"}
    running, session, _ = sim
    body = {"request": {"auth": TOKEN, **base, **args}}
    async with session.post(f"{running.url}/json/1.3/getAppStats", json=body) as r:
        answer = await r.json()
    assert (r.status, answer["status_code"], answer["status_message"]) == (
        200,
        status_code,
        message,
    )
    assert answer["response"] is None


async def test_forbidden_app_and_body_that_is_not_json(sim: Sim) -> None:
    running, session, _ = sim
    app = running.state.world.apps[1].code
    running.state.settings.faults.forbidden_apps = [app]
    _, answer = await call(sim, "getApplicationSubscribersStats", application=app)
    assert answer["status_code"] == 403
    async with session.post(f"{running.url}/json/1.3/getAppStats", data=b"{nope") as r:
        assert r.status == 400


async def test_v2_needs_the_key_header(sim: Sim) -> None:
    running, session, _ = sim
    url = f"{running.url}/api/v2/statistics/application/getSubscribersStatistics"
    app = running.state.world.apps[0].code
    body = {
        "application_code": app,
        "timestamp_from": "2025-11-28 08:00:00",
        "timestamp_to": "2025-11-28 10:00:00",
    }
    async with session.post(url, json=body, headers={"Authorization": f"Key {TOKEN}"}) as r:
        data = await r.json()
        assert r.status == 200
    assert data["interval"] == "hour"
    assert [p["timestamp"] for p in data["points"]] == [
        "2025-11-28 08:00:00",
        "2025-11-28 09:00:00",
        "2025-11-28 10:00:00",
    ]
    assert all(p["total"] == sum(p["platforms"].values()) for p in data["points"])
    async with session.post(url, json=body, headers={"Authorization": "Key wrong"}) as r:
        assert (r.status, (await r.json())["code"]) == (401, 401)
    async with session.post(
        url,
        json=body | {"application_code": "NOPE0-00000"},
        headers={"Authorization": f"Key {TOKEN}"},
    ) as r:
        assert r.status == 404


async def test_tag_csv_is_served_by_the_simulator(sim: Sim) -> None:
    _, session, _ = sim
    data = await result(sim, "getTagStats", tag="Language")
    async with session.get(data["url"]) as r:
        text = await r.text()
    lines = text.strip().splitlines()
    assert lines[0] == "value;count"
    assert all(len(line.split(";")) == 2 for line in lines[1:])
    assert len(lines) > 20


async def test_injected_late_event_grows_an_old_bucket_and_truth_agrees(sim: Sim) -> None:
    running, session, clock = sim
    running.state.traffic.enabled = False
    app = running.state.world.apps[0].code
    window = {
        "application": app,
        "datefrom": "2025-11-28 09:50:00",
        "dateto": "2025-11-28 10:00:00",
    }
    inject = {"kind": "app", "app": app, "scope": "messages", "action": "send"}
    async with session.post(f"{running.url}/_sim/inject", json=inject | {"count": 3}) as r:
        assert r.status == 200
    before = await result(sim, "getAppStats", **window)
    clock.t += 90.0
    async with session.post(
        f"{running.url}/_sim/inject", json=inject | {"count": 2, "bucket": "2025-11-28 10:00:00"}
    ) as r:
        assert r.status == 200
    after = await result(sim, "getAppStats", **window)
    assert before["messages"]["rows"] == [
        {"count": 3, "action": "send", "datetime": "2025-11-28 10:00:00"}
    ]
    assert after["messages"]["rows"] == [
        {"count": 5, "action": "send", "datetime": "2025-11-28 10:00:00"}
    ]
    query = {
        "kind": "app",
        "app": app,
        "scope": "messages",
        "action": "send",
        "after": str(NOW),
        "until": str(clock.t),
    }
    async with session.get(f"{running.url}/_sim/truth", params=query) as r:
        assert (await r.json())["count"] == 2


@pytest.mark.parametrize(
    ("knob", "http", "status_code"),
    [("error_rate", 500, 500), ("json500_rate", 200, 500), ("rate_limit_rate", 429, 429)],
)
async def test_fault_knobs(sim: Sim, knob: str, http: int, status_code: int) -> None:
    running, session, _ = sim
    async with session.post(f"{running.url}/_sim/faults", json={knob: 1.0, "retry_after": 2}) as r:
        assert (await r.json())[knob] == 1.0
    app = running.state.world.apps[0].code
    async with session.post(
        f"{running.url}/json/1.3/getApplicationSubscribersStats",
        json={"request": {"auth": TOKEN, "application": app}},
    ) as r:
        assert r.status == http
        assert (await r.json())["status_code"] == status_code
        if http == 429:
            assert r.headers["Retry-After"] == "2"


async def test_malformed_and_hang(sim: Sim) -> None:
    running, session, _ = sim
    app = running.state.world.apps[0].code
    url = f"{running.url}/json/1.3/getApplicationSubscribersStats"
    body = {"request": {"auth": TOKEN, "application": app}}
    await session.post(f"{running.url}/_sim/faults", json={"malformed_rate": 1.0})
    async with session.post(url, json=body) as r:
        with pytest.raises(aiohttp.ContentTypeError):
            await r.json()
    await session.post(f"{running.url}/_sim/faults", json={"malformed_rate": 0.0, "hang": True})
    hung = asyncio.ensure_future(session.post(url, json=body))
    await asyncio.sleep(0.3)
    assert not hung.done()
    await session.post(f"{running.url}/_sim/faults", json={"hang": False})
    response = await asyncio.wait_for(hung, 5)
    assert (await response.json())["status_code"] == 200


@given(
    seed=st.integers(0, 1000),
    minute=st.integers(0, 600),
    times=st.lists(st.floats(0, 900), min_size=2, max_size=8),
)
def test_recorded_counts_never_decrease(seed: int, minute: int, times: list[float]) -> None:
    traffic = Traffic(seed, 0.0, True, {"A": 1.0})
    b = 60_000 + minute * 60
    counts = [traffic.count(("app", "A", "messages", "send"), b, b + t) for t in sorted(times)]
    assert counts == sorted(counts)


def test_the_same_seed_gives_the_same_traffic() -> None:
    one, two = Traffic(3, 0.0, True, {}), Traffic(3, 0.0, True, {})
    key = ("campaign", "C", "send", "1")
    assert [one.count(key, b * 60, 10**6) for b in range(100)] == [
        two.count(key, b * 60, 10**6) for b in range(100)
    ]

"""Each fault knob does what settings.Faults says, on API calls only, never on ``/_sim``."""

import asyncio
from typing import Any

import aiohttp
import pytest

from tests.simulator.simharness import NOW, TOKEN, SimHarness

WINDOW = {"datefrom": "2025-11-28 09:45:00", "dateto": "2025-11-28 10:00:00"}


async def set_faults(sim: SimHarness, **knobs: Any) -> dict[str, Any]:
    status, answer = await sim.control("POST", "faults", json=knobs)
    assert status == 200, answer
    return dict(answer)


@pytest.mark.parametrize(
    ("knob", "http", "body"),
    [
        ("error_rate", 500, {"status_code": 500, "status_message": "Internal error"}),
        ("json500_rate", 200, {"status_code": 500, "status_message": "Internal error"}),
        ("rate_limit_rate", 429, {"status_code": 429, "status_message": "Too many requests"}),
    ],
)
async def test_failure_rates_answer_with_their_status(
    sim: SimHarness, knob: str, http: int, body: dict[str, Any]
) -> None:
    assert (await set_faults(sim, **{knob: 1.0}))[knob] == 1.0
    status, answer = await sim.call("getApplicationSubscribersStats", application=sim.app)
    assert (status, answer) == (http, body | {"response": None})
    _, log = await sim.control("GET", "requests")
    assert [(e["http_status"], e["status_code"]) for e in log] == [(http, body["status_code"])]
    status, _ = await sim.control("GET", "world")
    assert status == 200  # control endpoints never fail


async def test_rate_limit_sends_retry_after_unless_it_is_none(sim: SimHarness) -> None:
    await set_faults(sim, rate_limit_rate=1.0, retry_after=2.5)
    body = {"request": {"auth": TOKEN, "application": sim.app}}
    url = f"{sim.url}/json/1.3/getApplicationSubscribersStats"
    async with sim.session.post(url, json=body) as r:
        assert (r.status, r.headers["Retry-After"]) == (429, "2.5")
    await set_faults(sim, retry_after=None)
    async with sim.session.post(url, json=body) as r:
        assert r.status == 429
        assert "Retry-After" not in r.headers


async def test_fault_rates_are_fractions_drawn_from_the_seed(sim: SimHarness) -> None:
    await set_faults(sim, error_rate=0.5)
    statuses = []
    for _ in range(40):
        status, _ = await sim.call("getApplicationSubscribersStats", application=sim.app)
        statuses.append(status)
    assert set(statuses) == {200, 500}
    assert 8 <= statuses.count(500) <= 32


async def test_v2_failures_use_v2_bodies(sim: SimHarness) -> None:
    body = {
        "application_code": sim.app,
        "timestamp_from": "2025-11-28 08:00:00",
        "timestamp_to": "2025-11-28 10:00:00",
    }
    await set_faults(sim, json500_rate=1.0)
    assert await sim.v2(body) == (500, {"code": 500, "message": "Internal error"})
    await set_faults(sim, json500_rate=0.0, rate_limit_rate=1.0)
    assert await sim.v2(body) == (429, {"code": 429, "message": "Too many requests"})


async def test_malformed_answers_are_not_json(sim: SimHarness) -> None:
    await set_faults(sim, malformed_rate=1.0)
    status, answer = await sim.call("getApplicationSubscribersStats", application=sim.app)
    assert (status, answer) == (200, None)


async def test_wrong_shape_is_a_valid_envelope_around_the_wrong_data(sim: SimHarness) -> None:
    await set_faults(sim, wrong_shape_rate=1.0)
    _, answer = await sim.call("getApplicationSubscribersStats", application=sim.app)
    assert answer["status_code"] == 200
    assert "devices_types" not in answer["response"]
    request_id = await sim.job("getAppStats", application=sim.app, **WINDOW)
    assert "messages" not in await sim.results(request_id)


async def test_hang_holds_api_calls_until_released_while_control_answers(
    sim: SimHarness,
) -> None:
    await set_faults(sim, hang=True)
    held = asyncio.ensure_future(sim.call("getApplicationSubscribersStats", application=sim.app))
    await asyncio.sleep(0.3)
    assert not held.done()
    assert (await sim.control("GET", "world"))[0] == 200
    await set_faults(sim, hang=False)
    status, answer = await asyncio.wait_for(held, 5)
    assert (status, answer["status_code"]) == (200, 200)


async def test_hang_set_on_the_state_object_holds_calls_too(sim: SimHarness) -> None:
    sim.state.settings.faults.hang = True
    held = asyncio.ensure_future(sim.call("getApplicationSubscribersStats", application=sim.app))
    await asyncio.sleep(0.3)
    assert not held.done()
    sim.state.settings.faults.hang = False
    status, _ = await asyncio.wait_for(held, 5)
    assert status == 200


async def test_latency_delays_api_calls(sim: SimHarness) -> None:
    await set_faults(sim, latency=60.0)
    delayed = asyncio.ensure_future(sim.call("getApplicationSubscribersStats", application=sim.app))
    await asyncio.sleep(0.3)
    assert not delayed.done()
    delayed.cancel()
    with pytest.raises(asyncio.CancelledError):
        await delayed
    await set_faults(sim, latency=0.0)
    status, _ = await sim.call("getApplicationSubscribersStats", application=sim.app)
    assert status == 200


async def test_jobs_stay_pending_for_a_time_drawn_in_the_range(sim: SimHarness) -> None:
    await set_faults(sim, pending_min=10.0, pending_max=20.0)
    request_ids = [
        await sim.job("getMsgStats", message=sim.state.world.messages[0]) for _ in range(5)
    ]
    ready_at = {sim.state.jobs[r].ready_at - NOW for r in request_ids}
    assert all(10.0 <= d <= 20.0 for d in ready_at)
    assert len(ready_at) > 1
    for offset, expected in ((9.9, 420), (20.0, 200)):
        sim.clock.t = NOW + offset
        for request_id in request_ids:
            _, answer = await sim.call("getResults", request_id=request_id)
            assert answer["status_code"] == expected


async def test_stuck_results_stay_pending(sim: SimHarness) -> None:
    await set_faults(sim, stuck_results=True)
    request_id = await sim.job("getMsgStats", message=sim.state.world.messages[0])
    sim.clock.t += 3000
    _, answer = await sim.call("getResults", request_id=request_id)
    assert answer["status_code"] == 420


async def test_legacy_envelope_wraps_app_stats_results(sim: SimHarness) -> None:
    await set_faults(sim, legacy_envelope=True)
    request_id = await sim.job("getAppStats", application=sim.app, **WINDOW)
    _, answer = await sim.call("getResults", request_id=request_id)
    assert set(answer) == {"error", "json_data"}
    assert answer["error"] == {"code": 0, "message": "OK"}
    assert set(answer["json_data"]) == {"applications", "devices", "messages"}
    other = await sim.job("getMsgStats", message=sim.state.world.messages[0])
    assert "rows" in await sim.results(other)  # only getAppStats has a legacy envelope


async def test_string_counts(sim: SimHarness) -> None:
    await set_faults(sim, string_counts=True)
    data = await sim.result("getAppStats", application=sim.app, **WINDOW)
    counts = [row["count"] for scope in data.values() for row in scope["rows"]]
    assert counts
    assert all(isinstance(n, str) and n.isdigit() for n in counts)


@pytest.mark.parametrize(
    "knobs",
    [
        {"error_rat": 1.0},
        {"error_rate": "high"},
        {"hang": 1},
        {"forbidden_apps": "X"},
        [1],
        {"app_formatter": "weekly"},
        {"campaign_formatter": "monthly"},
        {"app_formatter": 60},
        {"timezone": "Mars/Olympus"},
        {"timezone": ""},
        {"timezone": None},
        {"request_id_prefix": None},
        {"split_rows": "yes"},
        {"error_rate": 1.0, "zero_rows": 1},
        {"apps_page_size": 0},
        {"apps_page_size": 2.5},
        {"apps_page_size": None},
        {"campaigns_page_cap": 0},
        {"campaigns_page_cap": True},
        {"forbid_listing": 500},
        {"forbid_listing": "403"},
        {"tag_values": ["UserId"]},
        {"tag_values": {"UserId": -1}},
        {"tag_values": {"UserId": 1.5}},
        {"tag_values": {"UserId": True}},
    ],
)
async def test_unknown_knobs_and_wrong_types_change_nothing(
    sim: SimHarness, knobs: dict[str, Any] | list[int]
) -> None:
    before = dict(vars(sim.state.settings.faults))
    status, _ = await sim.control("POST", "faults", json=knobs)
    assert status == 400
    assert vars(sim.state.settings.faults) == before


async def test_faults_endpoint_answers_with_every_knob(sim: SimHarness) -> None:
    answer = await set_faults(sim)
    assert answer == {
        "error_rate": 0.0,
        "json500_rate": 0.0,
        "rate_limit_rate": 0.0,
        "retry_after": 1.0,
        "latency": 0.0,
        "hang": False,
        "malformed_rate": 0.0,
        "wrong_shape_rate": 0.0,
        "pending_min": 0.0,
        "pending_max": 0.0,
        "stuck_results": False,
        "legacy_envelope": False,
        "string_counts": False,
        "forbidden_apps": [],
        "tag_values": {},
        "app_formatter": None,
        "campaign_formatter": None,
        "omit_empty_scopes": False,
        "split_rows": False,
        "zero_rows": False,
        "timezone": "UTC",
        "request_id_prefix": "",
        "null_response": False,
        "conversion_delivery": False,
        "event_hours_to_now": False,
        "apps_page_size": 2,
        "campaigns_page_cap": None,
        "forbid_listing": None,
    }


async def test_closing_releases_held_calls(sim: SimHarness) -> None:
    await set_faults(sim, hang=True)
    held = asyncio.ensure_future(sim.call("getApplicationSubscribersStats", application=sim.app))
    await asyncio.sleep(0.2)
    await asyncio.wait_for(sim.running.close(), 10)
    # Answered, or dropped by the shutting-down server: either way, no longer held.
    outcome = (await asyncio.wait_for(asyncio.gather(held, return_exceptions=True), 5))[0]
    assert isinstance(outcome, tuple | aiohttp.ClientError), outcome

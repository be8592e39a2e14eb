"""The simulator speaks the documented protocol: the ``request`` wrapper, the envelope,
auth and argument errors, scheduled jobs with getResults, formatters, v2 auth."""

import re

import pytest

from tests.simulator.simharness import TOKEN, SimHarness

WINDOW = {"datefrom": "2025-11-28 09:45:00", "dateto": "2025-11-28 10:00:00"}


async def test_answers_are_enveloped_and_scheduled_methods_return_a_hex_request_id(
    sim: SimHarness,
) -> None:
    status, answer = await sim.call("getAppStats", application=sim.app, **WINDOW)
    assert status == 200
    assert set(answer) == {"status_code", "status_message", "response"}
    assert (answer["status_code"], answer["status_message"]) == (200, "OK")
    assert set(answer["response"]) == {"request_id"}
    assert re.fullmatch(r"[0-9a-f]{32}", answer["response"]["request_id"])


async def test_synchronous_subscribers_method_answers_with_data_at_once(sim: SimHarness) -> None:
    _, answer = await sim.call("getApplicationSubscribersStats", application=sim.app)
    assert answer["status_code"] == 200
    assert set(answer["response"]["devices_types"]) >= {"IOS", "ANDROID", "CHROME"}


async def test_results_are_pending_until_the_job_is_done_then_readable_for_an_hour(
    sim: SimHarness,
) -> None:
    sim.state.settings.faults.pending_min = sim.state.settings.faults.pending_max = 5.0
    request_id = await sim.job("getMsgStats", message=sim.state.world.messages[0])
    _, pending = await sim.call("getResults", request_id=request_id)
    assert (pending["status_code"], pending["status_message"], pending["response"]) == (
        420,
        "Request is still being processed",
        None,
    )
    sim.clock.t += 5.0
    assert "rows" in await sim.results(request_id)
    sim.clock.t += 3000.0
    assert "rows" in await sim.results(request_id)
    sim.clock.t += 601.0
    _, expired = await sim.call("getResults", request_id=request_id)
    assert expired == {"status_code": 210, "status_message": "Request not found"}


async def test_unknown_request_id_is_an_argument_error(sim: SimHarness) -> None:
    _, unknown = await sim.call("getResults", request_id="0" * 32)
    assert unknown == {"status_code": 210, "status_message": "Request not found"}


async def test_result_is_the_snapshot_at_job_creation(quiet_sim: SimHarness) -> None:
    sim = quiet_sim
    inject = {"kind": "app", "app": sim.app, "scope": "messages", "action": "send"}
    await sim.inject(**inject, count=3)
    request_id = await sim.job("getAppStats", application=sim.app, **WINDOW)
    await sim.inject(**inject, count=4)
    data = await sim.results(request_id)
    assert [row["count"] for row in data["messages"]["rows"]] == [3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"auth": "wrong"}, "Account not found"),
        ({"auth": ""}, "API token or application is not set"),
        ({"auth": None}, "API token or application is not set"),
        ({"application": ""}, "API token or application is not set"),
        ({"application": "NOPE0-00000"}, "Application not found"),
        ({"datefrom": "yesterday"}, "Cannot parse date"),
        ({"dateto": "2025-11-28"}, "Cannot parse date"),
        ({"dateto": "2025-11-28 08:00:00"}, "Cannot parse date"),
    ],
)
async def test_argument_and_auth_errors_are_210_without_a_response_key(
    sim: SimHarness, args: dict[str, str | None], message: str
) -> None:
    request = {"auth": TOKEN, "application": sim.app, **WINDOW} | args
    status, answer = await sim.call("getAppStats", token=None, **request)
    assert (status, answer) == (200, {"status_code": 210, "status_message": message})


async def test_unknown_message_is_refused(sim: SimHarness) -> None:
    _, answer = await sim.call("getMsgStats", message="0000-00000000-0000")
    assert answer == {"status_code": 210, "status_message": "Message not found"}


async def test_forbidden_app_is_403_token_restrictions(sim: SimHarness) -> None:
    sim.state.settings.faults.forbidden_apps = [sim.state.world.apps[1].code]
    _, answer = await sim.call(
        "getApplicationSubscribersStats", application=sim.state.world.apps[1].code
    )
    assert answer == {
        "status_code": 403,
        "status_message": "Token restrictions forbid this operation",
    }
    _, allowed = await sim.call("getApplicationSubscribersStats", application=sim.app)
    assert allowed["status_code"] == 200


@pytest.mark.parametrize("body", [b"{nope", b"[]", b'{"request": 3}', b'{"auth": "x"}'])
async def test_a_body_that_is_not_a_wrapped_request_is_http_400(
    sim: SimHarness, body: bytes
) -> None:
    async with sim.session.post(f"{sim.url}/json/1.3/getAppStats", data=body) as r:
        assert r.status == 400


@pytest.mark.parametrize(
    ("datefrom", "formatter"),
    [
        ("2025-11-28 07:00:00", "minutely"),
        ("2025-11-28 06:59:59", "hourly"),
        ("2025-11-27 10:00:00", "hourly"),
        ("2025-11-27 09:59:59", "daily"),
        ("2025-10-28 09:59:59", "monthly"),
        ("2024-11-28 09:59:59", "yearly"),
    ],
)
async def test_formatter_follows_the_period_length(
    sim: SimHarness, datefrom: str, formatter: str
) -> None:
    data = await sim.result(
        "getAppStats", application=sim.app, datefrom=datefrom, dateto="2025-11-28 10:00:00"
    )
    assert {data[scope]["formatter"] for scope in data} == {formatter}
    campaign = await sim.result(
        "getCampaignStats",
        campaign=sim.state.world.campaigns[0],
        datefrom=datefrom,
        dateto="2025-11-28 10:00:00",
    )
    assert campaign["formatter"] == formatter


async def test_hourly_rows_sum_the_minutes_and_start_on_the_hour(quiet_sim: SimHarness) -> None:
    sim = quiet_sim
    inject = {"kind": "app", "app": sim.app, "scope": "devices", "action": "register"}
    await sim.inject(**inject, count=2, bucket="2025-11-28 05:10:00")
    await sim.inject(**inject, count=5, bucket="2025-11-28 05:59:00")
    await sim.inject(**inject, count=1, bucket="2025-11-28 09:01:00")
    data = await sim.result(
        "getAppStats",
        application=sim.app,
        datefrom="2025-11-28 05:30:00",
        dateto="2025-11-28 10:00:00",
    )
    assert data["devices"] == {
        "formatter": "hourly",
        "rows": [
            {"count": 7, "action": "register", "datetime": "2025-11-28 05:00:00"},
            {"count": 1, "action": "register", "datetime": "2025-11-28 09:00:00"},
        ],
    }


async def test_v2_needs_the_key_header_and_answers_with_plain_statuses(sim: SimHarness) -> None:
    body = {
        "application_code": sim.app,
        "timestamp_from": "2025-11-28 08:00:00",
        "timestamp_to": "2025-11-28 10:00:00",
    }
    status, data = await sim.v2(body)
    assert (status, data["application_code"], data["interval"]) == (200, sim.app, "hour")
    assert await sim.v2(body, token="wrong") == (
        401,
        {"code": 401, "message": "Authentication failed"},
    )
    status, data = await sim.v2(body | {"application_code": "NOPE0-00000"})
    assert (status, data["code"]) == (404, 404)
    status, data = await sim.v2(body | {"timestamp_to": "later"})
    assert (status, data["code"]) == (400, 400)
    sim.state.settings.faults.forbidden_apps = [sim.app]
    status, data = await sim.v2(body)
    assert (status, data["code"]) == (403, 403)
    async with sim.session.post(
        f"{sim.url}/api/v2/statistics/application/getSubscribersStatistics",
        data=b"not json",
        headers={"Authorization": f"Key {TOKEN}"},
    ) as r:
        assert r.status == 400


async def test_the_request_log_reads_in_parts_and_says_what_it_dropped(
    sim: SimHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("exporter.simulator.state.LOG_LIMIT", 10)
    for _ in range(4):
        await sim.call("getApplicationSubscribersStats", application=sim.app)
    async with sim.session.get(f"{sim.url}/_sim/requests", params={"since": "1"}) as r:
        part = await r.json()
    assert (part["first"], part["next"], len(part["calls"])) == (1, 4, 3)
    for _ in range(8):  # it holds 10: the 11th and 12th calls drop calls 0 and 1
        await sim.call("getApplicationSubscribersStats", application=sim.app)
    async with sim.session.get(f"{sim.url}/_sim/requests", params={"since": "0"}) as r:
        part = await r.json()
    assert (part["first"], part["next"], len(part["calls"])) == (2, 12, 10)
    assert all(c["method"] == "getApplicationSubscribersStats" for c in part["calls"])
    async with sim.session.get(f"{sim.url}/_sim/requests", params={"since": "x"}) as r:
        assert r.status == 400

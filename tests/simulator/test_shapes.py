"""The answer-shape knobs of ``settings.Faults``, each set live through ``/_sim/faults``:
every variant of a documented answer is what the knob's docstring says, and its counts
still equal the ground truth."""

import calendar
import re
from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from tests.simulator.simharness import NOW, TOKEN, SimHarness

WINDOW = {"datefrom": "2025-11-28 09:45:00", "dateto": "2025-11-28 10:00:00"}
V1_CONTENT_TYPE = "application/json; charset=utf8"


def unix(text: str) -> int:
    """``Y-m-d H:i:s`` (UTC) -> Unix seconds."""
    return calendar.timegm(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").timetuple())


def totals(rows: list[dict[str, Any]], *keys: str) -> Counter[tuple[Any, ...]]:
    """Counts added up per (datetime, action[, platformid])."""
    added: Counter[tuple[Any, ...]] = Counter()
    for row in rows:
        added[tuple(row[k] for k in ("datetime", "action", *keys))] += int(row["count"])
    return added


async def test_every_v1_json_answer_is_charset_utf8(sim: SimHarness) -> None:
    campaign = sim.state.world.campaigns[0]
    calls: list[tuple[str, dict[str, Any]]] = [
        ("getAppStats", {"application": sim.app, **WINDOW}),
        ("getCampaignStats", {"campaign": campaign, **WINDOW}),
        ("getApplicationSubscribersStats", {"application": sim.app}),
        ("getApplicationSubscribersStats", {"application": "NOPE0-00000"}),
        ("getResults", {"request_id": await sim.job("getTagStats", tag="Language")}),
        ("getResults", {"request_id": "0" * 32}),
    ]
    for method, args in calls:
        body = {"request": {"auth": TOKEN, **args}}
        async with sim.session.post(f"{sim.url}/json/1.3/{method}", json=body) as r:
            assert r.headers["Content-Type"] == V1_CONTENT_TYPE, method
            assert (await r.json(content_type=None))["status_code"] in (200, 210)
    await sim.faults(rate_limit_rate=1.0)
    body = {"request": {"auth": TOKEN, "application": sim.app}}
    url = f"{sim.url}/json/1.3/getApplicationSubscribersStats"
    async with sim.session.post(url, json=body) as r:
        assert (r.status, r.headers["Content-Type"]) == (429, V1_CONTENT_TYPE)


async def test_request_ids_carry_the_prefix_and_still_fetch_results(sim: SimHarness) -> None:
    assert (await sim.faults(request_id_prefix="DC1_"))["request_id_prefix"] == "DC1_"
    request_id = await sim.job("getAppStats", application=sim.app, **WINDOW)
    assert re.fullmatch(r"DC1_[0-9a-f]{32}", request_id)
    assert set(await sim.results(request_id)) == {"applications", "devices", "messages"}


async def test_null_response_sends_a_null_response_on_210_and_403(sim: SimHarness) -> None:
    other = sim.state.world.apps[1].code
    await sim.faults(forbidden_apps=[other])
    calls = [
        ("getAppStats", {"application": "NOPE0-00000", **WINDOW}, 210, "Application not found"),
        ("getApplicationSubscribersStats", {"application": other}, 403, None),
        ("getResults", {"request_id": "0" * 32}, 210, "Request not found"),
    ]
    for method, args, code, message in calls:
        _, seen = await sim.call(method, **args)
        assert "response" not in seen
        assert seen["status_code"] == code
        assert message is None or seen["status_message"] == message
    await sim.faults(null_response=True)
    for method, args, code, _ in calls:
        _, answer = await sim.call(method, **args)
        assert (answer["status_code"], answer["response"]) == (code, None)


async def test_conversion_delivery_adds_delivery_to_campaign_and_message_totals(
    sim: SimHarness,
) -> None:
    campaign = sim.state.world.campaigns[0]
    message = sim.state.world.messages[0]
    assert set((await sim.result("getMsgStats", message=message))["conversion"]) == {
        "send",
        "open",
        "events",
    }
    await sim.faults(conversion_delivery=True)
    for method, args in (
        ("getCampaignStats", {"campaign": campaign, **WINDOW}),
        ("getMsgStats", {"message": message}),
    ):
        data = await sim.result(method, **args)
        conversion = data["conversion"]
        assert set(conversion) == {"send", "delivery", "open", "events"}
        delivered = sum(r["count"] for r in data["rows"] if r["action"] == "delivery")
        assert conversion["delivery"] == delivered > 0


async def test_omit_empty_scopes_leaves_out_scopes_without_events(quiet_sim: SimHarness) -> None:
    sim = quiet_sim
    await sim.inject(kind="app", app=sim.app, scope="messages", action="send", count=2)
    every = await sim.result("getAppStats", application=sim.app, **WINDOW)
    assert every["applications"] == every["devices"] == {"formatter": "minutely", "rows": []}
    await sim.faults(omit_empty_scopes=True)
    only = await sim.result("getAppStats", application=sim.app, **WINDOW)
    assert only == {"messages": every["messages"]}
    await sim.faults(zero_rows=True)  # a scope of zero rows has no events either
    assert set(await sim.result("getAppStats", application=sim.app, **WINDOW)) == {"messages"}


async def test_zero_rows_list_every_bucket_of_the_period(quiet_sim: SimHarness) -> None:
    sim = quiet_sim
    campaign = sim.state.world.campaigns[0]
    await sim.inject(kind="app", app=sim.app, scope="devices", action="register", count=2)
    await sim.inject(kind="campaign", campaign=campaign, action="open", platform=17, count=5)
    await sim.faults(zero_rows=True)
    minutes = [f"2025-11-28 09:{m}:00" for m in range(45, 60)] + ["2025-11-28 10:00:00"]
    data = await sim.result("getAppStats", application=sim.app, **WINDOW)
    for scope, actions in (
        ("applications", ("open", "install")),
        ("devices", ("register", "unregister")),
        ("messages", ("send", "open")),
    ):
        rows = data[scope]["rows"]
        assert [(r["action"], r["datetime"]) for r in rows] == [
            (a, m) for a in actions for m in minutes
        ]
    assert [r["count"] for r in data["devices"]["rows"] if r["count"]] == [2]
    assert data["devices"]["rows"][15] == {
        "count": 2,
        "action": "register",
        "datetime": "2025-11-28 10:00:00",
    }
    rows = (await sim.result("getCampaignStats", campaign=campaign, **WINDOW))["rows"]
    assert len(rows) == 4 * 4 * len(minutes)  # actions x (3 modelled + 1 injected platform)
    assert [(r["action"], r["platformid"], r["count"]) for r in rows if r["count"]] == [
        ("open", 17, 5)
    ]


async def test_split_rows_send_two_rows_per_bucket_that_add_up_to_the_truth(
    sim: SimHarness,
) -> None:
    whole = await sim.result("getAppStats", application=sim.app, **WINDOW)
    await sim.faults(split_rows=True)
    split = await sim.result("getAppStats", application=sim.app, **WINDOW)
    for scope in whole:
        rows = split[scope]["rows"]
        assert totals(rows) == totals(whole[scope]["rows"])
        big = [r for r in whole[scope]["rows"] if r["count"] >= 2]
        assert len(rows) == len(whole[scope]["rows"]) + len(big)
        assert all(r["count"] >= 1 for r in rows)
    sends = [r for r in split["messages"]["rows"] if r["action"] == "send"]
    assert sum(r["count"] for r in sends) == await sim.truth(
        kind="app",
        app=sim.app,
        scope="messages",
        action="send",
        after=0,
        until=NOW,
        bucket_from=unix("2025-11-28 09:45:00"),
        bucket_before=unix("2025-11-28 10:01:00"),
    )
    campaign = await sim.result("getCampaignStats", campaign=sim.state.world.campaigns[0], **WINDOW)
    assert max(totals(campaign["rows"], "platformid").values()) > max(
        r["count"] for r in campaign["rows"]
    )
    assert campaign["conversion"]["send"] == sum(
        r["count"] for r in campaign["rows"] if r["action"] == "send"
    )
    message = await sim.result("getMsgStats", message=sim.state.world.messages[0])
    assert len(message["rows"]) > len(totals(message["rows"]))


async def test_split_rows_and_string_counts_apply_to_event_buckets(sim: SimHarness) -> None:
    app = sim.state.world.apps[0]
    args = {"application": app.code, "event": app.events[0]}
    args |= {"date_from": "2025-11-28", "date_to": "2025-11-28"}
    whole = await sim.result("getEventStatistics", **args)
    await sim.faults(split_rows=True, string_counts=True)
    split = await sim.result("getEventStatistics", **args)
    assert all(isinstance(row["count"], str) for row in split)
    added: Counter[str] = Counter()
    for row in split:
        added[row["date"]] += int(row["count"])
    assert added == Counter({row["date"]: row["count"] for row in whole})
    assert len(split) > len(whole) == 24


async def test_event_hours_to_now_stops_the_day_at_the_current_hour(sim: SimHarness) -> None:
    app = sim.state.world.apps[0]
    args = {"application": app.code, "event": app.events[0]}
    args |= {"date_from": "2025-11-28", "date_to": "2025-11-28"}
    whole_day = await sim.result("getEventStatistics", **args)
    await sim.faults(event_hours_to_now=True)
    until_now = await sim.result("getEventStatistics", **args)
    assert until_now == whole_day[:11]
    assert until_now[-1]["date"] == "2025-11-28 10:00"
    assert all(row["count"] == 0 for row in whole_day[11:])


@pytest.mark.parametrize(
    ("knob", "formatter", "window", "starts"),
    [
        ("app_formatter", "hourly", WINDOW, ["2025-11-28 09:00:00", "2025-11-28 10:00:00"]),
        ("app_formatter", "daily", WINDOW, ["2025-11-28 00:00:00"]),
        (
            "app_formatter",
            "daily",
            {"datefrom": "2025-11-26 18:30:00", "dateto": "2025-11-28 10:00:00"},
            ["2025-11-26 00:00:00", "2025-11-27 00:00:00", "2025-11-28 00:00:00"],
        ),
        (
            "app_formatter",
            "minutely",
            {"datefrom": "2025-11-28 04:00:00", "dateto": "2025-11-28 10:00:00"},
            [f"2025-11-28 {h:02}:{m:02}:00" for h in range(4, 10) for m in range(60)]
            + ["2025-11-28 10:00:00"],
        ),
        ("campaign_formatter", "hourly", WINDOW, ["2025-11-28 09:00:00", "2025-11-28 10:00:00"]),
        ("campaign_formatter", "daily", WINDOW, ["2025-11-28 00:00:00"]),
    ],
)
async def test_a_forced_formatter_counts_whole_buckets_equal_to_the_truth(
    sim: SimHarness, knob: str, formatter: str, window: dict[str, str], starts: list[str]
) -> None:
    sim.clock.t = NOW + 1800  # the bucket holding dateto has events after it
    await sim.faults(**{knob: formatter})
    width = {"minutely": 60, "hourly": 3600, "daily": 86400}[formatter]
    if knob == "app_formatter":
        data = await sim.result("getAppStats", application=sim.app, **window)
        assert {data[scope]["formatter"] for scope in data} == {formatter}
        rows = data["messages"]["rows"]
        series = {"kind": "app", "app": sim.app, "scope": "messages"}
    else:
        campaign = sim.state.world.campaigns[0]
        data = await sim.result("getCampaignStats", campaign=campaign, **window)
        assert data["formatter"] == formatter
        rows = [r for r in data["rows"] if r["platformid"] == 3]
        series = {"kind": "campaign", "campaign": campaign, "platform": 3}
    sends = {r["datetime"]: r["count"] for r in rows if r["action"] == "send"}
    assert list(sends) == starts
    for start, count in sends.items():
        truth = await sim.truth(
            **series,
            action="send",
            after=0,
            until=sim.clock.t,
            bucket_from=unix(start),
            bucket_before=unix(start) + width,
        )
        assert count == truth, start
    assert knob != "campaign_formatter" or (await sim.faults())["app_formatter"] is None


async def test_the_length_rule_applies_again_when_the_formatter_is_unset(
    sim: SimHarness,
) -> None:
    await sim.faults(app_formatter="hourly")
    await sim.faults(app_formatter=None)
    data = await sim.result("getAppStats", application=sim.app, **WINDOW)
    assert {data[scope]["formatter"] for scope in data} == {"minutely"}

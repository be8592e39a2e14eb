"""Injected events appear in the API, late ones grow old buckets, and ``/_sim/truth`` says
exactly what a counter fed by two jobs must have added between them."""

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.simulator.simharness import NOW, SimHarness

WINDOW = {"datefrom": "2025-11-28 09:50:00", "dateto": "2025-11-28 10:00:00"}


async def test_late_event_grows_an_old_bucket_and_truth_counts_only_the_new_ones(
    quiet_sim: SimHarness,
) -> None:
    sim = quiet_sim
    sends = {"kind": "app", "app": sim.app, "scope": "messages", "action": "send"}
    await sim.inject(**sends, count=3)
    before = await sim.result("getAppStats", application=sim.app, **WINDOW)
    sim.clock.t += 300.0
    answer = await sim.inject(**sends, count=2, bucket="2025-11-28 09:55:30")
    assert answer == {"recorded_at": NOW + 300.0, "bucket": NOW - 300.0}
    after = await sim.result("getAppStats", application=sim.app, **WINDOW)
    assert before["messages"]["rows"] == [
        {"count": 3, "action": "send", "datetime": "2025-11-28 10:00:00"}
    ]
    assert after["messages"]["rows"] == [
        {"count": 2, "action": "send", "datetime": "2025-11-28 09:55:00"},
        {"count": 3, "action": "send", "datetime": "2025-11-28 10:00:00"},
    ]
    assert await sim.truth(**sends, after=NOW, until=sim.clock.t) == 2
    assert await sim.truth(**sends, after=NOW - 1, until=sim.clock.t) == 5
    assert await sim.truth(**sends, after=NOW, until=sim.clock.t, bucket_from=NOW) == 0
    assert sim.state.truth(("app", sim.app, "messages", "send"), NOW - 1, NOW) == 3


@pytest.mark.parametrize(
    ("series", "method", "args"),
    [
        (
            {"kind": "campaign", "action": "delivery", "platform": 10},
            "getCampaignStats",
            {"datefrom": "2025-11-28 09:50:00", "dateto": "2025-11-28 10:00:00"},
        ),
        (
            {"kind": "event"},
            "getEventStatistics",
            {"date_from": "2025-11-28", "date_to": "2025-11-28"},
        ),
    ],
)
async def test_injected_events_of_campaigns_and_events_appear(
    quiet_sim: SimHarness, series: dict[str, Any], method: str, args: dict[str, str]
) -> None:
    sim = quiet_sim
    world = sim.state.world
    if series["kind"] == "campaign":
        series["campaign"] = args["campaign"] = world.campaigns[1]
    else:
        series |= {"app": sim.app, "event": world.apps[0].events[1]}
        args |= {"application": sim.app, "event": world.apps[0].events[1]}
    await sim.inject(**series, count=7)
    data = await sim.result(method, **args)
    rows = data["rows"] if isinstance(data, dict) else data
    assert [row["count"] for row in rows if row["count"]] == [7]
    if method == "getCampaignStats":
        assert rows[0]["platformid"] == 10
    assert await sim.truth(**series, after=NOW - 1, until=NOW) == 7


async def test_message_injections_raise_lifetime_totals(quiet_sim: SimHarness) -> None:
    sim = quiet_sim
    message = sim.state.world.messages[0]
    await sim.inject(kind="message", message=message, action="open", platform=1, count=9)
    data = await sim.result("getMsgPlatformsStats", message=message, platforms=[1, 3])
    assert [(r["action"], r["platformid"], r["count"]) for r in data["rows"]] == [("open", 1, 9)]
    assert await sim.truth(kind="message", message=message, action="open", until=NOW) == 9


async def test_registrations_move_the_subscriber_count(quiet_sim: SimHarness) -> None:
    sim = quiet_sim
    devices = {"kind": "app", "app": sim.app, "scope": "devices"}

    async def total() -> int:
        _, answer = await sim.control("GET", "subscribers", params={"app": sim.app})
        return sum(answer["devices_types"].values())

    base = await total()
    await sim.inject(**devices, action="register", count=1000)
    assert base + 990 <= await total() <= base + 1000  # split across platforms, rounded down
    await sim.inject(**devices, action="unregister", count=10**9)
    assert await total() == 0  # never negative


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "app", "app": "NOPE0-00000", "scope": "messages", "action": "send", "count": 1},
        {"kind": "app", "scope": "messages", "action": "sent", "count": 1},
        {"kind": "event", "event": "NoSuchEvent", "count": 1},
        {"kind": "campaign", "action": "send", "platform": 4, "count": 1},
        {"kind": "app", "scope": "messages", "action": "send", "count": -1},
        {"kind": "app", "scope": "messages", "action": "send", "count": 1, "bucket": "now"},
        {"kind": "nothing", "count": 1},
        {"kind": "app", "scope": "devices", "action": "register", "count": 1, "attributes": {}},
        {"kind": "campaign", "action": "send", "platform": 1, "count": 1, "attributes": {"a": 1}},
        {"kind": "event", "event": "Login", "count": 1, "attributes": {"plan": ["pro"]}},
        {"kind": "event", "event": "Login", "count": 1, "attributes": ["plan", "pro"]},
    ],
)
async def test_injections_the_api_could_never_report_are_refused(
    quiet_sim: SimHarness, body: dict[str, Any]
) -> None:
    sim = quiet_sim
    body = {"app": sim.app, "campaign": sim.state.world.campaigns[0]} | body
    status, _ = await sim.control("POST", "inject", json=body)
    assert status == 400
    assert not sim.state.traffic.injected


async def test_generated_traffic_between_two_polls_matches_the_truth(sim: SimHarness) -> None:
    """What an exporter adds between a baseline job and a later one, bucket by bucket,
    is what the truth reports for the buckets still inside the later window."""
    lookback = 15 * 60

    async def poll() -> dict[str, int]:
        window = {
            "datefrom": _format(sim.clock.t - lookback),
            "dateto": _format(sim.clock.t),
        }
        data = await sim.result("getAppStats", application=sim.app, **window)
        return {
            r["datetime"]: r["count"] for r in data["messages"]["rows"] if r["action"] == "send"
        }

    sim.clock.t += 17.5
    baseline, t1 = await poll(), sim.clock.t
    sim.clock.t += 250.0  # long enough for late parts of the baseline's buckets to land
    later, t2 = await poll(), sim.clock.t
    first = int(t2 - lookback) // 60 * 60
    added = sum(n - baseline.get(when, 0) for when, n in later.items())
    sends = {"kind": "app", "app": sim.app, "scope": "messages", "action": "send"}
    assert added == await sim.truth(**sends, after=t1, until=t2, bucket_from=first)
    assert added > 0
    revised = [when for when in later if when in baseline and later[when] > baseline[when]]
    assert revised, "some bucket seen by the baseline grew later"


async def test_request_log_records_each_call_without_the_token(sim: SimHarness) -> None:
    await sim.result("getAppStats", application=sim.app, **WINDOW)
    await sim.call("getAppStats", application="NOPE0-00000", **WINDOW)
    _, log = await sim.control("GET", "requests")
    assert [(e["method"], e["http_status"], e["status_code"]) for e in log] == [
        ("getAppStats", 200, 200),
        ("getResults", 200, 200),
        ("getAppStats", 200, 210),
    ]
    assert log[0]["args"] == {"application": sim.app, **WINDOW}
    assert log[1]["args"] == {"request_id": log[0]["request_id"]}
    assert all(e["time"] == NOW for e in log)
    assert await sim.control("POST", "requests/clear") == (200, {"cleared": True})
    assert await sim.control("GET", "requests") == (200, [])


async def test_world_lists_what_exists(sim: SimHarness) -> None:
    status, world = await sim.control("GET", "world")
    assert status == 200
    assert [app["code"] for app in world["apps"]] == [a.code for a in sim.state.world.apps]
    assert all(set(app) == {"code", "name", "events", "tags"} for app in world["apps"])
    assert world["apps"][0]["tags"] == ["Language"]
    assert len(world["campaigns"]) == len(world["messages"]) == 2
    assert world["tags"] == ["Country"]
    details = world["campaign_details"]
    assert [c["code"] for c in details] == world["campaigns"]
    assert [c["app"] for c in details] == [app["code"] for app in world["apps"]]
    assert [c["name"] for c in details] == ["promo-spring", "newsletter-weekly"]
    assert all(set(c) == {"code", "name", "app", "description"} for c in details)


def _format(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S")

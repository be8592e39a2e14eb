"""``faults.timezone``: v1 request datetimes are read, answer datetimes written and buckets
floored in the account's zone; v2 and ``/_sim`` stay UTC. The clock is 2025-11-28 10:00 UTC:
15:30 in Asia/Kolkata (UTC+5:30, whose hours start at UTC :30), 05:00 in New York (UTC-5)."""

from typing import Any

from tests.simulator.simharness import NOW, SimHarness

SENDS = {"kind": "app", "scope": "messages", "action": "send"}


async def sends(sim: SimHarness, datefrom: str, dateto: str) -> list[tuple[str, int]]:
    data = await sim.result("getAppStats", application=sim.app, datefrom=datefrom, dateto=dateto)
    return [(r["datetime"], r["count"]) for r in data["messages"]["rows"] if r["action"] == "send"]


async def test_app_stats_read_and_write_local_times(quiet_sim: SimHarness) -> None:
    sim = quiet_sim
    await sim.inject(**SENDS, app=sim.app, count=3, bucket="2025-11-28 09:50:00")
    await sim.inject(**SENDS, app=sim.app, count=2)  # 10:00 UTC
    utc = await sends(sim, "2025-11-28 09:45:00", "2025-11-28 10:00:00")
    assert utc == [("2025-11-28 09:50:00", 3), ("2025-11-28 10:00:00", 2)]
    assert (await sim.faults(timezone="Asia/Kolkata"))["timezone"] == "Asia/Kolkata"
    assert await sends(sim, "2025-11-28 15:15:00", "2025-11-28 15:30:00") == [
        ("2025-11-28 15:20:00", 3),
        ("2025-11-28 15:30:00", 2),
    ]
    # The same text now means 5.5 hours earlier: nothing happened then.
    assert await sends(sim, "2025-11-28 09:45:00", "2025-11-28 10:00:00") == []


async def test_buckets_are_floored_in_the_zone(quiet_sim: SimHarness) -> None:
    sim = quiet_sim
    await sim.inject(**SENDS, app=sim.app, count=3, bucket="2025-11-28 09:20:00")
    await sim.inject(**SENDS, app=sim.app, count=2, bucket="2025-11-28 09:40:00")
    await sim.faults(app_formatter="hourly")
    utc = await sends(sim, "2025-11-28 09:00:00", "2025-11-28 10:00:00")
    assert utc == [("2025-11-28 09:00:00", 5)]
    await sim.faults(timezone="Asia/Kolkata")
    # 09:20 UTC is 14:50 IST, 09:40 UTC is 15:10 IST: two local hours.
    local = await sends(sim, "2025-11-28 14:00:00", "2025-11-28 15:30:00")
    assert local == [("2025-11-28 14:00:00", 3), ("2025-11-28 15:00:00", 2)]


async def test_campaign_rows_are_written_in_the_zone(quiet_sim: SimHarness) -> None:
    sim = quiet_sim
    campaign = sim.state.world.campaigns[0]
    await sim.inject(kind="campaign", campaign=campaign, action="send", platform=1, count=4)
    await sim.faults(timezone="America/New_York")
    data = await sim.result(
        "getCampaignStats",
        campaign=campaign,
        datefrom="2025-11-28 04:50:00",
        dateto="2025-11-28 05:00:00",
    )
    assert data["rows"] == [
        {"count": 4, "action": "send", "datetime": "2025-11-28 05:00:00", "platformid": 1}
    ]


async def test_event_days_are_local_days(quiet_sim: SimHarness) -> None:
    sim = quiet_sim
    app = sim.state.world.apps[0]
    event = {"kind": "event", "app": app.code, "event": app.events[0]}
    await sim.inject(**event, count=6, bucket="2025-11-28 03:30:00")  # 22:30 on the 27th in NY
    await sim.inject(**event, count=1, bucket="2025-11-28 09:10:00")  # 04:10 on the 28th in NY
    await sim.faults(timezone="America/New_York")

    async def day(date: str) -> dict[str, int]:
        rows = await sim.result(
            "getEventStatistics",
            application=app.code,
            event=app.events[0],
            date_from=date,
            date_to=date,
        )
        assert [r["date"] for r in rows] == [f"{date} {h:02}:00" for h in range(24)]
        return {r["date"]: r["count"] for r in rows if r["count"]}

    assert await day("2025-11-27") == {"2025-11-27 22:00": 6}
    assert await day("2025-11-28") == {"2025-11-28 04:00": 1}
    await sim.faults(event_hours_to_now=True)
    rows = await sim.result(
        "getEventStatistics",
        application=app.code,
        event=app.events[0],
        date_from="2025-11-28",
        date_to="2025-11-28",
    )
    assert rows[-1]["date"] == "2025-11-28 05:00"  # 10:00 UTC


async def test_message_rows_start_at_local_hours_and_keep_their_totals(sim: SimHarness) -> None:
    message = sim.state.world.messages[0]
    sim.clock.t = NOW + 1200
    utc = await sim.result("getMsgStats", message=message)
    await sim.faults(timezone="Asia/Kolkata")
    local = await sim.result("getMsgStats", message=message)

    def total(data: dict[str, Any], action: str) -> int:
        return sum(r["count"] for r in data["rows"] if r["action"] == action)

    for action in ("send", "delivery", "open"):
        assert total(local, action) == total(utc, action) > 0
        assert total(local, action) == sim.state.message_truth(message, action, sim.clock.t)
    assert {r["datetime"][-5:] for r in utc["rows"]} == {"00:00"}
    assert {r["datetime"][-5:] for r in local["rows"]} == {"00:00"}
    newest = max(r["datetime"] for r in local["rows"])
    assert newest == "2025-11-28 15:00:00"  # 10:20 UTC is 15:50 IST


async def test_v2_and_the_control_endpoints_stay_utc(sim: SimHarness) -> None:
    body = {
        "application_code": sim.app,
        "timestamp_from": "2025-11-28 08:00:00",
        "timestamp_to": "2025-11-28 10:00:00",
    }
    before = await sim.v2(body)
    await sim.faults(timezone="Asia/Kolkata")
    assert await sim.v2(body) == before
    assert before[1]["points"][-1]["timestamp"] == "2025-11-28 10:00:00"
    answer = await sim.inject(**SENDS, app=sim.app, count=1, bucket="2025-11-28 09:00:00")
    assert answer["bucket"] == NOW - 3600


async def test_a_repeated_local_hour_is_one_bucket_and_a_skipped_one_stays_empty(
    quiet_sim: SimHarness,
) -> None:
    sim = quiet_sim
    app = sim.state.world.apps[0]
    event = {"kind": "event", "app": app.code, "event": app.events[0]}
    # Berlin left summer time at 01:00 UTC on 2025-10-26 (03:00 CEST -> 02:00 CET) and
    # entered it at 01:00 UTC on 2025-03-30 (02:00 CET -> 03:00 CEST).
    await sim.inject(**event, count=3, bucket="2025-10-26 00:30:00")  # 02:30 CEST
    await sim.inject(**event, count=2, bucket="2025-10-26 01:30:00")  # 02:30 CET
    await sim.inject(**event, count=4, bucket="2025-03-30 01:10:00")  # 03:10 CEST
    await sim.faults(timezone="Europe/Berlin")

    async def day(date: str) -> dict[str, int]:
        rows = await sim.result(
            "getEventStatistics",
            application=app.code,
            event=app.events[0],
            date_from=date,
            date_to=date,
        )
        assert len(rows) == 24
        return {r["date"]: r["count"] for r in rows if r["count"]}

    assert await day("2025-10-26") == {"2025-10-26 02:00": 5}
    assert await day("2025-03-30") == {"2025-03-30 03:00": 4}
    await sim.inject(**SENDS, app=sim.app, count=3, bucket="2025-10-26 00:30:00")
    await sim.inject(**SENDS, app=sim.app, count=2, bucket="2025-10-26 01:30:00")
    assert await sends(sim, "2025-10-26 02:25:00", "2025-10-26 02:35:00") == [
        ("2025-10-26 02:30:00", 5)
    ]

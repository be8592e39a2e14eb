"""Each Statistics method answers in its documented shape by default."""

import csv
import io

import pytest

from exporter.platforms import PLATFORM_NAMES
from exporter.simulator.audience import GeneratedTagFile
from tests.simulator.simharness import SimHarness

WINDOW = {"datefrom": "2025-11-28 09:45:00", "dateto": "2025-11-28 10:00:00"}
ACTIONS = {"send", "delivery", "open", "inboxopen"}


async def test_app_stats_has_three_scopes_of_documented_actions(sim: SimHarness) -> None:
    data = await sim.result("getAppStats", application=sim.app, **WINDOW)
    documented = {
        "applications": {"open", "install"},
        "devices": {"register", "unregister"},
        "messages": {"send", "open"},
    }
    assert set(data) == set(documented)
    for scope, actions in documented.items():
        assert data[scope]["formatter"] == "minutely"
        rows = data[scope]["rows"]
        assert {row["action"] for row in rows} <= actions
        for row in rows:
            assert set(row) == {"count", "action", "datetime"}
            assert "2025-11-28 09:45:00" <= row["datetime"] <= "2025-11-28 10:00:00"
            assert row["datetime"].endswith(":00")
            assert isinstance(row["count"], int)
            assert row["count"] > 0  # empty buckets are left out
    assert {row["action"] for row in data["messages"]["rows"]} == {"send", "open"}


async def test_campaign_stats_rows_carry_platform_codes_and_conversion_totals(
    sim: SimHarness,
) -> None:
    data = await sim.result("getCampaignStats", campaign=sim.state.world.campaigns[0], **WINDOW)
    assert set(data) == {"formatter", "rows", "conversion"}
    assert {row["action"] for row in data["rows"]} == ACTIONS
    assert all(set(row) == {"count", "action", "datetime", "platformid"} for row in data["rows"])
    assert {row["platformid"] for row in data["rows"]} <= set(PLATFORM_NAMES)
    conversion = data["conversion"]
    assert set(conversion) == {"send", "open", "events"}  # no delivery, as documented
    for action in ("send", "open"):
        assert conversion[action] == sum(r["count"] for r in data["rows"] if r["action"] == action)


async def test_unknown_campaign_is_refused(sim: SimHarness) -> None:
    _, answer = await sim.call("getCampaignStats", campaign="NOPE0-00000", **WINDOW)
    assert answer == {"status_code": 210, "status_message": "Campaign not found"}


async def test_message_stats_are_hourly_lifetime_rows_that_grow(sim: SimHarness) -> None:
    message = sim.state.world.messages[0]
    first = await sim.result("getMsgStats", message=message)
    assert first["formatter"] == "hourly"
    assert {row["action"] for row in first["rows"]} <= ACTIONS
    assert all(set(row) == {"datetime", "action", "count"} for row in first["rows"])
    assert all(row["datetime"].endswith(":00:00") for row in first["rows"])
    sim.clock.t += 2 * 3600
    later = await sim.result("getMsgStats", message=message)

    def opens(data: dict[str, list[dict[str, int]]]) -> int:
        return sum(row["count"] for row in data["rows"] if row["action"] == "open")

    assert opens(later) > opens(first) > 0
    assert later["conversion"]["open"] == opens(later)
    assert sim.state.message_truth(message, "open", sim.clock.t) == opens(later)


async def test_message_platform_stats_filter_platforms_and_add_platformid(
    sim: SimHarness,
) -> None:
    message = sim.state.world.messages[1]
    data = await sim.result("getMsgPlatformsStats", message=message, platforms=[1])
    assert data["rows"]
    assert {row["platformid"] for row in data["rows"]} == {1}
    both = await sim.result("getMsgPlatformsStats", message=message, platforms=[1, 3])
    assert {row["platformid"] for row in both["rows"]} == {1, 3}
    whole = await sim.result("getMsgStats", message=message)
    for action in ACTIONS:
        assert sum(r["count"] for r in both["rows"] if r["action"] == action) == sum(
            r["count"] for r in whole["rows"] if r["action"] == action
        )


async def test_event_statistics_of_one_day_are_its_24_hours_quiet_ones_zero(
    quiet_sim: SimHarness,
) -> None:
    sim = quiet_sim
    app = sim.state.world.apps[0]
    event = {"kind": "event", "app": app.code, "event": app.events[0]}
    await sim.inject(**event, count=4, bucket="2025-11-28 03:20:00")
    await sim.inject(**event, count=1, bucket="2025-11-28 03:59:00")
    await sim.inject(**event, count=2)
    data = await sim.result(
        "getEventStatistics",
        application=app.code,
        event=app.events[0],
        date_from="2025-11-28",
        date_to="2025-11-28",
    )
    assert [row["date"] for row in data] == [f"2025-11-28 {h:02}:00" for h in range(24)]
    assert all(set(row) == {"date", "count"} for row in data)
    counts = {row["date"][-5:]: row["count"] for row in data}
    assert counts == {f"{h:02}:00": 0 for h in range(24)} | {"03:00": 5, "10:00": 2}


async def test_event_statistics_of_several_days_list_every_hour_of_each(sim: SimHarness) -> None:
    app = sim.state.world.apps[0]
    data = await sim.result(
        "getEventStatistics",
        application=app.code,
        event=app.events[1],
        date_from="2025-11-27",
        date_to="2025-11-28",
    )
    assert len(data) == 48
    assert (data[0]["date"], data[-1]["date"]) == ("2025-11-27 00:00", "2025-11-28 23:00")
    assert all(row["count"] > 0 for row in data if row["date"] <= "2025-11-28 09:00")
    assert all(row["count"] == 0 for row in data if row["date"] > "2025-11-28 10:00")


@pytest.mark.parametrize(
    ("date_from", "date_to"),
    [
        ("2025-11-28 00:00:00", "2025-11-28"),
        ("2025-11-28", "2025-11-28 10:00:00"),
        ("2025-11-28", "2025-11-28 10:00"),
        ("2025-11-28T00:00", "2025-11-28"),
        ("28.11.2025", "2025-11-28"),
        ("2025-11-28", "2025-11-27"),
    ],
)
async def test_event_statistics_refuse_a_time_of_day_or_a_reversed_period(
    sim: SimHarness, date_from: str, date_to: str
) -> None:
    app = sim.state.world.apps[0]
    _, answer = await sim.call(
        "getEventStatistics",
        application=app.code,
        event=app.events[0],
        date_from=date_from,
        date_to=date_to,
    )
    assert answer == {"status_code": 210, "status_message": "Cannot parse date"}


async def test_subscribers_v1_counts_devices_by_upper_case_type(sim: SimHarness) -> None:
    _, answer = await sim.call("getApplicationSubscribersStats", application=sim.app)
    types = answer["response"]["devices_types"]
    assert all(name.isupper() and isinstance(n, int) and n >= 0 for name, n in types.items())
    status, truth = await sim.control("GET", "subscribers", params={"app": sim.app})
    assert (status, truth) == (200, answer["response"])


@pytest.mark.parametrize(
    ("timestamp_from", "interval", "first", "count"),
    [
        ("2025-11-28 08:30:00", "hour", "2025-11-28 08:00:00", 3),
        ("2025-10-29 10:00:01", "hour", "2025-10-29 10:00:00", 30 * 24 + 1),
        ("2025-10-29 10:00:00", "day", "2025-10-29 00:00:00", 31),
        ("2024-11-28 10:00:01", "day", "2024-11-28 00:00:00", 366),
        ("2024-11-28 10:00:00", "month", "2024-11-01 00:00:00", 13),
        ("2023-06-01 00:00:00", "year", "2023-01-01 00:00:00", 3),
    ],
)
async def test_v2_interval_follows_the_period_length(
    sim: SimHarness, timestamp_from: str, interval: str, first: str, count: int
) -> None:
    body = {
        "application_code": sim.app,
        "timestamp_from": timestamp_from,
        "timestamp_to": "2025-11-28 10:00:00",
    }
    status, data = await sim.v2(body)
    assert (status, data["interval"]) == (200, interval)
    points = data["points"]
    assert (points[0]["timestamp"], len(points)) == (first, count)
    assert all(p["total"] == sum(p["platforms"].values()) for p in points)
    assert set(points[-1]["platforms"]) >= {"ios", "android"}


async def test_newest_v2_point_is_the_current_subscriber_count(sim: SimHarness) -> None:
    body = {
        "application_code": sim.app,
        "timestamp_from": "2025-11-28 08:00:00",
        "timestamp_to": "2025-11-28 11:00:00",
    }
    _, data = await sim.v2(body)
    _, v1 = await sim.call("getApplicationSubscribersStats", application=sim.app)
    newest = data["points"][-1]
    assert newest["timestamp"] == "2025-11-28 10:00:00"
    assert {k.upper(): n for k, n in newest["platforms"].items()} == v1["response"]["devices_types"]


@pytest.mark.parametrize(("tag", "values"), [("Language", 30), ("Country", 60)])
async def test_tag_stats_point_to_a_csv_the_simulator_serves(
    sim: SimHarness, tag: str, values: int
) -> None:
    data = await sim.result("getTagStats", tag=tag)
    assert set(data) == {"url"}
    assert data["url"].startswith(f"{sim.url}/_sim/files/")
    assert data["url"].endswith(".csv")
    async with sim.session.get(data["url"]) as r:
        assert r.status == 200
        text = await r.text()
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["value", "count"]
    counts = {value: int(count) for value, count in rows[1:]}
    assert len(counts) == values
    assert all(n > 0 for n in counts.values())
    again = await sim.result("getTagStats", tag=tag, applications=[sim.app])
    assert again["url"] == data["url"]  # same content, same file


async def test_a_tag_of_many_values_is_generated_as_it_is_sent(sim: SimHarness) -> None:
    status, _ = await sim.control("POST", "faults", json={"tag_values": {"UserId": 20_000}})
    assert status == 200
    data = await sim.result("getTagStats", tag="UserId", applications=[sim.app])
    async with sim.session.get(data["url"]) as r:
        assert r.status == 200
        assert r.content_type == "text/csv"
        assert "Content-Length" not in r.headers  # sent in pieces as they are made
        text = await r.text()
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0] == ["value", "count"]
    generated = GeneratedTagFile("UserId", 20_000, sim.state.settings.seed)
    assert [(value, int(count)) for value, count in rows[1:]] == list(generated.rows())
    counts = sorted((int(count) for _, count in rows[1:]), reverse=True)
    assert counts[0] > 100 * counts[len(counts) // 2] >= 100  # a few large, most small
    assert len({value for value, _ in rows[1:]}) == 20_000
    # The simulator keeps how to make the file, not the file.
    assert list(sim.state.files.values()) == [generated]
    again = await sim.result("getTagStats", tag="UserId")
    assert again["url"] == data["url"]
    sim.state.settings.faults.tag_values = {"UserId": 10}
    assert (await sim.result("getTagStats", tag="UserId"))["url"] != data["url"]


async def test_tag_urls_use_the_public_url_when_set(sim: SimHarness) -> None:
    sim.state.settings.public_url = "https://sim.example"
    data = await sim.result("getTagStats", tag="Language")
    assert data["url"].startswith("https://sim.example/_sim/files/")


async def test_unknown_tag_file_is_404(sim: SimHarness) -> None:
    async with sim.session.get(f"{sim.url}/_sim/files/{'0' * 32}.csv") as r:
        assert r.status == 404

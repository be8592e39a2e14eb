"""getEventStatistics attribute filters, in the documented shape only: each item's
``values`` list holds alternatives, items AND together, and ``/_sim/truth`` counts any
filter the API takes, for generated and injected triggers alike."""

import calendar
import json
from datetime import datetime
from typing import Any

import pytest

from tests.simulator.simharness import NOW, SimHarness

DAY = {"date_from": "2025-11-28", "date_to": "2025-11-28"}
DAY_START = NOW - 10 * 3600


def unix(text: str) -> int:
    """``Y-m-d H:i`` (UTC) -> Unix seconds."""
    return calendar.timegm(datetime.strptime(text, "%Y-%m-%d %H:%M").timetuple())


def eq(name: str, *values: Any) -> dict[str, Any]:
    return {"name": name, "operator": "EQ", "values": list(values)}


async def hours(sim: SimHarness, *items: dict[str, Any]) -> dict[str, int]:
    """The first app's first event on 2025-11-28, filtered by ``items``: count per hour."""
    app = sim.state.world.apps[0]
    args = {"application": app.code, "event": app.events[0], **DAY}
    if items:
        args["attributes"] = list(items)
    rows = await sim.result("getEventStatistics", **args)
    return {row["date"]: row["count"] for row in rows}


def event(sim: SimHarness) -> dict[str, str]:
    app = sim.state.world.apps[0]
    return {"kind": "event", "app": app.code, "event": app.events[0]}


@pytest.mark.parametrize(
    "items",
    [
        [eq("plan", "pro")],
        [eq("plan", "pro", "business")],
        [eq("plan", "free", "pro", "business")],
        [eq("plan", "pro"), eq("source", "push")],
        [eq("source", "organic"), eq("plan", "free", "business")],
    ],
)
async def test_every_hour_of_a_filtered_day_equals_its_truth(
    sim: SimHarness, items: list[dict[str, Any]]
) -> None:
    counted = await hours(sim, *items)
    assert sum(counted.values()) > 0
    for hour, count in counted.items():
        start = unix(hour)
        truth = await sim.truth(
            **event(sim),
            after=0,
            until=NOW,
            bucket_from=start,
            bucket_before=start + 3600,
            attributes=items,
        )
        assert count == truth, hour
    whole_day = await sim.truth(
        **event(sim), after=0, until=NOW, bucket_from=DAY_START, attributes=items
    )
    assert sum(counted.values()) == whole_day


async def test_several_values_count_each_value_once_and_items_and_together(
    sim: SimHarness,
) -> None:
    everything = await hours(sim)
    plans = {p: await hours(sim, eq("plan", p)) for p in ("free", "pro", "business")}
    paid = await hours(sim, eq("plan", "pro", "business"))
    pro_push = await hours(sim, eq("plan", "pro"), eq("source", "push"))
    pro_organic = await hours(sim, eq("plan", "pro"), eq("source", "organic"))
    assert 0 < sum(plans["pro"].values()) < sum(everything.values())
    for hour, total in everything.items():
        assert sum(plans[p][hour] for p in plans) == total
        assert paid[hour] == plans["pro"][hour] + plans["business"][hour]
        assert pro_push[hour] + pro_organic[hour] == plans["pro"][hour]
    assert 0 < sum(pro_push.values()) < sum(plans["pro"].values())
    assert sum((await hours(sim, eq("plan", "pro"), eq("plan", "free"))).values()) == 0
    assert sum((await hours(sim, eq("country", "DE"))).values()) == 0


async def test_injected_triggers_carry_exactly_their_attributes(quiet_sim: SimHarness) -> None:
    sim = quiet_sim
    await sim.inject(**event(sim), count=4, attributes={"plan": "pro", "source": "push"})
    await sim.inject(**event(sim), count=6, attributes={"plan": "free"})
    await sim.inject(**event(sim), count=2, attributes={"tier": 3})
    await sim.inject(**event(sim), count=3)
    cases: list[tuple[list[dict[str, Any]], int]] = [
        ([], 15),
        ([eq("plan", "pro")], 4),
        ([eq("plan", "pro", "free")], 10),
        ([eq("source", "push")], 4),
        ([eq("plan", "free"), eq("source", "push")], 0),
        ([eq("plan", "pro"), eq("source", "push", "organic")], 4),
        ([eq("tier", 3)], 2),
        ([eq("tier", "3")], 2),
    ]
    for items, expected in cases:
        assert (await hours(sim, *items))["2025-11-28 10:00"] == expected, items
        query = {"attributes": items} if items else {}
        assert await sim.truth(**event(sim), after=0, until=NOW, **query) == expected, items


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ([{"name": "plan", "operator": "EQ", "value": "pro"}], "Invalid attributes"),
        ([{"name": "plan", "operator": "EQ", "values": "pro"}], "Invalid attributes"),
        ([{"name": "plan", "operator": "EQ", "values": []}], "Invalid attributes"),
        ([{"name": "plan", "operator": "EQ", "values": [["pro"]]}], "Invalid attributes"),
        ([{"name": "plan", "operator": "EQ", "values": [True]}], "Invalid attributes"),
        (
            [{"name": "plan", "operator": "EQ", "value": "pro", "values": ["pro"]}],
            "Invalid attributes",
        ),
        ([{"name": "plan", "values": ["pro"]}], "Invalid attributes"),
        ([{"operator": "EQ", "values": ["pro"]}], "Invalid attributes"),
        ([{"name": "", "operator": "EQ", "values": ["pro"]}], "Invalid attributes"),
        ({"name": "plan", "operator": "EQ", "values": ["pro"]}, "Invalid attributes"),
        (["plan"], "Invalid attributes"),
        (
            [{"name": "plan", "operator": "GT", "values": ["pro"]}],
            "Invalid attributes: only EQ is supported",
        ),
    ],
)
async def test_other_filter_shapes_are_refused_by_the_api_and_the_truth(
    sim: SimHarness, attributes: Any, message: str
) -> None:
    app = sim.state.world.apps[0]
    _, answer = await sim.call(
        "getEventStatistics",
        application=app.code,
        event=app.events[0],
        attributes=attributes,
        **DAY,
    )
    assert answer == {"status_code": 210, "status_message": message}
    status, text = await sim.control(
        "GET", "truth", params={**event(sim), "attributes": json.dumps(attributes)}
    )
    assert status == 400, text


async def test_truth_refuses_attributes_for_series_without_them(sim: SimHarness) -> None:
    query = {"kind": "app", "app": sim.app, "scope": "messages", "action": "send"}
    status, _ = await sim.control(
        "GET", "truth", params=query | {"attributes": json.dumps([eq("plan", "pro")])}
    )
    assert status == 400

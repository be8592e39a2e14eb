"""``POST /_sim/apps`` and ``/_sim/campaigns``: the account changes while a client runs, and
the listings, the Statistics methods, injection and the truth follow."""

from typing import Any

import pytest

from tests.simulator.simharness import NOW, SimHarness

WINDOW = {"datefrom": "2025-11-28 09:50:00", "dateto": "2025-11-28 10:00:00"}
DAY = {"date_from": "2025-11-28", "date_to": "2025-11-28"}


async def listed_apps(sim: SimHarness) -> dict[str, str]:
    """Every app getApplications lists, code to title."""
    return {code: name for p in await sim.app_pages() for code, name in p["applications"].items()}


async def listed_campaigns(sim: SimHarness, app: str) -> list[str]:
    """The codes getCampaigns lists for ``app``."""
    return [c["code"] for p in await sim.campaign_pages(app) for c in p]


async def test_an_added_app_is_listed_last_and_answers_every_method(sim: SimHarness) -> None:
    added = await sim.change("apps", {"add": {"name": "test-canary"}})
    code = added["code"]
    assert set(added) == {"code", "name", "events", "tags"}
    assert added["name"] == "test-canary"
    assert added["events"][:2] == ["PurchaseCompleted", "Login"]
    assert added["tags"] == ["Language"]
    apps = await listed_apps(sim)
    assert list(apps.items())[-1] == (code, "test-canary")
    assert len(apps) == 3
    assert (await sim.answer("getApplications"))["total"] == 2
    _, world = await sim.control("GET", "world")
    assert world["apps"][-1] == added
    stats = await sim.result("getAppStats", application=code, **WINDOW)
    assert stats["messages"]["rows"]  # generated traffic, like the first apps'
    buckets = await sim.result(
        "getEventStatistics", application=code, event=added["events"][0], **DAY
    )
    assert len(buckets) == 24
    subscribers = await sim.answer("getApplicationSubscribersStats", application=code)
    assert subscribers["devices_types"]["ANDROID"] > 0
    status, v2 = await sim.v2(
        {
            "application_code": code,
            "timestamp_from": "2025-11-28 08:00:00",
            "timestamp_to": "2025-11-28 10:00:00",
        }
    )
    assert (status, v2["application_code"]) == (200, code)
    assert await sim.answer("getCampaigns", application=code) == {"campaigns": []}


async def test_an_app_may_be_added_with_its_own_code_but_not_a_taken_one(
    sim: SimHarness,
) -> None:
    added = await sim.change("apps", {"add": {"code": "AAAAA-00001", "name": "mine"}})
    assert added["code"] == "AAAAA-00001"
    assert (await listed_apps(sim))["AAAAA-00001"] == "mine"
    unnamed = await sim.change("apps", {"add": {}})
    assert unnamed["name"] == "games"  # the default name of the fourth app, as at start
    assert unnamed["code"] not in (sim.app, "AAAAA-00001")
    for taken in (sim.app, "AAAAA-00001", sim.state.world.campaigns[0]):
        status, text = await sim.control("POST", "apps", json={"add": {"code": taken}})
        assert (status, f"code {taken} is taken" in text) == (400, True)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"add": {"name": "x"}, "remove": "X"},
        {"add": "x"},
        {"add": {"name": ""}},
        {"add": {"name": 5}},
        {"add": {"title": "x"}},
        {"remove": 5},
        {"remove": "NOPE0-00000"},
        {"rename": "x"},
        [1],
    ],
)
async def test_bad_app_changes_are_refused_and_change_nothing(sim: SimHarness, body: Any) -> None:
    before = sim.state.world.as_json()
    status, _ = await sim.control("POST", "apps", json=body)
    assert status == 400
    assert sim.state.world.as_json() == before


async def test_a_removed_app_leaves_the_listing_and_its_methods_and_campaigns_go(
    sim: SimHarness,
) -> None:
    world = sim.state.world
    gone = world.apps[0]
    campaign = next(c.code for c in world.campaign_details if c.app == gone.code)
    answer = await sim.change("apps", {"remove": gone.code})
    assert answer == {"removed": gone.code, "campaigns": [campaign]}
    assert list(await listed_apps(sim)) == [world.apps[0].code]
    assert (await sim.answer("getApplications"))["total"] == 1
    not_found = {"status_code": 210, "status_message": "Application not found"}
    for method, args in (
        ("getAppStats", WINDOW),
        ("getEventStatistics", {"event": gone.events[0], **DAY}),
        ("getApplicationSubscribersStats", {}),
        ("getCampaigns", {}),
    ):
        assert (await sim.call(method, application=gone.code, **args))[1] == not_found, method
    _, stats = await sim.call("getCampaignStats", campaign=campaign, **WINDOW)
    assert stats == {"status_code": 210, "status_message": "Campaign not found"}
    _, after = await sim.control("GET", "world")
    assert gone.code not in [a["code"] for a in after["apps"]]
    assert campaign not in after["campaigns"]
    assert campaign not in [c["code"] for c in after["campaign_details"]]
    sends = {"kind": "app", "app": gone.code, "scope": "messages", "action": "send", "count": 1}
    assert (await sim.control("POST", "inject", json=sends))[0] == 400


async def test_a_removed_app_comes_back_with_its_code(sim: SimHarness) -> None:
    gone = sim.state.world.apps[1]
    await sim.change("apps", {"remove": gone.code})
    back = await sim.change("apps", {"add": {"code": gone.code, "name": "renamed"}})
    assert back == {
        "code": gone.code,
        "name": "renamed",
        "events": list(gone.events),
        "tags": list(gone.tags),
    }
    assert (await listed_apps(sim))[gone.code] == "renamed"
    assert await listed_campaigns(sim, gone.code) == []


async def test_an_added_campaign_is_listed_last_and_has_statistics(sim: SimHarness) -> None:
    before = await listed_campaigns(sim, sim.app)
    added = await sim.change(
        "campaigns", {"add": {"app": sim.app, "name": "promo-autumn", "description": "fall"}}
    )
    assert added == {
        "code": added["code"],
        "name": "promo-autumn",
        "app": sim.app,
        "description": "fall",
    }
    assert await listed_campaigns(sim, sim.app) == [*before, added["code"]]
    listed = (await sim.answer("getCampaigns", application=sim.app))["campaigns"]
    assert listed[-1] == {"code": added["code"], "name": "promo-autumn", "description": "fall"}
    _, world = await sim.control("GET", "world")
    assert world["campaigns"][-1] == added["code"]
    assert world["campaign_details"][-1] == added
    stats = await sim.result("getCampaignStats", campaign=added["code"], **WINDOW)
    assert stats["rows"]  # generated traffic, like the first campaigns'
    other = await sim.change("campaigns", {"add": {"app": sim.app, "code": "CCCCC-00001"}})
    assert other == {
        "code": "CCCCC-00001",
        "name": "onboarding-welcome",  # the default name of the fourth campaign
        "app": sim.app,
        "description": "onboarding-welcome of shop-ios",
    }


async def test_a_removed_campaign_leaves_the_listing_and_its_statistics(
    sim: SimHarness,
) -> None:
    added = await sim.change("campaigns", {"add": {"app": sim.app, "name": "promo-gone"}})
    assert await sim.change("campaigns", {"remove": added["code"]}) == {"removed": added["code"]}
    assert added["code"] not in await listed_campaigns(sim, sim.app)
    _, stats = await sim.call("getCampaignStats", campaign=added["code"], **WINDOW)
    assert stats == {"status_code": 210, "status_message": "Campaign not found"}


@pytest.mark.parametrize(
    "body",
    [
        {"add": {"name": "x"}},
        {"add": {"app": "NOPE0-00000"}},
        {"add": {"app": "{app}", "name": ""}},
        {"add": {"app": "{app}", "description": 3}},
        {"add": {"app": "{app}", "code": "{app}"}},
        {"add": {"app": "{app}", "kind": "push"}},
        {"remove": "NOPE0-00000"},
        {"remove": "{app}"},
    ],
)
async def test_bad_campaign_changes_are_refused_and_change_nothing(
    sim: SimHarness, body: dict[str, Any]
) -> None:
    body = _with_app(body, sim.app)
    before = sim.state.world.as_json()
    status, _ = await sim.control("POST", "campaigns", json=body)
    assert status == 400
    assert sim.state.world.as_json() == before


def _with_app(value: Any, app: str) -> Any:
    """``value`` with every ``"{app}"`` replaced by this test's app code."""
    if isinstance(value, dict):
        return {k: _with_app(v, app) for k, v in value.items()}
    return app if value == "{app}" else value


async def test_injection_and_truth_work_for_an_added_app_and_campaign(
    quiet_sim: SimHarness,
) -> None:
    sim = quiet_sim
    app = (await sim.change("apps", {"add": {"name": "new-app"}}))["code"]
    campaign = (await sim.change("campaigns", {"add": {"app": app, "name": "promo-new"}}))["code"]
    sends = {"kind": "app", "app": app, "scope": "messages", "action": "send"}
    event = {"kind": "event", "app": app, "event": "Login"}
    opens = {"kind": "campaign", "campaign": campaign, "action": "open", "platform": 3}
    await sim.inject(**sends, count=3)
    await sim.inject(**event, count=4)
    await sim.inject(**opens, count=5)
    stats = await sim.result("getAppStats", application=app, **WINDOW)
    assert [r["count"] for r in stats["messages"]["rows"]] == [3]
    buckets = await sim.result("getEventStatistics", application=app, event="Login", **DAY)
    assert sum(b["count"] for b in buckets) == 4
    rows = (await sim.result("getCampaignStats", campaign=campaign, **WINDOW))["rows"]
    assert [(r["count"], r["action"], r["platformid"]) for r in rows] == [(5, "open", 3)]
    assert await sim.truth(**sends, after=NOW - 1, until=NOW) == 3
    assert await sim.truth(**event, after=NOW - 1, until=NOW) == 4
    assert await sim.truth(**opens, after=NOW - 1, until=NOW) == 5

"""getApplications, getCampaigns and listTags: the documented shapes, paging by page and by
cursor, and plans without them."""

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.simulator.simharness import SimHarness, running_harness

WINDOW = {"datefrom": "2025-11-28 09:45:00", "dateto": "2025-11-28 10:00:00"}


@pytest.fixture
async def account() -> AsyncIterator[SimHarness]:
    """5 apps (3 pages of 2) and 11 campaigns: the first app has 3, the others 2."""
    async for harness in running_harness(traffic=True, apps=5, campaigns=11):
        yield harness


@pytest.fixture
async def big_app() -> AsyncIterator[SimHarness]:
    """One app with 1,005 campaigns."""
    async for harness in running_harness(traffic=False, apps=1, campaigns=1005):
        yield harness


async def test_apps_come_in_pages_of_the_page_size_with_the_number_of_pages(
    account: SimHarness,
) -> None:
    _, first = await account.call("getApplications", page=1)
    assert set(first) == {"status_code", "status_message", "response"}
    assert (first["status_code"], first["status_message"]) == (200, "OK")
    pages = await account.app_pages()
    assert [p["page"] for p in pages] == [1, 2, 3]
    assert [p["total"] for p in pages] == [3, 3, 3]
    assert [len(p["applications"]) for p in pages] == [2, 2, 1]
    listed = [item for p in pages for item in p["applications"].items()]
    assert listed == [(a.code, a.name) for a in account.state.world.apps]


async def test_a_missing_page_is_the_first_and_a_page_past_the_end_is_empty(
    account: SimHarness,
) -> None:
    assert await account.answer("getApplications") == await account.answer(
        "getApplications", page=1
    )
    assert await account.answer("getApplications", page=None) == await account.answer(
        "getApplications", page=1
    )
    past = await account.answer("getApplications", page=4)
    assert past == {"applications": {}, "page": 4, "total": 3}
    assert (await account.answer("getApplications", page=99))["applications"] == {}


async def test_the_page_size_is_a_live_knob(account: SimHarness) -> None:
    await account.faults(apps_page_size=3)
    pages = await account.app_pages()
    assert [(len(p["applications"]), p["total"]) for p in pages] == [(3, 2), (2, 2)]
    await account.faults(apps_page_size=100)
    assert [p["total"] for p in await account.app_pages()] == [1]


@pytest.mark.parametrize("page", [0, -1, "first", 1.5, [1]])
async def test_a_page_that_is_not_a_whole_number_from_1_is_an_argument_error(
    account: SimHarness, page: Any
) -> None:
    _, answer = await account.call("getApplications", page=page)
    assert answer == {"status_code": 210, "status_message": "Invalid page"}


async def test_campaigns_come_by_cursor_in_a_stable_order_until_an_empty_page(
    account: SimHarness,
) -> None:
    app = account.state.world.apps[0].code
    mine = [c for c in account.state.world.campaign_details if c.app == app]
    assert len(mine) == 3
    pages = await account.campaign_pages(app, limit=2)
    assert [len(p) for p in pages] == [2, 1, 0]
    listed = [c for p in pages for c in p]
    assert listed == [{"code": c.code, "name": c.name, "description": c.description} for c in mine]
    assert await account.campaign_pages(app, limit=2) == pages
    assert await account.campaign_pages(app) == [listed, []]


async def test_the_page_cap_answers_fewer_than_the_limit_asks(account: SimHarness) -> None:
    app = account.state.world.apps[0].code
    everything = [c for p in await account.campaign_pages(app) for c in p]
    await account.faults(campaigns_page_cap=2)
    pages = await account.campaign_pages(app, limit=100)
    assert [len(p) for p in pages] == [2, 1, 0]
    assert [c for p in pages for c in p] == everything
    assert [len(p) for p in await account.campaign_pages(app, limit=1)] == [1, 1, 1, 0]


async def test_an_app_without_campaigns_lists_an_empty_page(account: SimHarness) -> None:
    await account.change("apps", {"add": {"name": "empty-app"}})
    empty = account.state.world.apps[-1].code
    assert await account.answer("getCampaigns", application=empty) == {"campaigns": []}


async def test_the_limit_defaults_to_100_and_is_at_most_1000(big_app: SimHarness) -> None:
    app = big_app.app
    assert len((await big_app.answer("getCampaigns", application=app))["campaigns"]) == 100
    most = (await big_app.answer("getCampaigns", application=app, limit=5000))["campaigns"]
    assert len(most) == 1000
    cursor = most[-1]["code"]
    rest = await big_app.answer("getCampaigns", application=app, cursor=cursor, limit=5000)
    assert len(rest["campaigns"]) == 5
    assert len({c["code"] for c in most + rest["campaigns"]}) == 1005


@pytest.mark.parametrize("limit", [0, -3, "many", 2.5])
async def test_a_limit_that_is_not_a_whole_number_from_1_is_an_argument_error(
    account: SimHarness, limit: Any
) -> None:
    _, answer = await account.call("getCampaigns", application=account.app, limit=limit)
    assert answer == {"status_code": 210, "status_message": "Invalid limit"}


async def test_a_cursor_that_is_not_a_campaign_of_the_app_is_an_argument_error(
    account: SimHarness,
) -> None:
    world = account.state.world
    other = next(c.code for c in world.campaign_details if c.app != account.app)
    for cursor in ("NOPE0-00000", other, 17):
        _, answer = await account.call("getCampaigns", application=account.app, cursor=cursor)
        assert answer == {"status_code": 210, "status_message": "Invalid cursor"}, cursor


async def test_a_removed_campaign_still_works_as_a_cursor(account: SimHarness) -> None:
    first, second, third = (await account.campaign_pages(account.app, limit=1))[:3]
    await account.change("campaigns", {"remove": first[0]["code"]})
    after = await account.answer("getCampaigns", application=account.app, cursor=first[0]["code"])
    assert after["campaigns"] == second + third
    assert (await account.answer("getCampaigns", application=account.app))["campaigns"] == (
        second + third
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "API token or application is not set"),
        ({"application": ""}, "API token or application is not set"),
        ({"application": "NOPE0-00000"}, "Application not found"),
    ],
)
async def test_campaigns_of_a_missing_or_unknown_app_are_an_argument_error(
    account: SimHarness, args: dict[str, str], message: str
) -> None:
    _, answer = await account.call("getCampaigns", **args)
    assert answer == {"status_code": 210, "status_message": message}


async def test_list_tags_names_the_apps_and_account_tags_with_their_type_codes(
    account: SimHarness,
) -> None:
    assert await account.answer("listTags") == {
        "tags": [{"name": "Language", "type": 2}, {"name": "Country", "type": 2}]
    }


async def test_listing_answers_at_once_and_is_logged_without_the_token(
    account: SimHarness,
) -> None:
    await account.answer("getApplications", page=2)
    await account.answer("getCampaigns", application=account.app, limit=1)
    await account.answer("listTags")
    _, log = await account.control("GET", "requests")
    assert [(e["method"], e["status_code"], e["request_id"]) for e in log] == [
        ("getApplications", 200, None),
        ("getCampaigns", 200, None),
        ("listTags", 200, None),
    ]
    assert [e["args"] for e in log] == [{"page": 2}, {"application": account.app, "limit": 1}, {}]


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (403, "Token restrictions forbid this operation"),
        (210, "Access denied: the method is not available on your plan"),
    ],
)
async def test_a_plan_without_listing_refuses_the_three_methods_but_not_statistics(
    account: SimHarness, code: int, message: str
) -> None:
    await account.faults(forbid_listing=code)
    refused = {"status_code": code, "status_message": message}
    for method, args in (
        ("getApplications", {"page": 1}),
        ("getCampaigns", {"application": account.app}),
        ("listTags", {}),
    ):
        assert await account.call(method, **args) == (200, refused), method
    data = await account.result("getAppStats", application=account.app, **WINDOW)
    assert set(data) == {"applications", "devices", "messages"}
    assert "devices_types" in await account.answer(
        "getApplicationSubscribersStats", application=account.app
    )
    await account.faults(null_response=True)
    assert (await account.call("listTags"))[1] == refused | {"response": None}
    await account.faults(forbid_listing=None)
    assert len((await account.answer("getApplications"))["applications"]) == 2


async def test_a_wrong_token_is_refused_before_the_plan_is_looked_at(
    account: SimHarness,
) -> None:
    await account.faults(forbid_listing=403)
    _, answer = await account.call("listTags", token="wrong")
    assert answer == {"status_code": 210, "status_message": "Account not found"}

"""What the token can list: apps page by page, an app's campaigns by cursor, the tags.

All three answer at once (no getResults) and may be missing from a plan
(``faults.forbid_listing``). Shapes::

    getApplications {auth, page?}  -> {"applications": {"CODE": "title", ...},
                                       "page": <page>, "total": <number of pages>}
    getCampaigns {auth, application, cursor?, limit?}
                                   -> {"campaigns": [{"code", "name", "description"}, ...]}
    listTags {auth}                -> {"tags": [{"name": "Language", "type": 2}, ...]}

A page past the end lists no apps and the same ``total``. Campaigns come in a stable order
(oldest first), after the one whose code is ``cursor``; an empty list ends the listing.
"""

from typing import Any

from aiohttp import web

from exporter.simulator.api import Refusal
from exporter.simulator.state import SimulatorState
from exporter.simulator.world import STRING_TAG, TAG_TYPES

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
"""getCampaigns answers at most this many campaigns, whatever ``limit`` asks."""


def _whole_number(value: Any) -> int | None:
    """An int, or the digits of one as a string (PHP-style services accept both); None
    otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


async def applications(
    state: SimulatorState, args: dict[str, Any], request: web.Request, now: float
) -> Any:
    """getApplications: one page of ``faults.apps_page_size`` apps, code to title."""
    page = 1 if args.get("page") is None else _whole_number(args["page"])
    if page is None or page < 1:
        raise Refusal(210, "Invalid page")
    size = state.settings.faults.apps_page_size
    world = state.world
    listed = world.app_page(page, size)
    return {
        "applications": {app.code: app.name for app in listed},
        "page": page,
        "total": world.page_count(size),
    }


async def campaigns(
    state: SimulatorState, args: dict[str, Any], request: web.Request, now: float
) -> Any:
    """getCampaigns: at most ``limit`` (default 100, at most 1000, at most
    ``faults.campaigns_page_cap``) campaigns of the app, after ``cursor``."""
    cursor = args.get("cursor") or None
    if cursor is not None and not isinstance(cursor, str):
        raise Refusal(210, "Invalid cursor")
    limit = DEFAULT_LIMIT if args.get("limit") is None else _whole_number(args["limit"])
    if limit is None or limit < 1:
        raise Refusal(210, "Invalid limit")
    cap = state.settings.faults.campaigns_page_cap
    count = min(limit, MAX_LIMIT, cap if cap is not None else MAX_LIMIT)
    try:
        found = state.world.campaign_page(str(args["application"]), cursor, count)
    except KeyError:
        raise Refusal(210, "Invalid cursor") from None
    return {
        "campaigns": [{"code": c.code, "name": c.name, "description": c.description} for c in found]
    }


async def tags(
    state: SimulatorState, args: dict[str, Any], request: web.Request, now: float
) -> Any:
    """listTags: every tag of the account with its type code (see ``TAG_TYPES``)."""
    return {"tags": [{"name": t, "type": TAG_TYPES.get(t, STRING_TAG)} for t in state.world.tags()]}


LISTING_METHODS = {
    "getApplications": applications,
    "getCampaigns": campaigns,
    "listTags": tags,
}

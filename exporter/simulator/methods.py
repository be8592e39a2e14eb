"""The Statistics methods: arguments in, the method's result out (see docs/api.md)."""

import hashlib
from typing import Any

from aiohttp import web

from exporter.simulator import results
from exporter.simulator.api import (
    STATE,
    Refusal,
    apply_faults,
    maybe_wrong_shape,
)
from exporter.simulator.state import SimulatorState


def _period(
    args: dict[str, Any], start_key: str, end_key: str, date_only: bool = False
) -> tuple[float, float]:
    start = results.parse_date(args.get(start_key), date_only=date_only)
    end = results.parse_date(args.get(end_key), date_only=date_only, end_of_day=True)
    if end < start:
        raise results.BadDate(args.get(end_key))
    return start, end


async def app_stats(
    state: SimulatorState, args: dict[str, Any], request: web.Request, now: float
) -> Any:
    """getAppStats."""
    start, end = _period(args, "datefrom", "dateto")
    strings = state.settings.faults.string_counts
    return results.app_stats(state.traffic, args["application"], start, end, now, strings)


async def campaign_stats(
    state: SimulatorState, args: dict[str, Any], request: web.Request, now: float
) -> Any:
    """getCampaignStats."""
    campaign = args.get("campaign")
    if campaign not in state.world.campaigns:
        raise Refusal(210, "Campaign not found")
    start, end = _period(args, "datefrom", "dateto")
    strings = state.settings.faults.string_counts
    return results.campaign_stats(state.traffic, campaign, start, end, now, strings)


def _message(state: SimulatorState, args: dict[str, Any]) -> str:
    code = args.get("message")
    if code not in state.world.messages:
        raise Refusal(210, "Message not found")
    return str(code)


async def msg_stats(
    state: SimulatorState, args: dict[str, Any], request: web.Request, now: float
) -> Any:
    """getMsgStats."""
    code = _message(state, args)
    created = state.message_created(code)
    strings = state.settings.faults.string_counts
    return results.message_stats(state.traffic, code, created, now, None, strings)


async def msg_platforms_stats(
    state: SimulatorState, args: dict[str, Any], request: web.Request, now: float
) -> Any:
    """getMsgPlatformsStats."""
    code = _message(state, args)
    platforms = args.get("platforms")
    if not isinstance(platforms, list) or not all(isinstance(p, int) for p in platforms):
        raise Refusal(210, "Invalid platforms")
    created = state.message_created(code)
    strings = state.settings.faults.string_counts
    return results.message_stats(state.traffic, code, created, now, platforms, strings)


def plan_filter(attributes: Any) -> str | None:
    """The plan an attribute filter selects (None: no filter); refuses what we do not model."""
    if attributes in (None, []):
        return None
    if not isinstance(attributes, list):
        raise Refusal(210, "Invalid attributes")
    plan = None
    for item in attributes:
        if not isinstance(item, dict) or item.get("operator", "EQ") != "EQ":
            raise Refusal(210, "Invalid attributes: only EQ is supported")
        plan = str(item.get("value")) if item.get("name") == "plan" else "none"
    return plan


async def event_statistics(
    state: SimulatorState, args: dict[str, Any], request: web.Request, now: float
) -> Any:
    """getEventStatistics."""
    app = state.world.app(args["application"])
    event = args.get("event")
    if app is None or event not in app.events:
        raise Refusal(210, "Event not found")
    start, end = _period(args, "date_from", "date_to", date_only=True)
    plan = plan_filter(args.get("attributes"))
    return results.event_stats(
        state.traffic, ("event", app.code, str(event)), start, end, now, plan
    )


async def tag_stats(
    state: SimulatorState, args: dict[str, Any], request: web.Request, now: float
) -> Any:
    """getTagStats: the CSV is served by the simulator itself."""
    tag = args.get("tag")
    if not isinstance(tag, str) or not tag:
        raise Refusal(210, "Tag not found")
    for code in args.get("applications") or []:
        if state.world.app(str(code)) is None:
            raise Refusal(210, "Application not found")
        if code in state.settings.faults.forbidden_apps:
            raise Refusal(403, "Token restrictions forbid this operation")
    lines = ["value;count", *(f"{v};{n}" for v, n in results.tag_values(tag, state.settings.seed))]
    content = "\n".join(lines) + "\n"
    # Named by content: asking again reuses the file, so a long demo keeps a bounded set.
    name = hashlib.sha256(content.encode()).hexdigest()[:32]
    state.files[name] = content
    base = state.settings.public_url or f"{request.scheme}://{request.host}"
    return {"url": f"{base}/_sim/files/{name}.csv"}


async def subscribers(
    state: SimulatorState, args: dict[str, Any], request: web.Request, now: float
) -> Any:
    """getApplicationSubscribersStats (synchronous)."""
    return results.subscribers_v1(state.traffic, args["application"], now)


async def subscribers_v2(request: web.Request) -> web.Response:
    """v2 getSubscribersStatistics: plain HTTP statuses, ``Authorization: Key <token>``."""
    state: SimulatorState = request.app[STATE]
    method = "getSubscribersStatistics"
    try:
        args = await request.json()
        if not isinstance(args, dict):
            raise TypeError
    except (ValueError, TypeError):
        return _v2_error(state, method, {}, 400, "Request body must be a JSON object")
    refused = await apply_faults(state, method, args, v2=True)
    if refused is not None:
        return refused
    if request.headers.get("Authorization") != f"Key {state.settings.token}":
        return _v2_error(state, method, args, 401, "Authentication failed")
    code = args.get("application_code")
    if state.world.app(str(code)) is None:
        return _v2_error(state, method, args, 404, "Application not found")
    if code in state.settings.faults.forbidden_apps:
        return _v2_error(state, method, args, 403, "Access denied")
    try:
        start = results.parse_date(args.get("timestamp_from"))
        end = results.parse_date(args.get("timestamp_to"))
    except results.BadDate:
        return _v2_error(
            state, method, args, 400, "timestamp_from and timestamp_to must be YYYY-MM-DD hh:mm:ss"
        )
    if end < start or end - start > 3 * 365 * 86400:
        return _v2_error(state, method, args, 400, "Invalid period")
    now = state.now()
    state.log(method, args, 200, None, None, at=now)
    data = results.subscribers_v2(state.traffic, str(code), start, end, now)
    return web.json_response(maybe_wrong_shape(state, data))


def _v2_error(
    state: SimulatorState, method: str, args: dict[str, Any], status: int, message: str
) -> web.Response:
    state.log(method, args, status, None, None)
    return web.json_response({"code": status, "message": message}, status=status)


V1_METHODS = {
    "getAppStats": app_stats,
    "getCampaignStats": campaign_stats,
    "getMsgStats": msg_stats,
    "getMsgPlatformsStats": msg_platforms_stats,
    "getEventStatistics": event_statistics,
    "getTagStats": tag_stats,
    "getApplicationSubscribersStats": subscribers,
}

"""The Statistics methods: arguments in, the method's result out."""

import hashlib
from typing import Any

from aiohttp import web

from exporter.simulator import audience, results
from exporter.simulator.api import (
    STATE,
    Refusal,
    apply_faults,
    maybe_wrong_shape,
)
from exporter.simulator.attributes import BadFilter, Filter, parse_filter
from exporter.simulator.periods import DATE, DATETIME, BadDate, parse_local
from exporter.simulator.results import Period, Shape
from exporter.simulator.state import SimulatorState


def _period(args: dict[str, Any], start_key: str, end_key: str, fmt: str = DATETIME) -> Period:
    """The period of a request in local seconds; BadDate unless both ends are in ``fmt``
    and the end is not before the start."""
    start = parse_local(args.get(start_key), fmt)
    end = parse_local(args.get(end_key), fmt)
    if end < start:
        raise BadDate(args.get(end_key))
    return Period(start, end)


async def app_stats(
    state: SimulatorState, args: dict[str, Any], request: web.Request, now: float
) -> Any:
    """getAppStats."""
    period = _period(args, "datefrom", "dateto")
    shape = Shape.of(state.settings.faults)
    return results.app_stats(state.traffic, args["application"], period, now, shape)


async def campaign_stats(
    state: SimulatorState, args: dict[str, Any], request: web.Request, now: float
) -> Any:
    """getCampaignStats."""
    campaign = args.get("campaign")
    if not isinstance(campaign, str) or state.world.campaign(campaign) is None:
        raise Refusal(210, "Campaign not found")
    period = _period(args, "datefrom", "dateto")
    shape = Shape.of(state.settings.faults)
    return results.campaign_stats(state.traffic, campaign, period, now, shape)


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
    shape = Shape.of(state.settings.faults)
    return results.message_stats(state.traffic, code, created, now, None, shape)


async def msg_platforms_stats(
    state: SimulatorState, args: dict[str, Any], request: web.Request, now: float
) -> Any:
    """getMsgPlatformsStats."""
    code = _message(state, args)
    platforms = args.get("platforms")
    if not isinstance(platforms, list) or not all(isinstance(p, int) for p in platforms):
        raise Refusal(210, "Invalid platforms")
    created = state.message_created(code)
    shape = Shape.of(state.settings.faults)
    return results.message_stats(state.traffic, code, created, now, platforms, shape)


def event_filter(attributes: Any) -> Filter | None:
    """The attribute filter of a getEventStatistics request; 210 for any other shape."""
    try:
        return parse_filter(attributes)
    except BadFilter as exc:
        raise Refusal(210, str(exc)) from None


async def event_statistics(
    state: SimulatorState, args: dict[str, Any], request: web.Request, now: float
) -> Any:
    """getEventStatistics: whole days (``date_from``/``date_to`` are ``Y-m-d``: a time of
    day cannot be parsed), 24 hourly buckets each."""
    app = state.world.app(args["application"])
    event = args.get("event")
    if app is None or event not in app.events:
        raise Refusal(210, "Event not found")
    days = _period(args, "date_from", "date_to", DATE)
    wanted = event_filter(args.get("attributes"))
    shape = Shape.of(state.settings.faults)
    key = ("event", app.code, str(event))
    return results.event_stats(state.traffic, key, days, now, shape, wanted)


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
    seed = state.settings.seed
    generated = state.settings.faults.tag_values.get(tag)
    content: str | audience.GeneratedTagFile
    if generated is not None:
        content = audience.GeneratedTagFile(tag, generated, seed)
        named = f"{tag}\0{generated}\0{seed}"
    else:
        lines = ["value;count", *(f"{v};{n}" for v, n in audience.tag_values(tag, seed))]
        content = named = "\n".join(lines) + "\n"
    # Named by content: asking again reuses the file, so a long demo keeps a bounded set.
    name = hashlib.sha256(named.encode()).hexdigest()[:32]
    state.files[name] = content
    base = state.settings.public_url or f"{request.scheme}://{request.host}"
    return {"url": f"{base}/_sim/files/{name}.csv"}


async def subscribers(
    state: SimulatorState, args: dict[str, Any], request: web.Request, now: float
) -> Any:
    """getApplicationSubscribersStats (synchronous)."""
    return audience.subscribers_v1(state.traffic, args["application"], now)


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
        start = parse_local(args.get("timestamp_from"))
        end = parse_local(args.get("timestamp_to"))
    except BadDate:
        return _v2_error(
            state, method, args, 400, "timestamp_from and timestamp_to must be YYYY-MM-DD hh:mm:ss"
        )
    if end < start or end - start > 3 * 365 * 86400:
        return _v2_error(state, method, args, 400, "Invalid period")
    now = state.now()
    state.log(method, args, 200, None, None, at=now)
    data = audience.subscribers_v2(state.traffic, str(code), start, end, now)
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

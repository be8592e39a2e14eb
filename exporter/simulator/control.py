"""``/_sim/*``: the test's side door: the world, injection, ground truth, faults, the log."""

import dataclasses
import json
from typing import Any

from aiohttp import web

from exporter.simulator import results
from exporter.simulator.api import STATE, SimulatorState
from exporter.simulator.methods import plan_filter
from exporter.simulator.traffic import MESSAGE_PLATFORMS, Key


def _state(request: web.Request) -> SimulatorState:
    return request.app[STATE]


async def world(request: web.Request) -> web.Response:
    """``GET /_sim/world``: apps (code, name, events, tags), campaigns, messages, tags."""
    return web.json_response(_state(request).world.as_json())


def series_key(query: Any) -> Key:
    """The series a request names: kind=app|event|campaign|message and its fields."""
    kind = query.get("kind")
    if kind == "app":
        return ("app", query["app"], query["scope"], query["action"])
    if kind == "event":
        return ("event", query["app"], query["event"])
    if kind == "campaign":
        return ("campaign", query["campaign"], query["action"], str(int(query["platform"])))
    if kind == "message":
        return ("message", query["message"], query["action"], str(int(query.get("platform", 3))))
    raise KeyError("kind")


async def inject(request: web.Request) -> web.Response:
    """``POST /_sim/inject``: add ``count`` events to a series, recorded now, in ``bucket``
    (``Y-m-d H:i:s``, default the current minute; an old bucket makes them late)."""
    state = _state(request)
    body = await request.json()
    now = state.now()
    try:
        key = series_key(body)
        count = int(body["count"])
        bucket = results.parse_date(body["bucket"]) if body.get("bucket") else now
    except (KeyError, TypeError, ValueError) as exc:
        raise web.HTTPBadRequest(text=f"bad injection: {exc!r}") from None
    pro = (body.get("attributes") or {}).get("plan") == "pro"
    state.traffic.inject(key, int(bucket), now, count, pro)
    return web.json_response({"recorded_at": now, "bucket": int(bucket) // 60 * 60})


async def truth(request: web.Request) -> web.Response:
    """``GET /_sim/truth``: events recorded in (after, until] in buckets >= bucket_from;
    for kind=message the lifetime total at ``until`` (all platforms unless one is given)."""
    state = _state(request)
    query = request.query
    try:
        until = float(query.get("until", state.now()))
        if query.get("kind") == "message":
            code = query["message"]
            created = state.message_created(code)
            platforms = [int(query["platform"])] if "platform" in query else list(MESSAGE_PLATFORMS)
            total = sum(
                state.traffic.message_total(code, query["action"], p, created, until)
                for p in platforms
            )
            return web.json_response({"count": total})
        key = series_key(query)
        plan = None
        if "attributes" in query:
            plan = plan_filter(json.loads(query["attributes"]))
        count = state.traffic.truth(
            key, float(query.get("after", 0)), until, float(query.get("bucket_from", 0)), plan
        )
    except (KeyError, ValueError) as exc:
        raise web.HTTPBadRequest(text=f"bad truth query: {exc!r}") from None
    return web.json_response({"count": count})


async def subscribers(request: web.Request) -> web.Response:
    """``GET /_sim/subscribers?app=CODE``: current subscribers by device type."""
    state = _state(request)
    return web.json_response(
        results.subscribers_v1(state.traffic, request.query["app"], state.now())
    )


async def requests(request: web.Request) -> web.Response:
    """``GET /_sim/requests``: every API call so far."""
    return web.json_response(_state(request).requests)


async def clear_requests(request: web.Request) -> web.Response:
    """``POST /_sim/requests/clear``."""
    _state(request).requests.clear()
    return web.json_response({"cleared": True})


async def faults(request: web.Request) -> web.Response:
    """``POST /_sim/faults``: change some fault knobs; answers with all of them."""
    state = _state(request)
    current = state.settings.faults
    names = {f.name for f in dataclasses.fields(current)}
    body = await request.json() if request.can_read_body else {}
    unknown = set(body) - names
    if unknown:
        raise web.HTTPBadRequest(text=f"unknown fault knobs: {sorted(unknown)}")
    for name, value in body.items():
        setattr(current, name, value)
    if current.hang:
        state.unhang.clear()
    else:
        state.unhang.set()
    return web.json_response(dataclasses.asdict(current))


async def tag_file(request: web.Request) -> web.Response:
    """``GET /_sim/files/<id>.csv``: a tag's CSV (no auth, as the real download link)."""
    content = _state(request).files.get(request.match_info["name"])
    if content is None:
        raise web.HTTPNotFound()
    return web.Response(text=content, content_type="text/csv")

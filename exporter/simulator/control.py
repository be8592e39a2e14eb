"""``/_sim/*``: the test's side door: the world, injection, ground truth, faults, the log.

No auth, JSON in and out, never touched by the fault knobs, always in UTC whatever
``faults.timezone`` says. A series is named by ``kind``: ``app`` (app, scope, action),
``event`` (app, event), ``campaign`` (campaign, action, platform) or ``message`` (message,
action[, platform, default 3]). Bad requests answer 400 with a text reason.

Attributes of event triggers. ``POST /_sim/inject`` takes ``"attributes": {"plan": "pro"}``
(names to strings or numbers; kind=event only) and the injected triggers carry exactly
those. ``GET /_sim/truth`` takes ``attributes`` as the JSON text of a getEventStatistics
filter, the very list the API takes, e.g.
``attributes=[{"name": "plan", "operator": "EQ", "values": ["pro", "business"]}]``:
several values of one item are alternatives, several items must all hold, and what the API
refuses (the old ``"value"`` key, other operators) the truth refuses with 400.

Changing the account while a client runs:

- ``POST /_sim/apps`` ``{"add": {"name"?: "shop-new", "code"?: "ABCDE-12345"}}`` adds an app
  (a fresh code unless one is given; a default name unless one is given) with events, tags
  and traffic like the first ones', and answers its ``/_sim/world`` entry
  ``{"code", "name", "events", "tags"}``. The code of a removed app brings that app back.
  ``{"remove": "CODE"}`` removes an app and its campaigns and answers
  ``{"removed": "CODE", "campaigns": [codes removed with it]}``: it leaves getApplications,
  and its methods answer 210 "Application not found".
- ``POST /_sim/campaigns`` ``{"add": {"app": "CODE", "name"?: ..., "code"?: ...,
  "description"?: ...}}`` adds a campaign last in its app's listing and answers its
  ``campaign_details`` entry ``{"code", "name", "app", "description"}``; ``{"remove":
  "CODE"}`` removes one (answers ``{"removed": "CODE"}``): it leaves getCampaigns (its code
  still works as a cursor) and getCampaignStats answers 210 "Campaign not found".

Added apps and campaigns inject and have a truth like the others.

The truth of the rows of one answer: a row counts its whole bucket (see :mod:`results`), so
``bucket_from=<bucket start>&bucket_before=<next bucket start>`` (Unix seconds) with
``after=0&until=<job time>`` is that row's count.
"""

import dataclasses
import json
from typing import Any

from aiohttp import web

from exporter.platforms import PLATFORM_NAMES
from exporter.simulator import audience, results
from exporter.simulator.api import STATE
from exporter.simulator.attributes import BadFilter, parse_filter, parse_trigger_attributes
from exporter.simulator.periods import FORCED_FORMATTERS, parse_local, zone_info
from exporter.simulator.settings import Faults
from exporter.simulator.state import SimulatorState
from exporter.simulator.traffic import Key


def _state(request: web.Request) -> SimulatorState:
    return request.app[STATE]


async def world(request: web.Request) -> web.Response:
    """``GET /_sim/world``: apps (code, name, events, tags), campaigns (codes), messages,
    tags (account-wide), campaign_details (code, name, app, description)."""
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


def check_series(state: SimulatorState, key: Key) -> None:
    """Refuse (KeyError) a series the API would never report, so a typo cannot pass
    silently."""
    world = state.world
    kind, code = key[0], key[1]
    app = world.app(code)
    if kind == "app" and (app is None or key[3] not in results.APP_SCOPES.get(key[2], ())):
        raise KeyError(f"no such app series: {key[1:]}")
    if kind == "event" and (app is None or key[2] not in app.events):
        raise KeyError(f"no such event: {key[1:]}")
    if kind in ("campaign", "message"):
        known = world.campaign(code) if kind == "campaign" else code in world.messages
        if not known or key[2] not in results.MESSAGE_ACTIONS:
            raise KeyError(f"no such {kind} series: {key[1:]}")
        if int(key[3]) not in PLATFORM_NAMES:
            raise KeyError(f"no such platform: {key[3]}")


def _change(body: Any) -> tuple[str, Any]:
    """("add", fields) or ("remove", code) from a change body; ValueError otherwise."""
    if not isinstance(body, dict) or len(body) != 1 or not ({"add", "remove"} & set(body)):
        raise ValueError('expected {"add": {...}} or {"remove": "CODE"}')
    verb, value = next(iter(body.items()))
    if verb == "add" and not isinstance(value, dict):
        raise ValueError('"add" takes an object')
    if verb == "remove" and not isinstance(value, str):
        raise ValueError('"remove" takes a code')
    return verb, value


def _fields(given: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    unknown = set(given) - allowed
    if unknown:
        raise ValueError(f"unknown fields: {sorted(unknown)}")
    return given


async def _json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="expected a JSON body") from None


async def apps(request: web.Request) -> web.Response:
    """``POST /_sim/apps``: add or remove an app (see the module docstring)."""
    state = _state(request)
    try:
        verb, value = _change(await _json_body(request))
        if verb == "remove":
            if state.world.app(value) is None:
                raise ValueError(f"no such app: {value!r}")
            gone = state.remove_app(value)
            return web.json_response({"removed": value, "campaigns": gone})
        fields = _fields(value, {"name", "code"})
        app = state.add_app(fields.get("name"), fields.get("code"))
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"bad app change: {exc}") from None
    entry = {"code": app.code, "name": app.name, "events": list(app.events), "tags": list(app.tags)}
    return web.json_response(entry)


async def campaigns(request: web.Request) -> web.Response:
    """``POST /_sim/campaigns``: add or remove a campaign (see the module docstring)."""
    state = _state(request)
    try:
        verb, value = _change(await _json_body(request))
        if verb == "remove":
            if state.world.campaign(value) is None:
                raise ValueError(f"no such campaign: {value!r}")
            state.remove_campaign(value)
            return web.json_response({"removed": value})
        fields = _fields(value, {"app", "name", "code", "description"})
        if not isinstance(fields.get("app"), str):
            raise ValueError('"add" needs "app": the code of an app')
        campaign = state.add_campaign(
            fields["app"], fields.get("name"), fields.get("code"), fields.get("description")
        )
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"bad campaign change: {exc}") from None
    return web.json_response(
        {
            "code": campaign.code,
            "name": campaign.name,
            "app": campaign.app,
            "description": campaign.description,
        }
    )


async def inject(request: web.Request) -> web.Response:
    """``POST /_sim/inject``: add ``count`` events to a series, recorded now, in ``bucket``
    (``Y-m-d H:i:s`` UTC or Unix seconds, default the current minute; an old bucket makes
    them late); event triggers carry ``attributes`` if given."""
    state = _state(request)
    body = await request.json()
    now = state.now()
    try:
        key = series_key(body)
        check_series(state, key)
        count = int(body["count"])
        if count < 0:
            raise ValueError("count must not be negative")
        bucket = _moment(body["bucket"]) if body.get("bucket") else now
        attributes = parse_trigger_attributes(body.get("attributes"))
        if "attributes" in body and key[0] != "event":
            raise ValueError("only event triggers carry attributes")
    except (KeyError, TypeError, ValueError) as exc:
        raise web.HTTPBadRequest(text=f"bad injection: {exc!r}") from None
    recorded_at = state.inject(key, count, bucket, attributes)
    return web.json_response({"recorded_at": recorded_at, "bucket": int(bucket) // 60 * 60})


def _moment(value: Any) -> float:
    """Unix seconds, or a ``Y-m-d H:i:s`` UTC text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return float(parse_local(value))


async def truth(request: web.Request) -> web.Response:
    """``GET /_sim/truth``: events recorded in (after, until] in minute buckets starting in
    [bucket_from, bucket_before) (Unix seconds; default every bucket), event triggers
    narrowed by ``attributes`` (see the module docstring); for kind=message the lifetime
    total at ``until`` (all platforms unless one is given)."""
    state = _state(request)
    query = request.query
    try:
        until = float(query.get("until", state.now()))
        if query.get("kind") == "message":
            if query["message"] not in state.world.messages:
                raise KeyError(f"no such message: {query['message']}")
            platform = int(query["platform"]) if "platform" in query else None
            total = state.message_truth(query["message"], query["action"], until, platform)
            return web.json_response({"count": total})
        key = series_key(query)
        wanted = None
        if "attributes" in query:
            if key[0] != "event":
                raise ValueError("only event triggers carry attributes")
            wanted = parse_filter(json.loads(query["attributes"]))
        count = state.truth(
            key,
            float(query.get("after", 0)),
            until,
            float(query.get("bucket_from", 0)),
            wanted,
            float(query.get("bucket_before", "inf")),
        )
    except (KeyError, ValueError, BadFilter) as exc:
        raise web.HTTPBadRequest(text=f"bad truth query: {exc!r}") from None
    return web.json_response({"count": count})


async def subscribers(request: web.Request) -> web.Response:
    """``GET /_sim/subscribers?app=CODE``: current subscribers by device type."""
    state = _state(request)
    app = request.query.get("app", "")
    if state.world.app(app) is None:
        raise web.HTTPBadRequest(text=f"no such app: {app!r}")
    return web.json_response(audience.subscribers_v1(state.traffic, app, state.now()))


async def requests(request: web.Request) -> web.Response:
    """``GET /_sim/requests``: every API call the log holds (the newest 100,000).

    ``?since=N`` reads it in parts: ``{"first": F, "next": M, "calls": [...]}``, the calls
    numbered ``F`` to ``M - 1`` (counting from 0 at start or at the last clear). ``F`` is
    ``N`` unless the log dropped calls before they were read; ``M`` is the next ``since``.
    """
    state = _state(request)
    since = request.query.get("since")
    if since is None:
        return web.json_response(state.requests)
    if not since.isdigit():
        raise web.HTTPBadRequest(text=f"since must be a whole number (got {since!r})")
    held_from = state.logged - len(state.requests)
    first = min(max(int(since), held_from), state.logged)
    return web.json_response(
        {"first": first, "next": state.logged, "calls": state.requests[first - held_from :]}
    )


async def clear_requests(request: web.Request) -> web.Response:
    """``POST /_sim/requests/clear``."""
    state = _state(request)
    state.requests.clear()
    state.logged = 0
    return web.json_response({"cleared": True})


def _knob_value(current: Faults, name: str, value: Any) -> Any:
    """``value`` if it fits the type of knob ``name``; ValueError otherwise."""
    if name == "apps_page_size":
        if not _whole(value, minimum=1):
            raise ValueError(f"bad value for {name}: {value!r} (a whole number, at least 1)")
        return value
    if name == "campaigns_page_cap":
        if value is not None and not _whole(value, minimum=1):
            raise ValueError(f"bad value for {name}: {value!r} (null or at least 1)")
        return value
    if name == "forbid_listing":
        if value not in (None, 210, 403) or isinstance(value, bool):
            raise ValueError(f"bad value for {name}: {value!r} (null, 210 or 403)")
        return value
    if name == "forbidden_apps":
        fits = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif name == "tag_values":
        fits = isinstance(value, dict) and all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in value.values()
        )
    elif name in ("app_formatter", "campaign_formatter"):
        fits = value is None or value in FORCED_FORMATTERS
    elif name == "timezone":
        fits = isinstance(value, str) and bool(value)
        if fits:
            zone_info(value)  # ValueError naming the zone when there is none
    elif name == "request_id_prefix":
        fits = isinstance(value, str)
    elif isinstance(getattr(current, name), bool):
        fits = isinstance(value, bool)
    elif value is None:
        fits = name == "retry_after"
    else:
        fits = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    if not fits:
        raise ValueError(f"bad value for {name}: {value!r}")
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _whole(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


async def faults(request: web.Request) -> web.Response:
    """``POST /_sim/faults``: change some fault knobs (a JSON object of them); answers
    with all of them. Unknown knobs and values of the wrong type change nothing (400)."""
    state = _state(request)
    current = state.settings.faults
    names = {f.name for f in dataclasses.fields(current)}
    try:
        body = await request.json() if request.can_read_body else {}
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object")
        unknown = set(body) - names
        if unknown:
            raise ValueError(f"unknown fault knobs: {sorted(unknown)}")
        values = {name: _knob_value(current, name, value) for name, value in body.items()}
    except ValueError as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    for name, value in values.items():
        setattr(current, name, value)
    if current.hang:
        state.unhang.clear()
    else:
        state.unhang.set()
    return web.json_response(dataclasses.asdict(current))


async def tag_file(request: web.Request) -> web.StreamResponse:
    """``GET /_sim/files/<id>.csv``: a tag's CSV (no auth, as the real download link); a
    generated one (``faults.tag_values``) is made piece by piece as it is sent, each piece
    waiting until the client has taken the last."""
    content = _state(request).files.get(request.match_info["name"])
    if content is None:
        raise web.HTTPNotFound()
    if isinstance(content, str):
        return web.Response(text=content, content_type="text/csv")
    response = web.StreamResponse(headers={"Content-Type": "text/csv; charset=utf-8"})
    await response.prepare(request)
    for piece in content.pieces():
        await response.write(piece)
    await response.write_eof()
    return response

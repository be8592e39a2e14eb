"""The simulated Statistics API over HTTP: envelopes, auth, jobs, getResults, faults.

Every v1 JSON answer carries ``Content-Type: application/json; charset=utf8``, as the real
service's do. A 210 or 403 answer has no ``response`` key unless ``faults.null_response``.
"""

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from exporter.simulator.periods import BadDate
from exporter.simulator.state import JOB_LIFETIME, SimulatorState

SCHEDULED = (
    "getAppStats",
    "getCampaignStats",
    "getMsgStats",
    "getMsgPlatformsStats",
    "getEventStatistics",
    "getTagStats",
)
LISTING = ("getApplications", "getCampaigns", "listTags")
"""Methods some plans lack: ``faults.forbid_listing`` refuses them."""
FORBIDDEN_LISTING = {
    403: "Token restrictions forbid this operation",
    210: "Access denied: the method is not available on your plan",
}
"""The answer of a listing method on a plan without it, by status_code."""
NEEDS_APP = (
    "getAppStats",
    "getEventStatistics",
    "getApplicationSubscribersStats",
    "getCampaigns",
)
"""Methods whose ``application`` must name an app that exists."""
HANG_POLL = 0.05
"""Seconds between looks at ``faults.hang`` while a call is held."""
V1_CONTENT_TYPE = "application/json; charset=utf8"
"""What real v1 answers carry: note ``utf8``, not the registered name ``utf-8``."""


class Refusal(Exception):
    """An API error answer: HTTP status, JSON status_code and message."""

    def __init__(self, status_code: int, message: str, http: int = 200) -> None:
        super().__init__(message)
        self.status_code, self.message, self.http = status_code, message, http


def v1_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """A v1 JSON answer, with the real service's content type."""
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={"Content-Type": V1_CONTENT_TYPE, **(headers or {})},
    )


def envelope(status_code: int, message: str, response: Any, http: int = 200) -> web.Response:
    """The JSON 1.3 envelope."""
    return v1_json(
        {"status_code": status_code, "status_message": message, "response": response}, status=http
    )


def refusal(state: SimulatorState, status_code: int, message: str, http: int = 200) -> web.Response:
    """A 210 or 403 envelope: without ``response`` as seen, or with ``"response": null``
    when ``faults.null_response``."""
    body: dict[str, Any] = {"status_code": status_code, "status_message": message}
    if state.settings.faults.null_response:
        body["response"] = None
    return v1_json(body, status=http)


async def wait_while_hung(state: SimulatorState) -> None:
    """Hold an API call while ``faults.hang`` is on (set through ``/_sim/faults`` or
    directly on the state), or until the simulator closes."""
    while state.settings.faults.hang and not state.closing:
        state.unhang.clear()
        # Polled as well as signalled: tests may flip the knob on the object itself.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.unhang.wait(), HANG_POLL)


async def apply_faults(
    state: SimulatorState, method: str, args: dict[str, Any], v2: bool = False
) -> web.Response | None:
    """Latency, hangs and drawn failures; None when the call goes through.

    One draw per call decides: error_rate (HTTP 500), json500_rate (HTTP 200 with
    status_code 500; on v2, which has no status_code, HTTP 500 too), rate_limit_rate
    (HTTP 429), malformed_rate (HTTP 200, not JSON), in that order of the unit interval.
    """
    faults = state.settings.faults
    await wait_while_hung(state)
    if faults.latency > 0:
        await asyncio.sleep(faults.latency)
    draw = state.rng.random()
    answers: tuple[tuple[float, Callable[[], tuple[web.Response, int | None]]], ...] = (
        (faults.error_rate, lambda: _server_error(v2, http_200=False)),
        (faults.json500_rate, lambda: _server_error(v2, http_200=not v2)),
        (faults.rate_limit_rate, lambda: (_too_many(faults.retry_after, v2), None if v2 else 429)),
        (
            faults.malformed_rate,
            lambda: (
                web.Response(
                    status=200, text="<html>upstream error</html>", content_type="text/html"
                ),
                None,
            ),
        ),
    )
    edge = 0.0
    for rate, answer in answers:
        edge += rate
        if draw < edge:
            response, status_code = answer()
            state.log(method, args, response.status, status_code, None)
            return response
    return None


def _server_error(v2: bool, http_200: bool) -> tuple[web.Response, int | None]:
    if v2:
        return web.json_response({"code": 500, "message": "Internal error"}, status=500), None
    return envelope(500, "Internal error", None, http=200 if http_200 else 500), 500


def _too_many(retry_after: float | None, v2: bool) -> web.Response:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    if v2:
        body = {"code": 429, "message": "Too many requests"}
        return web.json_response(body, status=429, headers=headers)
    body = {"status_code": 429, "status_message": "Too many requests", "response": None}
    return v1_json(body, status=429, headers=headers)


Handler = Callable[[SimulatorState, dict[str, Any], web.Request, float], Awaitable[Any]]


def v1_route(
    state: SimulatorState, method: str, compute: Handler
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A JSON 1.3 method: wrapper, auth, faults, then a job or the data itself."""

    async def handle(request: web.Request) -> web.Response:
        try:
            body = await request.json()
            args = body["request"]
            if not isinstance(args, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            state.log(method, {}, 400, None, None)
            return web.Response(status=400, text='Bad request: expected {"request": {...}}')
        refused = await apply_faults(state, method, args)
        if refused is not None:
            return refused
        try:
            check_auth(state, args, method)
            moment = state.now()  # the answer and the log share one instant: exact truths
            data = await compute(state, args, request, moment)
        except Refusal as exc:
            state.log(method, args, exc.http, exc.status_code, None)
            return refusal(state, exc.status_code, exc.message, http=exc.http)
        except BadDate:
            state.log(method, args, 200, 210, None)
            return refusal(state, 210, "Cannot parse date")
        if method in SCHEDULED:
            request_id = state.add_job(method, moment, data)
            state.log(method, args, 200, 200, request_id, at=moment)
            return envelope(200, "OK", {"request_id": request_id})
        state.log(method, args, 200, 200, None, at=moment)
        return envelope(200, "OK", maybe_wrong_shape(state, data))

    return handle


def maybe_wrong_shape(state: SimulatorState, data: Any) -> Any:
    """``data``, or with probability ``faults.wrong_shape_rate`` a JSON value of the wrong
    shape for any method."""
    if state.rng.random() < state.settings.faults.wrong_shape_rate:
        return {"unexpected": [1, 2, 3]}
    return data


def check_auth(state: SimulatorState, args: dict[str, Any], method: str) -> None:
    """The token, the plan (``faults.forbid_listing``), and the application when the
    method names one."""
    token = args.get("auth")
    needs_app = method in NEEDS_APP
    if not token or (needs_app and not args.get("application")):
        raise Refusal(210, "API token or application is not set")
    if token != state.settings.token:
        raise Refusal(210, "Account not found")
    forbid = state.settings.faults.forbid_listing
    if forbid is not None and method in LISTING:
        raise Refusal(forbid, FORBIDDEN_LISTING.get(forbid, FORBIDDEN_LISTING[403]))
    app = args.get("application")
    if needs_app and state.world.app(str(app)) is None:
        raise Refusal(210, "Application not found")
    if app in state.settings.faults.forbidden_apps:
        raise Refusal(403, "Token restrictions forbid this operation")


async def get_results(request: web.Request) -> web.Response:
    """``/getResults``: 420 while pending, then the job's result; 210 for unknown ids."""
    state: SimulatorState = request.app[STATE]
    try:
        args = (await request.json())["request"]
        request_id = str(args["request_id"])
    except (ValueError, KeyError, TypeError):
        state.log("getResults", {}, 400, None, None)
        return web.Response(status=400, text="Bad request")
    refused = await apply_faults(state, "getResults", args)
    if refused is not None:
        return refused
    try:
        check_auth(state, args, "getResults")
    except Refusal as exc:
        state.log("getResults", args, exc.http, exc.status_code, None)
        return refusal(state, exc.status_code, exc.message, http=exc.http)
    now = state.now()
    job = state.jobs.get(request_id)
    if job is None or now > job.created + JOB_LIFETIME:
        state.log("getResults", args, 200, 210, None)
        return refusal(state, 210, "Request not found")
    if state.settings.faults.stuck_results or now < job.ready_at:
        state.log("getResults", args, 200, 420, None)
        return envelope(420, "Request is still being processed", None)
    state.log("getResults", args, 200, 200, None)
    data = maybe_wrong_shape(state, job.result)
    if job.legacy:
        return v1_json({"error": {"code": 0, "message": "OK"}, "json_data": data})
    return envelope(200, "OK", data)


STATE: web.AppKey[SimulatorState] = web.AppKey("simulator_state", SimulatorState)

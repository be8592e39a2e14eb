"""The simulated Statistics API over HTTP: envelopes, auth, jobs, getResults, faults."""

import asyncio
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from exporter.simulator import results
from exporter.simulator.settings import SimulatorSettings
from exporter.simulator.traffic import HOUR, Traffic
from exporter.simulator.world import World, build_world

SCHEDULED = (
    "getAppStats",
    "getCampaignStats",
    "getMsgStats",
    "getMsgPlatformsStats",
    "getEventStatistics",
    "getTagStats",
)
JOB_LIFETIME = 3600.0


class Refusal(Exception):
    """An API error answer: HTTP status, JSON status_code and message."""

    def __init__(self, status_code: int, message: str, http: int = 200) -> None:
        super().__init__(message)
        self.status_code, self.message, self.http = status_code, message, http


@dataclass
class Job:
    """A scheduled request: its result was computed when it was created."""

    method: str
    created: float
    ready_at: float
    result: Any
    legacy: bool = False


@dataclass
class SimulatorState:
    """Everything the simulator knows; tests in-process may read and change it directly."""

    settings: SimulatorSettings
    world: World = field(init=False)
    traffic: Traffic = field(init=False)
    started: float = field(init=False)
    jobs: dict[str, Job] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    unhang: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        s = self.settings
        self.world = build_world(s.seed, s.apps)
        self.started = s.clock()
        scales = {a.code: a.scale for a in self.world.apps} | {c: 1.0 for c in self.world.campaigns}
        self.traffic = Traffic(s.seed, self.started - s.history, s.traffic, scales)
        self.random = random.Random(s.seed)
        if not s.faults.hang:
            self.unhang.set()

    def now(self) -> float:
        """The simulator's clock."""
        return self.settings.clock()

    def message_created(self, code: str) -> int:
        """When a message was sent: two hours before the hour the simulator started, and
        one hour earlier for each following message."""
        index = self.world.messages.index(code)
        return int(self.started) // HOUR * HOUR - 2 * HOUR - index * HOUR

    def log(
        self,
        method: str,
        args: dict[str, Any],
        http: int,
        status_code: int | None,
        request_id: str | None,
        at: float | None = None,
    ) -> None:
        """Append one API call to the request log; ``at`` is when its answer was computed."""
        self.requests.append(
            {
                "time": self.now() if at is None else at,
                "method": method,
                "args": {k: v for k, v in args.items() if k != "auth"},
                "http_status": http,
                "status_code": status_code,
                "request_id": request_id,
            }
        )


def envelope(status_code: int, message: str, response: Any, http: int = 200) -> web.Response:
    """The JSON 1.3 envelope."""
    return web.json_response(
        {"status_code": status_code, "status_message": message, "response": response}, status=http
    )


async def apply_faults(
    state: SimulatorState, method: str, args: dict[str, Any]
) -> web.Response | None:
    """Latency, hangs and drawn failures; None when the call goes through."""
    faults = state.settings.faults
    await state.unhang.wait()
    if faults.latency > 0:
        await asyncio.sleep(faults.latency)
    draw = state.random.random()
    edge = 0.0
    answers: tuple[tuple[float, Callable[[], web.Response]], ...] = (
        (faults.error_rate, lambda: envelope(500, "Internal error", None, http=500)),
        (faults.json500_rate, lambda: envelope(500, "Internal error", None)),
        (faults.rate_limit_rate, lambda: _too_many(faults.retry_after)),
        (
            faults.malformed_rate,
            lambda: web.Response(
                status=200, text="<html>upstream error</html>", content_type="text/html"
            ),
        ),
    )
    for rate, answer in answers:
        edge += rate
        if draw < edge:
            response = answer()
            state.log(method, args, response.status, None, None)
            return response
    return None


def _too_many(retry_after: float | None) -> web.Response:
    headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
    return web.json_response(
        {"status_code": 429, "status_message": "Too many requests", "response": None},
        status=429,
        headers=headers,
    )


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
            return envelope(exc.status_code, exc.message, None, http=exc.http)
        except results.BadDate:
            state.log(method, args, 200, 210, None)
            return envelope(210, "Cannot parse date", None)
        if method in SCHEDULED:
            request_id = secrets.token_hex(16)
            faults = state.settings.faults
            pending = state.random.uniform(
                faults.pending_min, max(faults.pending_min, faults.pending_max)
            )
            state.jobs[request_id] = Job(
                method,
                moment,
                moment + pending,
                data,
                legacy=faults.legacy_envelope and method == "getAppStats",
            )
            state.log(method, args, 200, 200, request_id, at=moment)
            return envelope(200, "OK", {"request_id": request_id})
        state.log(method, args, 200, 200, None, at=moment)
        return envelope(200, "OK", _maybe_wrong(state, data))

    return handle


def _maybe_wrong(state: SimulatorState, data: Any) -> Any:
    if state.random.random() < state.settings.faults.wrong_shape_rate:
        return {"unexpected": [1, 2, 3]}
    return data


def check_auth(state: SimulatorState, args: dict[str, Any], method: str) -> None:
    """The token, and the application when the method names one."""
    token = args.get("auth")
    needs_app = method in ("getAppStats", "getEventStatistics", "getApplicationSubscribersStats")
    if not token or (needs_app and not args.get("application")):
        raise Refusal(210, "API token or application is not set")
    if token != state.settings.token:
        raise Refusal(210, "Account not found")
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
    if args.get("auth") != state.settings.token:
        state.log("getResults", args, 200, 210, None)
        return envelope(210, "Account not found", None)
    now = state.now()
    job = state.jobs.get(request_id)
    if job is None or now > job.created + JOB_LIFETIME:
        state.log("getResults", args, 200, 210, None)
        return envelope(210, "Request not found", None)
    if state.settings.faults.stuck_results or now < job.ready_at:
        state.log("getResults", args, 200, 420, None)
        return envelope(420, "Request is still being processed", None)
    state.log("getResults", args, 200, 200, None)
    data = _maybe_wrong(state, job.result)
    if job.legacy:
        return web.json_response({"error": {"code": 0, "message": "OK"}, "json_data": data})
    return envelope(200, "OK", data)


STATE: web.AppKey[SimulatorState] = web.AppKey("simulator_state", SimulatorState)

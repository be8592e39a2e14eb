"""The simulator's state: the world, the traffic model, jobs, the request log, and the
ground truth that in-process tests read directly (the ``/_sim`` endpoints serve the same)."""

import asyncio
import logging
import math
import random
import secrets
from dataclasses import dataclass, field
from typing import Any

from exporter.simulator.attributes import Attributes, Filter
from exporter.simulator.audience import GeneratedTagFile
from exporter.simulator.settings import SimulatorSettings
from exporter.simulator.traffic import HOUR, MESSAGE_PLATFORMS, Key, Traffic
from exporter.simulator.world import App, Campaign, World, build_world

LOG = logging.getLogger("exporter.simulator")
JOB_LIFETIME = 3600.0
"""Seconds a job's result stays readable."""
LOG_LIMIT = 100_000
"""The request log keeps the newest entries up to this many (a long demo stays bounded)."""


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
    logged: int = 0
    """API calls logged since start (or the last clear of the log), including those the log
    has dropped since: ``requests[i]`` is call number ``logged - len(requests) + i``."""
    files: dict[str, "str | GeneratedTagFile"] = field(default_factory=dict)
    """Tag files by name: the CSV text, or how to generate it as it is sent."""
    unhang: asyncio.Event = field(default_factory=asyncio.Event)
    """Set to wake calls held by ``faults.hang``."""
    closing: bool = False
    """The simulator is shutting down: held calls are released."""
    rng: random.Random = field(init=False)
    """Fault draws and pending times: seeded, so a run is repeatable given its call order."""

    def __post_init__(self) -> None:
        s = self.settings
        self.world = build_world(s.seed, s.apps, s.events, s.campaigns)
        self.started = s.clock()
        scales = {a.code: a.scale for a in self.world.apps} | {c: 1.0 for c in self.world.campaigns}
        self.traffic = Traffic(s.seed, self.started - s.history, s.traffic, scales)
        self.rng = random.Random(s.seed)
        if not s.faults.hang:
            self.unhang.set()

    def add_job(self, method: str, created: float, result: Any) -> str:
        """Schedule a job whose ``result`` is already known; returns its request id.

        Its pending time is drawn from [pending_min, pending_max]; expired jobs are dropped.
        """
        faults = self.settings.faults
        expired = [k for k, job in self.jobs.items() if created > job.created + JOB_LIFETIME]
        for request_id in expired:
            del self.jobs[request_id]
        pending = self.rng.uniform(faults.pending_min, max(faults.pending_min, faults.pending_max))
        request_id = faults.request_id_prefix + secrets.token_hex(16)
        legacy = faults.legacy_envelope and method == "getAppStats"
        self.jobs[request_id] = Job(method, created, created + pending, result, legacy)
        return request_id

    def add_app(self, name: str | None = None, code: str | None = None) -> App:
        """A new app (see :meth:`World.add_app`) whose traffic is generated like the others'
        (as if it had existed since the traffic's origin); ValueError for a taken code."""
        app = self.world.add_app(name, code)
        self.traffic.scales[app.code] = app.scale
        return app

    def remove_app(self, code: str) -> list[str]:
        """Remove an app and its campaigns (their codes are returned); KeyError if none."""
        return self.world.remove_app(code)

    def add_campaign(
        self,
        app: str,
        name: str | None = None,
        code: str | None = None,
        description: str | None = None,
    ) -> Campaign:
        """A new campaign of ``app``, with traffic like the others'; ValueError for an
        unknown app or a taken code."""
        campaign = self.world.add_campaign(app, name, code, description)
        self.traffic.scales[campaign.code] = 1.0
        return campaign

    def remove_campaign(self, code: str) -> Campaign:
        """Remove a campaign; KeyError if there is none."""
        return self.world.remove_campaign(code)

    def now(self) -> float:
        """The simulator's clock."""
        return self.settings.clock()

    def message_created(self, code: str) -> int:
        """When a message was sent: two hours before the hour the simulator started, and
        one hour earlier for each following message."""
        index = self.world.messages.index(code)
        return int(self.started) // HOUR * HOUR - 2 * HOUR - index * HOUR

    def inject(
        self, key: Key, count: int, bucket: float | None = None, attributes: Attributes = ()
    ) -> float:
        """Record ``count`` events of series ``key`` now, in the minute ``bucket`` (Unix
        seconds; default the current minute), event triggers carrying ``attributes``;
        returns the recording time."""
        now = self.now()
        self.traffic.inject(key, int(now if bucket is None else bucket), now, count, attributes)
        return now

    def truth(
        self,
        key: Key,
        after: float,
        until: float,
        bucket_from: float = 0.0,
        wanted: Filter | None = None,
        bucket_before: float = math.inf,
    ) -> int:
        """Events of series ``key`` recorded in (after, until] in minute buckets starting in
        [bucket_from, bucket_before): what counting from a job created at ``after`` to one
        created at ``until`` must add. ``wanted`` narrows event triggers by attributes."""
        return self.traffic.truth(key, after, until, bucket_from, wanted, bucket_before)

    def message_truth(
        self, code: str, action: str, until: float, platform: int | None = None
    ) -> int:
        """A message's lifetime count of ``action`` at ``until``, on one platform or all."""
        created = self.message_created(code)
        platforms = (
            [platform]
            if platform is not None
            else self.traffic.platforms_of("message", code, tuple(MESSAGE_PLATFORMS))
        )
        return sum(self.traffic.message_total(code, action, p, created, until) for p in platforms)

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
        LOG.debug("api_call method=%s http_status=%s status_code=%s", method, http, status_code)
        if len(self.requests) >= LOG_LIMIT:
            del self.requests[: LOG_LIMIT // 10]
        self.logged += 1
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

"""The soak: the exporter for a long while against a faulty simulator, then every counter
against the simulator's ground truth.

``python -m bench.soak [--minutes 20]`` (``make soak`` runs the full 20 minutes; a short run
such as ``--minutes 3`` goes through the same steps and checks, only with less time between
them). Everything runs on loopback: the simulator (``pushwoosh-simulator``, 50 apps, its
generated traffic) and the exporter (``pushwoosh-exporter`` exactly as users start it, with
``--state.file``) are child processes of this one; the simulator lives through the whole run,
the exporter is killed and started again. Children get SIGKILL if this process dies, and the
run has a hard stop.

What happens, in order:

1. The exporter starts with 40 of the 50 apps (app stats, v1 subscribers, every event, a tag
   on a few), 9 campaigns, both messages (one with platforms) and the account-wide tag,
   every target polled every ``--interval`` (20 s; 10 s in runs under 10 minutes). No
   faults until every target is up: the first poll of each target is its baseline.
2. Faults go on: 9% of API calls answer HTTP 500, HTTP 200 with status_code 500, 429 with
   ``Retry-After: 1`` or an HTML body, drawn by the simulator; on top of that every 75 s
   (a sixth of a short run) all calls hang for 5 s (``hang``), longer than the exporter's
   3 s ``request_timeout``, so the calls in flight time out.
3. Three reloads (SIGHUP, ``POST /-/reload``, SIGHUP), each after rewriting the config file:
   3 or 4 apps and a campaign added, 2 apps and a campaign removed; and three SIGKILLs, each
   followed by a start with the same state file. Reloads and kills alternate, early in the
   run, so that the last exporter process lives long enough to watch its memory.
4. Near the end the faults go off; once every counter target has succeeded after that, the
   results are frozen (the simulator's ``stuck_results``: no job result is delivered any
   more), the exposition is read and compared with the truth, and the exporter gets SIGTERM.

Why the simulator's own traffic and not injected events: generated traffic has what injected
events would have to imitate, on hundreds of series at once: events in every minute, late
parts arriving 2 to 8 minutes after their bucket, campaign bursts. Its truth
(``GET /_sim/truth``) says how many events were recorded between two instants in which
buckets, which is exactly what an exact comparison needs.

How the comparison stays exact through faults, restarts and reloads. A counter's value at
the end is what the exporter added from its target's baseline job to the last job whose
result it applied (docs/counting.md). Both ends are read from the simulator's request log,
which has every job's creation time and whether its result was delivered (``getResults``
answered 200):

- the baseline is the target's first delivered job: for the targets of the first config and
  for the targets a reload adds (they are new to the exporter, whose rule 4 baseline is their
  first good poll). The faults are off while these baselines are taken, because a hung
  ``getResults`` is answered after the exporter gave up on it, and the log would show a
  result the exporter never saw; a kill waits until every counter target is in the state
  file, so no restart takes a second baseline;
- the last one is the target's last delivered job before the freeze; the freeze comes after
  every target has succeeded with the faults off, so it is a clean poll that was applied;
- in between, faults and restarts may lose polls but not events: a failed poll changes
  nothing and the next one reads the whole window again, a restart continues from the state
  file and reads back to its watermark.

So a bucketed counter must equal the events recorded after the baseline job up to the last
job, plus the events recorded before the baseline job in buckets after its window (they were
not in the baseline's answer), minus those recorded before the last job in buckets after its
window (not in that answer yet). Message counters are lifetime totals: the truth at the last
job. Apps and campaigns removed by a reload are checked to be gone from the exposition.

Besides the counts: every scrape (every 10 s, and around each kill) checks that no data
counter ever goes down, across restarts too; the last exporter process's RSS (VmRSS) must
grow less than 10% from 5 minutes into its life (half its life in a short run) to the end;
the exporter's logs must show no ``poll_crashed``, ``discovery_crashed``, traceback or
"Task exception was never retrieved", and neither the logs nor the state file the API token;
each exporter process must exit as we ended it (-9 after SIGKILL, 0 after SIGTERM).

The markdown table goes to stdout; the exit code is 1 when a check fails, and then the
working directory (configs, state file, logs) is kept and named.
"""

import argparse
import asyncio
import contextlib
import ctypes
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bench.proc import rss_kib
from exporter.families import APP_STATS_FAMILIES, CAMPAIGN_FAMILIES, MESSAGE_FAMILIES
from exporter.platforms import PLATFORM_NAMES

EVENT_TRIGGERS = "pushwoosh_event_triggers_total"
DATA_COUNTERS = frozenset(
    [f.name for f in APP_STATS_FAMILIES.values()]
    + [f.name for f in CAMPAIGN_FAMILIES.values()]
    + [f.name for f in MESSAGE_FAMILIES.values()]
    + [EVENT_TRIGGERS]
)
"""The counters of Pushwoosh data: what must never go down and must equal the truth."""

DRAWN_FAULTS = {
    "error_rate": 0.03,
    "json500_rate": 0.01,
    "rate_limit_rate": 0.03,
    "malformed_rate": 0.02,
    "retry_after": 1,
}
"""Fractions of API calls the simulator fails (HTTP 500, status_code 500 in an HTTP 200,
429 with Retry-After 1 s, an HTML body). ``wrong_shape_rate`` stays off: its garbage comes
inside a 200 envelope that the request log cannot tell from a delivered result."""
NO_FAULTS = {name: 0 for name in DRAWN_FAULTS if name != "retry_after"} | {"hang": False}
HANG_SECONDS = 5.0
HANG_EVERY = 75.0
"""Seconds between hangs (a sixth of the run in a short run)."""
REQUEST_TIMEOUT = 3.0
"""The exporter's ``request_timeout``: shorter than a hang, so hung calls time out."""
MONITOR_EVERY = 10.0
RSS_GROWTH_LIMIT = 0.10
WARMUP = 300.0
"""RSS is compared from this long into the last exporter process's life (at most half)."""
DOWNTIME = 3.0
"""Seconds between a SIGKILL and the next start."""
APPS = 50
REMOVED_PER_RELOAD = 2
RELOADS = 3
ADDED_APPS = 10
"""Apps of the simulator kept out of the first config, added by the reloads."""
CAMPAIGNS = 12
LOG_PATTERNS = (
    "poll_crashed",
    "discovery_crashed",
    "Traceback",
    "Task exception was never retrieved",
    "Exception in callback",
    "Error handling request",
)
"""What in an exporter log means a task died with an exception nobody handled."""

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


class SoakFailed(Exception):
    """The run cannot go on (a process died, a wait timed out)."""


def labels(**pairs: str) -> tuple[tuple[str, str], ...]:
    """A series' labels as the samples dict keys them."""
    return tuple(sorted(pairs.items()))


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when this process dies, so no child outlives a
    soak that was killed itself (Linux ``PR_SET_PDEATHSIG``)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)


def parse_samples(text: str) -> Samples:
    """Every sample of an exposition, by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


class Child:
    """A child process with its output in a log file."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict[str, str]) -> None:
        self.name, self.argv, self.log, self.env = name, argv, log, env
        self.process: asyncio.subprocess.Process | None = None
        self.started = 0.0

    async def start(self) -> None:
        """Start it; its stdout and stderr go to the log file."""
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                preexec_fn=_die_with_parent,
            )
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        """Its process id."""
        assert self.process is not None
        return self.process.pid

    @property
    def returncode(self) -> int | None:
        """None while it runs."""
        return None if self.process is None else self.process.returncode

    async def end(self, sig: signal.Signals, within: float = 15.0) -> int | None:
        """Send ``sig`` and reap it; SIGKILL if it is still there after ``within`` s.
        Returns the exit code (negative: the signal that ended it)."""
        if self.process is None:
            return None
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)
            try:
                await asyncio.wait_for(self.process.wait(), within)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        return self.process.returncode


@dataclass(frozen=True)
class Stage:
    """What one config file polls: indices into the simulator's apps and campaigns."""

    apps: tuple[int, ...]
    campaigns: tuple[int, ...]


class Plan:
    """The first config and the three reloads, built from the simulator's world.

    Removed apps and campaigns never come back, and added ones were never polled before,
    so each target has one baseline in the whole run.
    """

    def __init__(self, world: dict[str, Any], api_url: str, interval: float) -> None:
        self.world, self.api_url, self.interval = world, api_url, interval
        apps, campaigns = len(world["apps"]), len(world["campaigns"])
        first_apps = apps - ADDED_APPS
        first_campaigns = campaigns - RELOADS
        if first_apps < REMOVED_PER_RELOAD * RELOADS or first_campaigns < RELOADS:
            raise ValueError("the world is too small for the plan")
        added = [list(range(first_apps, apps))[i::RELOADS] for i in range(RELOADS)]
        stage = Stage(tuple(range(first_apps)), tuple(range(first_campaigns)))
        self.stages = [stage]
        for r in range(RELOADS):
            gone = set(range(r * REMOVED_PER_RELOAD, (r + 1) * REMOVED_PER_RELOAD))
            stage = Stage(
                tuple(sorted({*stage.apps, *added[r]} - gone)),
                tuple(sorted({*stage.campaigns, first_campaigns + r} - {r})),
            )
            self.stages.append(stage)

    def app(self, i: int) -> dict[str, Any]:
        """The world's entry of app ``i``: code, name, events, tags."""
        return dict(self.world["apps"][i])

    def campaign(self, i: int) -> str:
        """The code of campaign ``i``."""
        return str(self.world["campaigns"][i])

    def document(self, stage: Stage) -> dict[str, Any]:
        """The config file of ``stage``."""
        applications = []
        for i in stage.apps:
            app = self.app(i)
            entry: dict[str, Any] = {
                "code": app["code"],
                "name": app["name"],
                "subscribers": "v1",
                "events": [{"name": e} for e in app["events"]],
            }
            if i % 10 == 7:  # a few app tags: getTagStats plus the CSV download
                entry["tags"] = [{"name": app["tags"][0], "max_values": 5}]
            applications.append(entry)
        messages = self.world["messages"]
        return {
            "pushwoosh": {
                "api_url": self.api_url,
                "request_timeout": f"{REQUEST_TIMEOUT:g}s",
                "results_timeout": "30s",
                "max_concurrent_requests": 8,
                "max_requests_per_minute": 3000,
            },
            "collection": {"interval": f"{self.interval:g}s", "lookback": "15m"},
            "applications": applications,
            "campaigns": [
                {"code": self.campaign(i), "name": f"campaign-{i}"} for i in stage.campaigns
            ],
            "messages": [{"code": messages[0]}, {"code": messages[1], "platforms": [1, 3]}],
            "tags": [{"name": self.world["tags"][0], "max_values": 10}],
        }

    def counter_targets(self, stage: Stage) -> set[tuple[str, str]]:
        """(collector, target) of every target with counters."""
        found = set()
        for i in stage.apps:
            app = self.app(i)
            found.add(("app_stats", app["code"]))
            found.update(("events", f"{app['code']}/{e}") for e in app["events"])
        found.update(("campaign", self.campaign(i)) for i in stage.campaigns)
        found.update(("message", m) for m in self.world["messages"])
        return found

    def targets(self, stage: Stage) -> set[tuple[str, str]]:
        """(collector, target) of every target, gauges included."""
        found = self.counter_targets(stage)
        for i in stage.apps:
            app = self.app(i)
            found.add(("subscribers", app["code"]))
            if i % 10 == 7:
                found.add(("tag", f"{app['code']}/{app['tags'][0]}"))
        found.add(("tag", self.world["tags"][0]))
        return found


class RequestLog:
    """The simulator's request log, fetched now and then and merged.

    The simulator keeps its newest 100,000 calls; fetching before that many more arrive
    keeps every call, and a fetch whose oldest entry is unknown says calls were lost.
    """

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self._seen: set[str] = set()

    def merge(self, fetched: list[dict[str, Any]]) -> None:
        """Add the entries not seen yet; SoakFailed when some were dropped unseen."""
        keys = [json.dumps(e, sort_keys=True) for e in fetched]
        if self._seen and keys and keys[0] not in self._seen:
            raise SoakFailed("the simulator's request log dropped calls before they were read")
        for key, entry in zip(keys, fetched, strict=True):
            if key not in self._seen:
                self._seen.add(key)
                self.entries.append(entry)

    def delivered(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """Jobs whose result was delivered, oldest first, by (collector, target)."""
        done = {
            e["args"].get("request_id")
            for e in self.entries
            if e["method"] == "getResults" and e["status_code"] == 200
        }
        jobs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for e in self.entries:
            if e.get("request_id") not in done or e["request_id"] is None:
                continue
            key = job_target(e)
            if key is not None:
                jobs.setdefault(key, []).append(e)
        for found in jobs.values():
            found.sort(key=lambda e: float(e["time"]))
        return jobs


def job_target(entry: dict[str, Any]) -> tuple[str, str] | None:
    """The (collector, target) a scheduled call belongs to."""
    method, args = entry["method"], entry["args"]
    if method == "getAppStats":
        return ("app_stats", str(args["application"]))
    if method == "getEventStatistics":
        return ("events", f"{args['application']}/{args['event']}")
    if method == "getCampaignStats":
        return ("campaign", str(args["campaign"]))
    if method in ("getMsgStats", "getMsgPlatformsStats"):
        return ("message", str(args["message"]))
    return None


def fault_kind(entry: dict[str, Any]) -> str | None:
    """Which drawn fault answered a call, from its log entry (None: no fault). Every
    method here answers v1 envelopes, where a 200 without status_code is the HTML body."""
    http, code = entry["http_status"], entry["status_code"]
    if http == 500:
        return "http_500"
    if http == 429:
        return "429"
    if http == 200 and code == 500:
        return "json_500"
    if http == 200 and code is None and entry["method"] != "getSubscribersStatistics":
        return "html_body"
    return None


def past_window(entry: dict[str, Any]) -> int:
    """Start of the first bucket after a job's window: events recorded before the job in
    later buckets are not in its answer. getEventStatistics asks for whole days and the
    exporter keeps the hours up to its poll, the job's time; the others end at ``dateto``."""
    args = entry["args"]
    if "date_to" in args:
        return int(float(entry["time"])) // 3600 * 3600 + 3600
    end = datetime.strptime(args["dateto"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(end.timestamp()) // 60 * 60 + 60


@dataclass
class Exporter:
    """One exporter process and what was read from it."""

    child: Child
    port: int
    ended_by: str = ""
    exit_code: int | None = None
    last_self_metrics: Samples = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Report:
    """What was measured, for the table and the verdict."""

    started: float = 0.0
    ended: float = 0.0
    apps: int = 0
    targets_first: int = 0
    targets_last: int = 0
    targets_ever: int = 0
    calls: int = 0
    calls_faulty: int = 0
    """Calls while faults were on."""
    faulty_seconds: float = 0.0
    faults: Counter[str] = field(default_factory=Counter)
    """Drawn fault answers (all while faults were on), by kind."""
    timeouts: float = 0.0
    exporter_failures: Counter[str] = field(default_factory=Counter)
    hangs: int = 0
    kills: list[int | None] = field(default_factory=list)
    reloads: list[str] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    compared: int = 0
    nonzero: int = 0
    mismatches: list[str] = field(default_factory=list)
    decreases: list[str] = field(default_factory=list)
    frozen_moved: list[str] = field(default_factory=list)
    revisions_down: float = 0.0
    rss_ref: tuple[float, int] | None = None
    rss_end: tuple[float, int] | None = None
    log_hits: Counter[str] = field(default_factory=Counter)
    token_leaks: list[str] = field(default_factory=list)
    exit_codes: list[tuple[str, int | None]] = field(default_factory=list)
    aborted: str = ""

    @property
    def rss_growth(self) -> float | None:
        """RSS growth of the last process from the reference to the end, as a fraction."""
        if self.rss_ref is None or self.rss_end is None:
            return None
        return (self.rss_end[1] - self.rss_ref[1]) / self.rss_ref[1]

    @property
    def bad_exits(self) -> list[str]:
        """Exporter processes that did not exit as they were ended."""
        expected = {"SIGKILL": -signal.SIGKILL, "SIGTERM": 0}
        return [
            f"{how}: {code}" for how, code in self.exit_codes if expected.get(how, math.nan) != code
        ]

    def failures(self) -> list[str]:
        """One line per failed check."""
        found = []
        if self.aborted:
            found.append(f"aborted: {self.aborted}")
        if self.mismatches:
            found.append(f"{len(self.mismatches)} counters differ from the truth")
        if not self.aborted and self.compared == 0:
            found.append("no counter was compared")
        if self.decreases:
            found.append(f"{len(self.decreases)} counter decreases seen by the scrapes")
        if self.frozen_moved:
            found.append(f"{len(self.frozen_moved)} counters moved while results were frozen")
        growth = self.rss_growth
        if not self.aborted and growth is None:
            found.append("RSS was not measured")
        elif growth is not None and growth >= RSS_GROWTH_LIMIT:
            found.append(f"RSS grew {growth:.1%}")
        if sum(self.log_hits.values()):
            found.append(f"unhandled exceptions in the logs: {dict(self.log_hits)}")
        if self.token_leaks:
            found.append(f"the API token appears in {', '.join(self.token_leaks)}")
        if self.bad_exits:
            found.append(f"unexpected exit codes: {', '.join(self.bad_exits)}")
        return found


class Soak:
    """One run: the processes, the scenario, the checks."""

    def __init__(self, minutes: float, interval: float, seed: int, workdir: Path) -> None:
        self.duration = minutes * 60.0
        self.interval = interval
        self.seed = seed
        self.workdir = workdir
        self.bin = Path(sys.executable).parent
        self.token = "soak-" + secrets.token_hex(12)
        self.env = {**os.environ, "PUSHWOOSH_API_TOKEN": self.token}
        self.config_path = workdir / "config.yaml"
        self.state_path = workdir / "state.json"
        self.report = Report()
        self.log = RequestLog()
        self.exporters: list[Exporter] = []
        self.highest: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.rss: list[tuple[float, int]] = []
        self.swapping = False
        self.abort_reason = ""
        self.faults_on = False
        self.fault_lock = asyncio.Lock()
        self.fault_periods: list[tuple[float, float]] = []
        """When faults were on (Unix seconds), for the fault rate seen."""
        self.sim: Child | None = None
        self.sim_url = ""
        self.session: aiohttp.ClientSession | None = None
        self.plan: Plan | None = None
        self.stage_index = 0

    # --- plumbing -------------------------------------------------------------------------

    @property
    def http(self) -> aiohttp.ClientSession:
        """The soak's HTTP session (loopback only)."""
        assert self.session is not None
        return self.session

    @property
    def exporter(self) -> Exporter:
        """The exporter process running now."""
        return self.exporters[-1]

    @property
    def stage(self) -> Stage:
        """The config the exporter runs now."""
        assert self.plan is not None
        return self.plan.stages[self.stage_index]

    def elapsed(self) -> float:
        """Seconds since the run started."""
        return time.monotonic() - self.report.started

    def check_alive(self) -> None:
        """SoakFailed when a child died by itself, or the monitor found a reason to stop."""
        if self.abort_reason:
            raise SoakFailed(self.abort_reason)
        if self.sim is not None and self.sim.returncode is not None:
            raise SoakFailed(f"the simulator exited with {self.sim.returncode}")
        if self.exporters and not self.swapping and self.exporter.child.returncode is not None:
            code = self.exporter.child.returncode
            self.exporter.ended_by, self.exporter.exit_code = "itself", code
            raise SoakFailed(f"the exporter exited by itself with {code}")

    async def pause(self, seconds: float) -> None:
        """Sleep, watching the children."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self.check_alive()
            await asyncio.sleep(min(0.5, left))
        self.check_alive()

    async def until(
        self, condition: Callable[[], Awaitable[bool]], within: float, what: str
    ) -> None:
        """Wait until ``condition()`` holds, watching the children."""
        deadline = time.monotonic() + within
        while True:
            self.check_alive()
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                if await condition():
                    return
            if time.monotonic() > deadline:
                raise SoakFailed(f"timed out after {within:.0f} s waiting for {what}")
            await asyncio.sleep(0.5)

    async def get_json(self, url: str, **params: Any) -> Any:
        """GET ``url`` and its JSON."""
        query = {k: str(v) for k, v in params.items()}
        async with self.http.get(url, params=query) as r:
            if r.status != 200:
                raise SoakFailed(f"GET {url} {query}: {r.status} {await r.text()}")
            return await r.json()

    async def set_faults(self, **knobs: Any) -> None:
        """POST /_sim/faults."""
        async with self.http.post(f"{self.sim_url}/_sim/faults", json=knobs) as r:
            if r.status != 200:
                raise SoakFailed(f"/_sim/faults {knobs}: {r.status} {await r.text()}")

    async def fetch_log(self) -> None:
        """Merge the simulator's request log."""
        self.log.merge(await self.get_json(f"{self.sim_url}/_sim/requests"))

    async def scrape(self, exporter: Exporter | None = None) -> Samples:
        """Every sample of the exporter's /metrics."""
        target = exporter or self.exporter
        async with self.http.get(f"{target.url}/metrics") as r:
            return parse_samples(await r.text())

    def observe(self, samples: Samples, when: str) -> None:
        """Remember the highest value of every data counter; a lower one is a decrease."""
        for key, value in samples.items():
            if key[0] not in DATA_COUNTERS:
                continue
            before = self.highest.get(key)
            if before is not None and value < before:
                self.report.decreases.append(
                    f"{key[0]}{dict(key[1])}: {before:g} -> {value:g} ({when})"
                )
            self.highest[key] = max(value, before if before is not None else value)

    def keep_self_metrics(self, samples: Samples) -> None:
        """The current process's failure counters, summed over processes at the end."""
        self.exporter.last_self_metrics = {
            k: v
            for k, v in samples.items()
            if k[0] in ("pushwoosh_api_request_failures_total", "pushwoosh_count_revisions_total")
        }

    # --- processes ------------------------------------------------------------------------

    async def start_simulator(self, apps: int) -> None:
        """``pushwoosh-simulator`` on a free loopback port, its traffic on."""
        port = free_port()
        self.sim = Child(
            "simulator",
            [
                str(self.bin / "pushwoosh-simulator"),
                f"--listen=127.0.0.1:{port}",
                f"--apps={apps}",
                f"--campaigns={CAMPAIGNS}",
                f"--seed={self.seed}",
                "--pending=0.3-1.5",
                "--log-level=warning",
            ],
            self.workdir / "simulator.log",
            self.env,  # the simulator takes its token from PUSHWOOSH_API_TOKEN too
        )
        await self.sim.start()
        self.sim_url = f"http://127.0.0.1:{port}"

        async def serving() -> bool:
            async with self.http.get(f"{self.sim_url}/_sim/world") as r:
                return r.status == 200

        await self.until(serving, 30.0, "the simulator")

    async def start_exporter(self) -> None:
        """``pushwoosh-exporter`` with the config and state file, on a free loopback port."""
        port = free_port()
        n = len(self.exporters) + 1
        child = Child(
            f"exporter-{n}",
            [
                str(self.bin / "pushwoosh-exporter"),
                f"--config.file={self.config_path}",
                f"--state.file={self.state_path}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            self.workdir / f"exporter-{n}.log",
            self.env,
        )
        self.swapping = True
        await child.start()
        self.exporters.append(Exporter(child, port))
        self.swapping = False

        async def healthy() -> bool:
            async with self.http.get(f"{self.exporter.url}/-/healthy") as r:
                return r.status == 200

        await self.until(healthy, 30.0, f"{child.name} to serve")

    async def kill_exporter(self) -> None:
        """SIGKILL, as a crash: no checkpoint, no cleanup."""
        self.swapping = True
        code = await self.exporter.child.end(signal.SIGKILL)
        self.exporter.ended_by, self.exporter.exit_code = "SIGKILL", code
        self.report.kills.append(code)

    def write_config(self, stage: Stage) -> None:
        """Replace the config file at once: a reload never reads half of it."""
        assert self.plan is not None
        temp = self.config_path.with_suffix(".tmp")
        temp.write_text(yaml.safe_dump(self.plan.document(stage), sort_keys=False))
        os.replace(temp, self.config_path)

    # --- faults ---------------------------------------------------------------------------

    async def faults_start(self) -> None:
        """Drawn faults on; the hang ticker hangs the API from now on."""
        async with self.fault_lock:
            await self.set_faults(**DRAWN_FAULTS)
            self.faults_on = True
            self.fault_periods.append((time.time(), math.inf))

    async def faults_stop(self) -> None:
        """Every fault off; held calls are released."""
        async with self.fault_lock:
            self.faults_on = False
            await self.set_faults(**NO_FAULTS)
            if self.fault_periods and self.fault_periods[-1][1] == math.inf:
                self.fault_periods[-1] = (self.fault_periods[-1][0], time.time())

    async def hangs(self) -> None:
        """Every ``HANG_EVERY`` s of the run, while faults are on, every API call hangs for
        ``HANG_SECONDS``. The lock keeps a hang from starting after a ``faults_stop``."""
        due = self.report.started
        while True:
            due += min(HANG_EVERY, self.duration / 6)
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            async with self.fault_lock:
                if not self.faults_on:
                    continue
                await self.set_faults(hang=True)
                self.report.hangs += 1
            try:
                await asyncio.sleep(HANG_SECONDS)
            finally:
                async with self.fault_lock:
                    with contextlib.suppress(aiohttp.ClientError):
                        await self.set_faults(hang=False)

    # --- conditions -----------------------------------------------------------------------

    async def all_up(
        self, wanted: set[tuple[str, str]], fresh: set[tuple[str, str]] | None = None
    ) -> bool:
        """The exporter polls exactly the wanted targets, and those in ``fresh`` (default:
        all of them) have ``pushwoosh_up`` 1."""
        samples = await self.scrape()
        up = {
            (d["collector"], d["target"]): v
            for (name, lbls), v in samples.items()
            if name == "pushwoosh_up"
            for d in [dict(lbls)]
        }
        checked = wanted if fresh is None else fresh
        return set(up) == wanted and all(up[k] == 1.0 for k in checked)

    async def saved(self, wanted: set[tuple[str, str]]) -> bool:
        """Every wanted target is in the state file (it has its baseline there)."""
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return False
        found = {(str(t.get("collector")), str(t.get("target"))) for t in state.get("targets", [])}
        return wanted <= found

    async def succeeded_since(self, wanted: set[tuple[str, str]], since: float) -> bool:
        """Every wanted target's last success is after ``since`` (Unix seconds)."""
        samples = await self.scrape()
        last = {
            (d["collector"], d["target"]): v
            for (name, lbls), v in samples.items()
            if name == "pushwoosh_collector_last_success_timestamp_seconds"
            for d in [dict(lbls)]
        }
        return all(last.get(k, 0.0) > since for k in wanted)

    # --- the monitor ----------------------------------------------------------------------

    async def monitor(self) -> None:
        """Every 10 s: RSS of the running exporter, a scrape for counter decreases, and
        the request log (so that the simulator's log limit never loses a call)."""
        fetched = time.monotonic()
        while True:
            await asyncio.sleep(MONITOR_EVERY)
            if self.swapping or not self.exporters:
                continue
            exporter = self.exporter
            if exporter.child.returncode is not None:
                continue  # check_alive reports it
            try:
                self.rss.append((time.monotonic(), rss_kib(exporter.child.pid)))
                samples = await self.scrape(exporter)
            except (OSError, aiohttp.ClientError, TimeoutError):
                continue  # it is being killed; the main flow knows
            if exporter is self.exporter and not self.swapping:
                self.observe(samples, f"{exporter.child.name} at {self.elapsed():.0f} s")
                self.keep_self_metrics(samples)
            if time.monotonic() - fetched > 60.0:
                try:
                    await self.fetch_log()
                except SoakFailed as exc:
                    self.abort_reason = str(exc)
                except aiohttp.ClientError:
                    continue
                fetched = time.monotonic()

    # --- the scenario ---------------------------------------------------------------------

    async def run(self) -> None:
        """The whole run; the report is filled as it goes."""
        assert self.plan is None
        self.report.started = time.monotonic()
        await self.start_simulator(APPS)
        world = await self.get_json(f"{self.sim_url}/_sim/world")
        self.plan = Plan(world, self.sim_url, self.interval)
        self.report.apps = len(world["apps"])
        self.report.targets_first = len(self.plan.targets(self.plan.stages[0]))
        self.report.targets_last = len(self.plan.targets(self.plan.stages[-1]))
        self.report.targets_ever = len(
            set().union(*(self.plan.targets(s) for s in self.plan.stages))
        )
        self.write_config(self.stage)
        await self.start_exporter()
        helpers = [asyncio.create_task(self.monitor()), asyncio.create_task(self.hangs())]
        try:
            await self.scenario()
        finally:
            for task in helpers:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def scenario(self) -> None:
        """Baselines, faults, reloads and kills in turn, the quiet end, the comparison."""
        assert self.plan is not None
        first_wait = 3 * self.interval + 60
        await self.until(lambda: self.all_up(self.plan_targets()), first_wait, "every target up")
        await self.until(lambda: self.saved(self.counter_targets()), first_wait, "baselines saved")
        await self.faults_start()
        end_phase = self.interval + 40.0  # a clean poll of each target, the freeze, the checks
        steps = [self.reload, self.kill] * RELOADS
        for n, step in enumerate(steps):
            # Early in the run, so that the last exporter process lives long.
            at = self.duration * (0.08 + 0.05 * n)
            await self.pause(max(0.0, at - self.elapsed()))
            await step()
        await self.pause(max(0.0, self.duration - end_phase - self.elapsed()))
        await self.quiet_end()

    def plan_targets(self) -> set[tuple[str, str]]:
        """Every target of the current config."""
        assert self.plan is not None
        return self.plan.targets(self.stage)

    def counter_targets(self) -> set[tuple[str, str]]:
        """The counter targets of the current config."""
        assert self.plan is not None
        return self.plan.counter_targets(self.stage)

    async def reload(self) -> None:
        """Rewrite the config and reload (SIGHUP and POST /-/reload in turn), faults off
        until the added targets have their baselines."""
        assert self.plan is not None
        before = self.plan_targets()
        await self.faults_stop()
        self.stage_index += 1
        self.write_config(self.stage)
        after = self.plan_targets()
        self.report.added += len(after - before)
        self.report.removed += len(before - after)
        if len(self.report.reloads) % 2 == 0:
            self.report.reloads.append("SIGHUP")
            assert self.exporter.child.process is not None
            self.exporter.child.process.send_signal(signal.SIGHUP)
        else:
            self.report.reloads.append("POST /-/reload")
            async with self.http.post(f"{self.exporter.url}/-/reload") as r:
                if r.status != 200:
                    raise SoakFailed(f"POST /-/reload: {r.status} {await r.text()}")
        wait = 3 * self.interval + 60
        await self.until(
            lambda: self.all_up(after, fresh=after - before),
            wait,
            f"the targets of reload {self.stage_index}",
        )
        await self.until(lambda: self.saved(self.counter_targets()), wait, "added baselines saved")
        await self.faults_start()

    async def kill(self) -> None:
        """SIGKILL once every counter target is saved, then start again on the state file."""
        await self.until(lambda: self.saved(self.counter_targets()), 60.0, "targets saved")
        samples = await self.scrape()
        self.observe(samples, f"before kill {len(self.report.kills) + 1}")
        self.keep_self_metrics(samples)
        await self.kill_exporter()
        await asyncio.sleep(DOWNTIME)
        await self.start_exporter()
        self.observe(await self.scrape(), f"after restart {len(self.report.kills)}")

    async def quiet_end(self) -> None:
        """Faults off, one clean success per counter target, freeze, compare, SIGTERM."""
        await self.faults_stop()
        clean_from = time.time() + REQUEST_TIMEOUT + 1.0
        await self.until(
            lambda: self.succeeded_since(self.counter_targets(), clean_from),
            3 * self.interval + 60,
            "a clean poll of every counter target",
        )
        await self.set_faults(stuck_results=True)
        await self.pause(3.0)  # results delivered before the freeze are applied by now
        final = await self.scrape()
        self.observe(final, "at the end")
        self.keep_self_metrics(final)
        self.rss_result()
        await self.fetch_log()
        await self.compare(final)
        await self.pause(2 * MONITOR_EVERY)
        later = await self.scrape()
        self.report.frozen_moved = [
            f"{k[0]}{dict(k[1])}: {v:g} -> {later.get(k)}"
            for k, v in final.items()
            if k[0] in DATA_COUNTERS and later.get(k) != v
        ]
        self.swapping = True
        code = await self.exporter.child.end(signal.SIGTERM)
        self.exporter.ended_by, self.exporter.exit_code = "SIGTERM", code

    def rss_result(self) -> None:
        """The last process's RSS at the end of its warm-up and now."""
        started = self.exporter.child.started
        life = time.monotonic() - started
        warmup = min(WARMUP, life / 2)
        mine = [(t - started, kib) for t, kib in self.rss if t >= started]
        mine.append((life, rss_kib(self.exporter.child.pid)))
        after = [s for s in mine if s[0] >= warmup]
        self.report.rss_ref = after[0]
        self.report.rss_end = mine[-1]

    # --- the comparison -------------------------------------------------------------------

    async def truth(self, **query: Any) -> float:
        """``GET /_sim/truth``."""
        return float((await self.get_json(f"{self.sim_url}/_sim/truth", **query))["count"])

    async def expected(self, jobs: list[dict[str, Any]], **series: Any) -> float:
        """What a bucketed counter must show after counting from ``jobs[0]`` (the baseline)
        to ``jobs[-1]`` (the last result applied)."""
        first, last = jobs[0], jobs[-1]
        between = await self.truth(**series, after=first["time"], until=last["time"])
        not_in_first = await self.truth(
            **series, after=0, until=first["time"], bucket_from=past_window(first)
        )
        not_in_last = await self.truth(
            **series, after=0, until=last["time"], bucket_from=past_window(last)
        )
        return between + not_in_first - not_in_last

    async def compare(self, samples: Samples) -> None:
        """Every counter of the final config against the truth; removed targets gone."""
        assert self.plan is not None
        jobs = self.log.delivered()
        checks: list[tuple[str, tuple[tuple[str, str], ...], Awaitable[float]]] = []
        missing: list[str] = []

        def need(key: tuple[str, str]) -> list[dict[str, Any]] | None:
            found = jobs.get(key)
            if not found:
                missing.append(f"{key}: no delivered job in the request log")
            return found

        for i in self.stage.apps:
            app = self.plan.app(i)
            code, name = app["code"], app["name"]
            if found := need(("app_stats", code)):
                for (scope, action), family in APP_STATS_FAMILIES.items():
                    series = {"kind": "app", "app": code, "scope": scope, "action": action}
                    lbls = labels(app=code, app_name=name)
                    checks.append((family.name, lbls, self.expected(found, **series)))
            for event in app["events"]:
                if found := need(("events", f"{code}/{event}")):
                    series = {"kind": "event", "app": code, "event": event}
                    lbls = labels(app=code, app_name=name, event=event)
                    checks.append((EVENT_TRIGGERS, lbls, self.expected(found, **series)))
        for i in self.stage.campaigns:
            code = self.plan.campaign(i)
            if found := need(("campaign", code)):
                for action, family in CAMPAIGN_FAMILIES.items():
                    for platform_code, platform_name in PLATFORM_NAMES.items():
                        series = {
                            "kind": "campaign",
                            "campaign": code,
                            "action": action,
                            "platform": platform_code,
                        }
                        lbls = labels(
                            campaign=code, campaign_name=f"campaign-{i}", platform=platform_name
                        )
                        checks.append((family.name, lbls, self.expected(found, **series)))
        messages = self.plan.world["messages"]
        for message, platforms in ((messages[0], None), (messages[1], (1, 3))):
            if found := need(("message", message)):
                until = found[-1]["time"]
                for action, family in MESSAGE_FAMILIES.items():
                    for p in platforms or (None,):
                        query: dict[str, Any] = {
                            "kind": "message",
                            "message": message,
                            "action": action,
                            "until": until,
                        }
                        if p is not None:
                            query["platform"] = p
                        lbls = labels(
                            message=message, platform="all" if p is None else PLATFORM_NAMES[p]
                        )
                        checks.append((family.name, lbls, self.truth(**query)))

        limit = asyncio.Semaphore(8)

        async def one(pending: Awaitable[float]) -> float:
            async with limit:
                return await pending

        wants = await asyncio.gather(*(one(c[2]) for c in checks))
        self.report.mismatches.extend(missing)
        for (name, lbls, _), want in zip(checks, wants, strict=True):
            got = samples.get((name, lbls))
            if got is None and want == 0 and name in {f.name for f in CAMPAIGN_FAMILIES.values()}:
                continue  # a platform with no campaign events at all is not exported
            self.report.compared += 1
            self.report.nonzero += want > 0
            if got != want:
                self.report.mismatches.append(f"{name}{dict(lbls)}: expected {want:g}, got {got}")
        gone_apps = {self.plan.app(i)["code"] for i in self.plan.stages[0].apps} - {
            self.plan.app(i)["code"] for i in self.stage.apps
        }
        gone_campaigns = {self.plan.campaign(i) for s in self.plan.stages for i in s.campaigns} - {
            self.plan.campaign(i) for i in self.stage.campaigns
        }
        for (name, lbls), _ in samples.items():
            d = dict(lbls)
            if d.get("app") in gone_apps or d.get("campaign") in gone_campaigns:
                self.report.mismatches.append(f"{name}{d}: a removed target is still exported")
        self.tally()

    def tally(self) -> None:
        """Calls and drawn faults from the request log, in all and while faults were on."""
        self.report.calls = len(self.log.entries)
        for entry in self.log.entries:
            at = float(entry["time"])
            if any(start <= at <= end for start, end in self.fault_periods):
                self.report.calls_faulty += 1
                kind = fault_kind(entry)
                if kind is not None:
                    self.report.faults[kind] += 1
        self.report.faulty_seconds = sum(
            min(end, time.time()) - start for start, end in self.fault_periods
        )

    # --- after the run --------------------------------------------------------------------

    def scan_logs(self) -> None:
        """Unhandled exceptions and the token in the exporter logs and the state file;
        exit codes and the exporters' own failure counts."""
        for exporter in self.exporters:
            text = (
                exporter.child.log.read_text(errors="replace")
                if exporter.child.log.exists()
                else ""
            )
            for pattern in LOG_PATTERNS:
                self.report.log_hits[pattern] += text.count(pattern)
            if self.token in text:
                self.report.token_leaks.append(exporter.child.log.name)
            self.report.exit_codes.append((exporter.ended_by or "running", exporter.exit_code))
            for (name, lbls), value in exporter.last_self_metrics.items():
                d = dict(lbls)
                if name == "pushwoosh_api_request_failures_total":
                    self.report.exporter_failures[d.get("reason", "?")] += int(value)
                elif name == "pushwoosh_count_revisions_total" and d.get("direction") == "down":
                    self.report.revisions_down += value
        self.report.log_hits = +self.report.log_hits
        self.report.timeouts = self.report.exporter_failures.get("timeout", 0)
        for path in self.workdir.glob("state.json*"):
            if self.token in path.read_text(errors="replace"):
                self.report.token_leaks.append(path.name)

    async def shutdown(self) -> None:
        """End every child still running: the exporter, then the simulator."""
        self.swapping = True
        for exporter in self.exporters:
            if exporter.child.returncode is None:
                code = await exporter.child.end(signal.SIGTERM)
                if not exporter.ended_by:
                    exporter.ended_by, exporter.exit_code = "SIGTERM", code
        if self.sim is not None:
            await self.sim.end(signal.SIGTERM)


def table(report: Report, minutes: float, interval: float) -> str:
    """The markdown table of a run."""
    faulty = max(report.calls_faulty, 1)
    drawn = sum(report.faults.values())
    seen = drawn + report.timeouts
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(report.faults.items()))
    growth = report.rss_growth
    rss = (
        f"{report.rss_ref[1] / 1024:.1f} MiB at {report.rss_ref[0] / 60:.1f} min -> "
        f"{report.rss_end[1] / 1024:.1f} MiB at {report.rss_end[0] / 60:.1f} min: "
        f"{growth:+.1%}"
        if report.rss_ref and report.rss_end and growth is not None
        else "not measured"
    )
    hits = sum(report.log_hits.values())
    duration = report.ended - report.started
    rows = [
        (
            "duration",
            f"{duration / 60:.1f} min (asked {minutes:g}); each target polled every {interval:g} s",
            "",
        ),
        ("apps in the simulator", f"{report.apps}", ""),
        (
            "targets",
            f"{report.targets_first} at start, {report.targets_last} at the end, "
            f"{report.targets_ever} in all",
            "",
        ),
        (
            "API calls (simulator's log)",
            f"{report.calls} ({report.calls / max(duration, 1):.1f}/s); with faults on: "
            f"{report.calls_faulty} in {report.faulty_seconds / 60:.1f} min",
            "",
        ),
        (
            "fault answers drawn by the simulator (HTTP 500, status_code 500, 429 with "
            "Retry-After, HTML body)",
            f"{drawn} ({drawn / faulty:.1%} of the calls with faults on): {kinds}",
            "",
        ),
        (
            "hangs (every API call held, longer than request_timeout)",
            f"{report.hangs} x {HANG_SECONDS:g} s; calls the exporter timed out: "
            f"{report.timeouts:.0f}",
            "",
        ),
        (
            "failed API calls counted by the exporter, by reason",
            ", ".join(f"{k} {v}" for k, v in sorted(report.exporter_failures.items())) or "-",
            "",
        ),
        (
            "fault rate seen with faults on: (fault answers + timeouts) / calls",
            f"{seen / faulty:.1%}",
            "about 10%",
        ),
        (
            "SIGKILL restarts with --state.file",
            f"{len(report.kills)} (exit codes {', '.join(str(c) for c in report.kills)})",
            "3",
        ),
        (
            "reloads",
            f"{len(report.reloads)} ({', '.join(report.reloads)}): {report.added} targets "
            f"added, {report.removed} removed",
            "3",
        ),
        (
            "counters compared with the truth",
            f"{report.compared} ({report.nonzero} non-zero)",
            "",
        ),
        ("... mismatches", f"{len(report.mismatches)}", "0"),
        (
            "counter decreases seen by the scrapes (restarts included)",
            f"{len(report.decreases)}",
            "0",
        ),
        ("counters moving while results were frozen", f"{len(report.frozen_moved)}", "0"),
        ("count revisions down (exporter)", f"{report.revisions_down:.0f}", ""),
        ("RSS of the last exporter process", rss, f"< {RSS_GROWTH_LIMIT:.0%} growth"),
        (
            "unhandled exceptions in the exporter logs",
            f"{hits}" + (f" ({dict(report.log_hits)})" if hits else ""),
            "0",
        ),
        (
            "exporter exit codes",
            ", ".join(f"{how} {code}" for how, code in report.exit_codes) or "-",
            "-9 after SIGKILL, 0 after SIGTERM",
        ),
        ("API token in logs or state file", f"{len(report.token_leaks)}", "0"),
    ]
    lines = ["| measured | value | goal |", "| --- | --- | --- |"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


async def soak(minutes: float, interval: float, seed: int, workdir: Path) -> Report:
    """Run the soak and return its report (all children ended)."""
    run = Soak(minutes, interval, seed, workdir)
    hard_stop = minutes * 60.0 * 1.25 + 600.0
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(run.run())
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        run.session = session
        try:
            await asyncio.wait_for(task, hard_stop)
        except TimeoutError:
            run.report.aborted = f"hard stop after {hard_stop / 60:.0f} min"
        except SoakFailed as exc:
            run.report.aborted = str(exc)
        except asyncio.CancelledError:
            run.report.aborted = "interrupted"
        finally:
            await run.shutdown()
            run.report.ended = time.monotonic()
            run.scan_logs()
    return run.report


def main(argv: Iterable[str] | None = None) -> int:
    """``python -m bench.soak``: print the table, exit 1 if a check failed."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--minutes", type=float, default=20.0, help="length of the run (default: 20)"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=None,
        help="poll interval, s (default: 20; 10 under 10 minutes, so that the steps leave "
        "time for faults)",
    )
    parser.add_argument("--seed", type=int, default=7, help="the simulator's seed (default: 7)")
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep configs, state and logs here"
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.minutes < 2:
        parser.error("--minutes must be at least 2: the steps need about 2 minutes")
    interval = args.interval or (20.0 if args.minutes >= 10 else 10.0)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="pushwoosh-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    report = asyncio.run(soak(args.minutes, interval, args.seed, workdir))
    print(
        f"Soak of {time.strftime('%Y-%m-%d')} on {platform.node()} ({platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()})\n"
    )
    print(table(report, args.minutes, interval))
    failures = report.failures()
    for line in report.mismatches[:20] + report.decreases[:20] + report.frozen_moved[:20]:
        print(f"  {line}")
    if failures:
        print("\nFAILED: " + "; ".join(failures))
        print(f"configs, state file and logs kept in {workdir}")
        return 1
    print("\nPASSED")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Scale: 1,000 discovered apps x 5 events on one exporter, the example's intervals, 6,000/min.

The goal (issue 13): every target polled within its interval for three intervals in a row,
exporter CPU under 0.25 of a core, RSS growth at most 4 KiB per target.

The simulator (``--apps``, ``--events``, ``--apps-page-size 100``, its default getResults
pending time of 1-3 s per job) and the exporter run as their own processes, the exporter
exactly as users start it (``python -m exporter.cli`` with ``PUSHWOOSH_API_TOKEN`` set). Its
config lists no target: ``discovery.applications`` finds the apps, each collecting
``app_stats``, ``subscribers: v1`` and its first ``events`` events, so 1,000 apps are 7,000
targets. The collection settings are config.example.yaml's, read from it (``interval: 60s``;
``intervals``: events, subscribers and message 5m, tag 15m; ``lookback: 15m``); the
``pushwoosh`` ones are ``max_requests_per_minute: limit``, ``max_concurrent_requests: 16``
and ``results_timeout: 60s``. Steady state needs about 4,400 calls a minute (1,000 app_stats
polls a minute, 1,000 event polls and 200 subscriber polls, 2.1 calls per scheduled poll);
the first polls of every kind are spread over the 60 s collection interval (so readiness
never waits five minutes), which asks about 13,600 calls of the first minute, so the first
cycle takes more than two minutes at 6,000 a minute.

Meanwhile this process scrapes ``/metrics`` every 15 s as Prometheus does (OpenMetrics,
gzip) and reads the simulator's request log in parts (``/_sim/requests?since=N``).

The simulator holds every API call (its ``hang`` knob) from before the exporter starts until
this process has read the exporter's memory at ``/-/healthy``: the baseline is taken before
the first listing, so before any target exists.

Measured:

- the first cycle: from ``/-/healthy`` until every target has had an attempt (the scrape
  shows a ``pushwoosh_collector_duration_seconds`` series for each of them);
- the window: ``intervals`` times the longest interval (5 minutes), from two collection
  intervals after the first cycle. The first cycle asks for more than a minute's budget and
  the per-minute window passes its burst on to the next minutes for a while: the polls it
  delays are not judged, but how long they lasted is reported (``late until``: the end of
  the last gap over interval + tolerance in the whole run, from ``/-/healthy``);
- polls within their interval: a target's poll succeeded when the simulator answered it (a
  getResults that answered 200 to the job of its getAppStats or getEventStatistics, or a
  200 getApplicationSubscribersStats; the times of the request log). A target was polled
  within its interval when the gaps from its last success before the window, between its
  successes in the window, and from its last one to the window's end are all at most its
  interval plus ``TOLERANCE`` (5 s: a job is pending 1 to 3 s, and the first getResults
  comes after a wait learnt per method). Per kind: the targets that were, the longest gap
  and the successes in the window;
- CPU: the exporter's utime+stime from ``/proc/<pid>/stat`` over wall time (cores), from
  ``/-/healthy`` to the end and over the window alone (and the simulator's, to show it was
  not the bottleneck);
- memory: VmRSS growth from ``/-/healthy`` (no target yet: the calls are held) to the end
  of the window, divided by the targets, and the peak (VmHWM);
- API calls a minute in the window, and calls that failed (the exporter's own counters).

Run: ``python -m bench.scale [--apps 1000 --events 5 --limit 6000 --intervals 3]`` from the
repository root (about 20 minutes with three intervals: run it under ``nice``). ``make bench``
runs it with ``--intervals 3``.
"""

import argparse
import asyncio
import itertools
import os
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench.load import PROMETHEUS_ACCEPT, TOKEN, answers_200, free_port, wait_http
from bench.proc import cpu_seconds, rss_kib, status_kib
from exporter.config.durations import parse_duration

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.yaml"
PROMETHEUS_HEADERS = {"Accept": PROMETHEUS_ACCEPT, "Accept-Encoding": "gzip"}
"""What Prometheus sends with a scrape."""
SCRAPE_EVERY = 15.0
LOG_EVERY = 20.0
TOLERANCE = 5.0
"""Seconds a gap between successes may exceed the interval (see the module docstring)."""
WARM_UP = 2
"""Collection intervals between the end of the first cycle and the window."""
SCHEDULED = {"getAppStats": "app_stats", "getEventStatistics": "events"}
"""Scheduled method -> collector kind."""
SUBSCRIBERS = "getApplicationSubscribersStats"


def example_collection() -> dict[str, Any]:
    """The ``collection`` section of config.example.yaml."""
    section: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())["collection"]
    return section


def seconds_of(text: str) -> float:
    """A duration of the example config (``60s``, ``5m``, ``15m``) in seconds."""
    return parse_duration(text).total_seconds()


def config_for(api_url: str, events: list[str], limit: int) -> dict[str, Any]:
    """Discovery of every app, each collecting app stats, subscribers v1 and ``events``."""
    return {
        "pushwoosh": {
            "api_url": api_url,
            "max_requests_per_minute": limit,
            "max_concurrent_requests": 16,
            "results_timeout": "60s",
        },
        "collection": example_collection(),
        "discovery": {
            "applications": {
                "collect": {
                    "app_stats": True,
                    "subscribers": "v1",
                    "events": [{"name": name} for name in events],
                }
            }
        },
    }


@dataclass
class Successes:
    """Successful polls per target, from the simulator's request log."""

    times: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    jobs: dict[str, tuple[str, str]] = field(default_factory=dict)
    calls: int = 0

    def add(self, call: dict[str, Any]) -> None:
        """Account one logged API call."""
        self.calls += 1
        method, args = call["method"], call["args"]
        if call["http_status"] != 200 or call["status_code"] != 200:
            return
        if method in SCHEDULED and call["request_id"]:
            target = args["application"]
            if method == "getEventStatistics":
                target = f"{target}/{args['event']}"
            self.jobs[call["request_id"]] = (SCHEDULED[method], target)
        elif method == "getResults":
            key = self.jobs.pop(args["request_id"], None)
            if key is not None:
                self.times[key].append(call["time"])
        elif method == SUBSCRIBERS:
            self.times["subscribers", args["application"]].append(call["time"])


def judge(
    successes: Successes,
    targets: list[tuple[str, str]],
    intervals: dict[str, float],
    start: float,
    end: float,
    began: float,
) -> dict[str, dict[str, float]]:
    """Per kind: targets polled within interval + tolerance over [start, end], the longest
    gap, the successes in the window (see the module docstring), and ``late_until``: seconds
    from ``began`` to the end of the last gap over interval + tolerance anywhere in the run
    (how long the first cycle's delays lasted; 0: none)."""
    out: dict[str, dict[str, float]] = {}
    for kind, target in targets:
        row = out.setdefault(
            kind,
            {"targets": 0, "within": 0, "max_gap": 0.0, "polls": 0, "interval": 0.0},
        )
        row.setdefault("late_until", 0.0)
        interval = intervals[kind]
        times = sorted(successes.times.get((kind, target), []))
        before = [t for t in times if t <= start]
        inside = [t for t in times if start < t <= end]
        points = [before[-1]] if before else [float("-inf")]
        points += [*inside, end]
        gap = max(b - a for a, b in itertools.pairwise(points))
        row["targets"] += 1
        row["within"] += gap <= interval + TOLERANCE
        row["max_gap"] = max(row["max_gap"], gap)
        row["polls"] += len(inside)
        row["interval"] = interval
        for a, b in itertools.pairwise(times):
            if b - a > interval + TOLERANCE:
                row["late_until"] = max(row["late_until"], b - began)
    return out


async def run(
    apps: int = 1000, events: int = 5, limit: int = 6000, intervals: int = 3
) -> dict[str, Any]:
    """Start the simulator and the exporter, measure (see the module docstring), stop both.

    A coroutine: ``asyncio.run(run(...))``. Returns the measurements."""
    began = time.monotonic()
    sim_port, exp_port = free_port(), free_port()
    sim: asyncio.subprocess.Process | None = None
    exporter: asyncio.subprocess.Process | None = None
    log_lines: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        config_path, log_path = Path(tmp) / "config.yaml", Path(tmp) / "exporter.log"
        try:
            with (Path(tmp) / "simulator.log").open("wb") as sim_log:
                sim = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "exporter.simulator",
                    f"--listen=127.0.0.1:{sim_port}",
                    f"--apps={apps}",
                    f"--events={events}",
                    "--apps-page-size=100",
                    f"--token={TOKEN}",
                    "--log-level=warning",
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=sim_log,
                )
            async with aiohttp.ClientSession() as session:
                sim_url = f"http://127.0.0.1:{sim_port}"
                await wait_http(session, f"{sim_url}/_sim/world")
                async with session.get(f"{sim_url}/_sim/world") as r:
                    world = await r.json()
                names = list(world["apps"][0]["events"][:events])
                if any(list(a["events"][:events]) != names for a in world["apps"]):
                    raise RuntimeError("the simulator's apps do not share their event names")
                targets = [
                    (kind, target)
                    for app in world["apps"]
                    for kind, target in [
                        ("app_stats", app["code"]),
                        ("subscribers", app["code"]),
                        *[("events", f"{app['code']}/{name}") for name in names],
                    ]
                ]
                config_path.write_text(yaml.safe_dump(config_for(sim_url, names, limit)))
                await _hold_calls(session, sim_url, True)  # until the baseline is read
                with log_path.open("wb") as exp_log:
                    exporter = await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "exporter.cli",
                        f"--config.file={config_path}",
                        f"--web.listen-address=127.0.0.1:{exp_port}",
                        "--log.level=error",
                        env={**os.environ, "PUSHWOOSH_API_TOKEN": TOKEN},
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=exp_log,
                    )
                result = await _measure(
                    session,
                    sim_url,
                    f"http://127.0.0.1:{exp_port}",
                    (exporter.pid, sim.pid),
                    targets,
                    intervals,
                )
        finally:
            for process in (exporter, sim):
                if process is not None and process.returncode is None:
                    process.terminate()
                    await process.wait()
            if log_path.exists():
                log_lines = log_path.read_text(errors="replace").splitlines()
            if log_lines:
                print("exporter log (first 5 lines):", *log_lines[:5], sep="\n  ", file=sys.stderr)
    result.update(
        apps=apps,
        events=events,
        limit=limit,
        exporter_log_lines=len(log_lines),
        wall_s=time.monotonic() - began,
    )
    return result


class _Scrapes:
    """What the scrapes saw: targets attempted, and when every one had been."""

    def __init__(self) -> None:
        self.known = 0
        self.attempted = 0
        self.up = 0
        self.failures = 0.0
        self.calls = 0.0
        self.all_attempted_at: float | None = None

    async def scrape(self, session: aiohttp.ClientSession, url: str, targets: int) -> None:
        async with session.get(f"{url}/metrics", headers=PROMETHEUS_HEADERS) as r:
            r.raise_for_status()
            text = await r.text()
        self.known = self.attempted = self.up = 0
        self.failures = self.calls = 0.0
        # Line prefixes, not prometheus-client's parser: a parse of these 4 MB bodies every
        # 5 s would take a good part of a core beside the exporter being measured.
        for line in text.splitlines():
            if line.startswith("pushwoosh_collector_duration_seconds{"):
                self.attempted += 1
            elif line.startswith("pushwoosh_up{"):
                self.known += 1
                self.up += line.endswith(" 1.0") or line.endswith(" 1")
            elif line.startswith("pushwoosh_api_request_failures_total{"):
                self.failures += float(line.rpartition(" ")[2])
            elif line.startswith("pushwoosh_api_requests_total{"):
                self.calls += float(line.rpartition(" ")[2])
        if self.all_attempted_at is None and self.attempted == targets:
            self.all_attempted_at = time.time()


async def _hold_calls(session: aiohttp.ClientSession, sim_url: str, hold: bool) -> None:
    """Turn the simulator's ``hang`` knob: API calls wait while it is on."""
    async with session.post(f"{sim_url}/_sim/faults", json={"hang": hold}) as r:
        r.raise_for_status()


async def _read_log(
    session: aiohttp.ClientSession, sim_url: str, successes: Successes, since: int
) -> int:
    """Account the calls logged from number ``since`` on; the next ``since``."""
    async with session.get(f"{sim_url}/_sim/requests", params={"since": str(since)}) as r:
        r.raise_for_status()
        part = await r.json()
    if part["first"] != since:
        raise RuntimeError(f"the simulator's log dropped calls {since}..{part['first'] - 1}")
    for call in part["calls"]:
        successes.add(call)
    return int(part["next"])


async def _measure(
    session: aiohttp.ClientSession,
    sim_url: str,
    url: str,
    pids: tuple[int, int],
    targets: list[tuple[str, str]],
    intervals: int,
) -> dict[str, Any]:
    pid, sim_pid = pids
    # Wall-clock times (time.time()) throughout: the simulator's log uses them.
    spawned = time.time()
    await wait_http(session, f"{url}/-/healthy", within=120.0, every=0.02)
    start = time.time()
    rss0, cpu0, sim_cpu0 = rss_kib(pid), cpu_seconds(pid), cpu_seconds(sim_pid)
    scrapes, successes = _Scrapes(), Successes()
    await scrapes.scrape(session, url, len(targets))
    await _hold_calls(session, sim_url, False)
    out: dict[str, Any] = {
        "startup_s": start - spawned,
        "rss_start_kib": rss0,
        "targets_at_start": scrapes.known,
    }
    collection = example_collection()
    warm_up = WARM_UP * seconds_of(collection["interval"])
    every = {
        kind: seconds_of(collection.get("intervals", {}).get(kind, collection["interval"]))
        for kind in ("app_stats", "subscribers", "events")
    }
    since, next_scrape, next_read = 0, start + SCRAPE_EVERY, start
    window: tuple[float, float] | None = None
    window_cpu = window_calls = 0.0
    while window is None or time.time() < window[1] + TOLERANCE:
        now = time.time()
        if now >= next_scrape:
            await scrapes.scrape(session, url, len(targets))
            next_scrape += SCRAPE_EVERY
        if now >= next_read:
            since = await _read_log(session, sim_url, successes, since)
            next_read += LOG_EVERY
        first = scrapes.all_attempted_at
        if window is None and first is not None and now >= first + warm_up:
            window = (now, now + intervals * max(every.values()))
            out["first_cycle_s"] = first - start
            window_cpu, window_calls = cpu_seconds(pid), scrapes.calls
        await asyncio.sleep(0.5)
    ended = time.time()
    await asyncio.sleep(TOLERANCE)  # the log's last calls
    since = await _read_log(session, sim_url, successes, since)
    await scrapes.scrape(session, url, len(targets))
    cpu1, rss1 = cpu_seconds(pid), rss_kib(pid)
    finished = time.time()
    out.update(
        kinds=judge(successes, targets, every, *window, start),
        window_s=window[1] - window[0],
        targets=len(targets),
        calls_logged=successes.calls,
        calls_per_minute=(scrapes.calls - window_calls) / ((ended - window[0]) / 60.0),
        failures=scrapes.failures,
        up=scrapes.up,
        cores=(cpu1 - cpu0) / (finished - start),
        cores_window=(cpu1 - window_cpu) / (finished - window[0]),
        sim_cores=(cpu_seconds(sim_pid) - sim_cpu0) / (finished - start),
        rss_end_kib=rss1,
        rss_peak_kib=status_kib(pid, "VmHWM"),
        rss_b_per_target=(rss1 - rss0) * 1024 / len(targets),
        ready=await answers_200(session, f"{url}/-/ready"),
        measured_s=finished - start,
    )
    return out


def report(r: dict[str, Any]) -> str:
    """The results as a markdown table and notes."""
    lines = [
        "| kind | interval | targets | polled within interval + 5 s over the window "
        "| longest gap | successful polls in the window | late until |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind, row in r["kinds"].items():
        lines.append(
            f"| {kind} | {row['interval']:g} s | {row['targets']:.0f} | {row['within']:.0f} "
            f"| {row['max_gap']:.1f} s | {row['polls']:.0f} | {row['late_until']:.0f} s |"
        )
    lines += [
        "",
        f"{r['apps']} apps x {r['events']} events = {r['targets']} targets, "
        f"max_requests_per_minute {r['limit']}; window of {r['window_s']:.0f} s from two "
        f"collection intervals after the first cycle, which took {r['first_cycle_s']:.0f} s "
        f"from /-/healthy ({r['startup_s']:.1f} s after the process started).",
        f"Exporter CPU {r['cores']:.3f} cores from /-/healthy to the end "
        f"({r['measured_s']:.0f} s), {r['cores_window']:.3f} over the window; simulator "
        f"{r['sim_cores']:.2f} cores.",
        f"RSS {r['rss_start_kib'] / 1024:.0f} MiB at /-/healthy ({r['targets_at_start']} "
        f"targets known then) -> {r['rss_end_kib'] / 1024:.0f} MiB at the end, "
        f"{r['rss_b_per_target']:.0f} B per target; peak {r['rss_peak_kib'] / 1024:.0f} MiB.",
        f"{r['calls_per_minute']:.0f} API calls a minute in the window; "
        f"{r['failures']:.0f} failed calls in the run; {r['up']} of {r['targets']} targets up "
        f"at the end; ready: {r['ready']}; {r['calls_logged']} calls in the simulator's log; "
        f"exporter error log: {r['exporter_log_lines']} lines. Wall time {r['wall_s']:.0f} s.",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run once and print the results."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--limit", type=int, default=6000, help="max_requests_per_minute")
    parser.add_argument(
        "--intervals", type=int, default=3, help="window length, in longest intervals"
    )
    args = parser.parse_args()
    print(report(asyncio.run(run(args.apps, args.events, args.limit, args.intervals))))


if __name__ == "__main__":
    main()

"""Scale: 1,000 apps with 5 events each on one exporter process, one collection interval.

The goal (from the issue): the cycle completes within a 60 s interval given a 6,000 req/min
limit, CPU stays under one core, memory under 2 KiB per exported series. Each app is polled
by 7 targets: ``app_stats`` (getAppStats, scheduled: the request plus at least one
getResults), ``events`` events (getEventStatistics, scheduled too) and subscribers v1
(getApplicationSubscribersStats, one synchronous call). So a cycle of 1,000 apps needs at
least ``1,000 * (6 * 2 + 1) = 13,000`` calls; at 100 calls/s that is 130 s, more than the
60 s interval. This benchmark measures how far the exporter gets, and does not hide the gap.

The simulator and the exporter run as their own processes, the exporter exactly as users
start it (``python -m exporter.cli`` with ``PUSHWOOSH_API_TOKEN`` set), with
``max_requests_per_minute: limit``, ``max_concurrent_requests: 16``, ``results_timeout: 60s``,
``collection.interval`` = the measured interval (60 s by default) and ``lookback: 15m``. The
simulator uses its default job latency (getResults pending 1-3 s per job).

The simulator is started with ``--events=N`` (every app gets the four named events, then
``Event5``, ``Event6``...); the run checks in ``/_sim/world`` that every configured app
has at least ``events`` events.

Measured, from the moment the exporter answers ``/-/healthy`` (it starts polling just before
it starts serving; the time from process start to then, imports and config loading, is
reported separately):

- targets whose first collection attempt finished within the interval: the
  ``pushwoosh_collector_duration_seconds`` series, which exist once a target has had an
  attempt, successful or not (``pushwoosh_up`` exists for every configured target from the
  start, at 0); and how many of those succeeded (``pushwoosh_collector_last_success_...``);
- API calls made in the interval: ``pushwoosh_api_requests_total`` summed over methods;
- the time until ``/-/ready`` (every target attempted once), waiting at most ``cap`` seconds
  after the interval;
- CPU: the exporter's utime+stime from ``/proc/<pid>/stat`` over the interval, divided by
  the interval's wall time (cores used);
- memory: VmRSS growth from ``/-/healthy`` to the end of the run, divided by the exported
  series at the end: every sample line of ``/metrics`` whose name starts with
  ``pushwoosh_`` except the self-metrics ``pushwoosh_api_*``, ``pushwoosh_config_*`` and
  ``pushwoosh_exporter_*`` (so the data series plus the per-target health series
  ``pushwoosh_up``, ``_collector_duration_seconds``, ``_collector_last_success_...``,
  ``_data_newest_bucket_...`` and ``pushwoosh_count_revisions_total``);
- the arithmetic bound: calls per cycle / (limit / 60) = the shortest cycle possible.

Run: ``python -m bench.scale [--apps 1000 --events 5 --seconds 60 --limit 6000 --cap 240]``
from the repository root.
"""

import argparse
import asyncio
import math
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from bench.load import TOKEN, answers_200, free_port, wait_http
from bench.proc import cpu_seconds, rss_kib

SELF_PREFIXES = ("pushwoosh_api_", "pushwoosh_config_", "pushwoosh_exporter_")
HEALTH = (
    "pushwoosh_up",
    "pushwoosh_collector_duration_seconds",
    "pushwoosh_collector_last_success_timestamp_seconds",
    "pushwoosh_data_newest_bucket_timestamp_seconds",
    "pushwoosh_count_revisions_total",
)
"""Per-target health families (and the revisions counter): exported, but not Pushwoosh data."""
SCHEDULED = ("getAppStats", "getEventStatistics")
"""The scheduled methods this config calls (each needs the request plus >= 1 getResults)."""
PENDING = "1-3"
"""The simulator's default getResults pending time, seconds MIN-MAX."""


def config_for(
    api_url: str, world: dict[str, Any], apps: int, events: int, limit: int, interval: float
) -> dict[str, Any]:
    """``apps`` applications with app stats, subscribers v1 and their first ``events`` events."""
    short = [a["code"] for a in world["apps"][:apps] if len(a["events"]) < events]
    if len(world["apps"]) < apps or short:
        raise RuntimeError(
            f"the simulator has {len(world['apps'])} apps, {len(short)} of the first {apps} "
            f"with fewer than {events} events (exporter/simulator/world.py build_world gives "
            "2 or 3 unless --events is given)"
        )
    applications = [
        {
            "code": app["code"],
            "name": app["name"],
            "app_stats": True,
            "subscribers": "v1",
            "events": [{"name": e} for e in app["events"][:events]],
        }
        for app in world["apps"][:apps]
    ]
    return {
        "pushwoosh": {
            "api_url": api_url,
            "max_requests_per_minute": limit,
            "max_concurrent_requests": 16,
            "results_timeout": "60s",
        },
        "collection": {"interval": f"{interval:g}s", "lookback": "15m"},
        "applications": applications,
    }


def samples(text: str) -> list[Sample]:
    """Every sample of a text exposition, as prometheus-client parses it."""
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def sample_counts(found: list[Sample]) -> Counter[str]:
    """Samples per sample name."""
    return Counter(sample.name for sample in found)


def sample_sums(found: list[Sample], name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(s.value for s in found if s.name == name and labels.items() <= s.labels.items())


def exported_series(counts: Counter[str]) -> int:
    """Sample lines of ``pushwoosh_*`` families other than the exporter's self-metrics."""
    return sum(
        n
        for name, n in counts.items()
        if name.startswith("pushwoosh_") and not name.startswith(SELF_PREFIXES)
    )


async def _metrics(session: aiohttp.ClientSession, url: str) -> list[Sample]:
    async with session.get(f"{url}/metrics") as r:
        r.raise_for_status()
        return samples(await r.text())


async def run(
    apps: int = 1000,
    events: int = 5,
    seconds: float = 60.0,
    limit: int = 6000,
    cap: float = 240.0,
) -> dict[str, float]:
    """Start the simulator and the exporter, measure one interval, then wait for readiness.

    A coroutine: ``asyncio.run(run(...))``. ``seconds`` is both the measured interval and
    the configured ``collection.interval``; after it, ``/-/ready`` is awaited at most
    ``cap`` more seconds (0: not at all). Returns the measurements (see the module
    docstring); ``ready_s`` is NaN when the exporter was not ready in time. Both processes
    are terminated before it returns.
    """
    began = time.monotonic()
    sim_port, exp_port = free_port(), free_port()
    targets = apps * (events + 2)
    sim_args = [
        f"--listen=127.0.0.1:{sim_port}",
        f"--apps={apps}",
        f"--events={events}",
        f"--token={TOKEN}",
        f"--pending={PENDING}",
        "--log-level=warning",
    ]
    sim: asyncio.subprocess.Process | None = None
    exporter: asyncio.subprocess.Process | None = None
    with tempfile.TemporaryDirectory() as tmp:
        config_path, log_path = Path(tmp) / "config.yaml", Path(tmp) / "exporter.log"
        try:
            with (Path(tmp) / "simulator.log").open("wb") as sim_log:
                sim = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "exporter.simulator",
                    *sim_args,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=sim_log,
                )
            async with aiohttp.ClientSession() as session:
                sim_url = f"http://127.0.0.1:{sim_port}"
                await wait_http(session, f"{sim_url}/_sim/world")
                async with session.get(f"{sim_url}/_sim/world") as r:
                    world = await r.json()
                config = config_for(sim_url, world, apps, events, limit, seconds)
                config_path.write_text(yaml.safe_dump(config))
                sim_cpu0 = cpu_seconds(sim.pid)
                with log_path.open("wb") as exp_log:
                    spawned = time.monotonic()
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
                url = f"http://127.0.0.1:{exp_port}"
                result = await _measure(session, url, exporter.pid, seconds, cap, spawned)
                result["sim_cores"] = (cpu_seconds(sim.pid) - sim_cpu0) / (
                    time.monotonic() - spawned
                )
        finally:
            for process in (exporter, sim):
                if process is not None and process.returncode is None:
                    process.terminate()
                    await process.wait()
            log_lines = (
                log_path.read_text(errors="replace").splitlines() if log_path.exists() else []
            )
            if log_lines:
                print("exporter log (first 5 lines):", *log_lines[:5], sep="\n  ", file=sys.stderr)
    scheduled = result.pop("scheduled_requests")
    results_calls = result.pop("get_results")
    per_poll = (scheduled + results_calls) / scheduled if scheduled else math.nan
    scheduled_targets = apps * (events + 1)
    cycle_min = scheduled_targets * 2 + apps
    result.update(
        apps=float(apps),
        events=float(events),
        targets=float(targets),
        limit=float(limit),
        seconds=seconds,
        calls_per_scheduled_poll=per_poll,
        cycle_calls_min=float(cycle_min),
        cycle_s_min=cycle_min / (limit / 60.0),
        exporter_log_lines=float(len(log_lines)),
        wall_s=time.monotonic() - began,
    )
    return result


async def _measure(
    session: aiohttp.ClientSession, url: str, pid: int, seconds: float, cap: float, spawned: float
) -> dict[str, float]:
    # As early as possible: polling starts just before the exporter starts serving.
    await wait_http(session, f"{url}/-/healthy", within=120.0, every=0.02)
    start = time.monotonic()
    rss0, cpu0 = rss_kib(pid), cpu_seconds(pid)
    out: dict[str, float] = {"startup_s": start - spawned, "rss_start_kib": float(rss0)}
    ready_at: float | None = None
    end = start + seconds
    while time.monotonic() < end:
        if ready_at is None and await answers_200(session, f"{url}/-/ready"):
            ready_at = time.monotonic()
        await asyncio.sleep(min(1.0, max(0.0, end - time.monotonic())))
    found = await _metrics(session, url)
    cpu1, wall1 = cpu_seconds(pid), time.monotonic() - start
    counts = sample_counts(found)
    out.update(
        attempted=float(counts["pushwoosh_collector_duration_seconds"]),
        succeeded=float(counts["pushwoosh_collector_last_success_timestamp_seconds"]),
        calls=sample_sums(found, "pushwoosh_api_requests_total"),
        rate_limited=sample_sums(
            found, "pushwoosh_api_request_failures_total", reason="rate_limited"
        ),
        failures=sample_sums(found, "pushwoosh_api_request_failures_total"),
        cores=(cpu1 - cpu0) / wall1,
    )
    give_up = time.monotonic() + cap
    while ready_at is None and time.monotonic() < give_up:
        if await answers_200(session, f"{url}/-/ready"):
            ready_at = time.monotonic()
            break
        await asyncio.sleep(0.5)
    final = await _metrics(session, url)
    cpu2, wall2 = cpu_seconds(pid), time.monotonic() - start
    final_counts = sample_counts(final)
    series = exported_series(final_counts)
    rss2 = rss_kib(pid)
    durations = sorted(s.value for s in final if s.name == "pushwoosh_collector_duration_seconds")
    out["scheduled_requests"] = sum(
        sample_sums(final, "pushwoosh_api_requests_total", method=m) for m in SCHEDULED
    )
    out["get_results"] = sample_sums(final, "pushwoosh_api_requests_total", method="getResults")
    out.update(
        ready_s=math.nan if ready_at is None else ready_at - start,
        calls_end=sample_sums(final, "pushwoosh_api_requests_total"),
        attempted_end=float(final_counts["pushwoosh_collector_duration_seconds"]),
        failures_end=sample_sums(final, "pushwoosh_api_request_failures_total"),
        rate_limited_end=sample_sums(
            final, "pushwoosh_api_request_failures_total", reason="rate_limited"
        ),
        cores_end=(cpu2 - cpu0) / wall2,
        measured_s=wall2,
        series=float(series),
        data_series=float(series - sum(final_counts[name] for name in HEALTH)),
        rss_end_kib=float(rss2),
        rss_kib_per_series=(rss2 - rss0) / series if series else math.nan,
        poll_s_p50=durations[len(durations) // 2] if durations else math.nan,
        poll_s_max=durations[-1] if durations else math.nan,
    )
    return out


def main() -> None:
    """Run once and print a one-row markdown table and what it means."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60.0, help="the interval measured")
    parser.add_argument("--limit", type=int, default=6000, help="max_requests_per_minute")
    parser.add_argument(
        "--cap", type=float, default=240.0, help="seconds to wait for /-/ready after the interval"
    )
    args = parser.parse_args()
    r = asyncio.run(run(args.apps, args.events, args.seconds, args.limit, args.cap))
    ready = (
        f"{r['ready_s']:.0f} s"
        if not math.isnan(r["ready_s"])
        else f"not in {r['measured_s']:.0f} s"
    )
    print(
        "| apps x events | targets | limit/min | interval | targets done in interval "
        "| API calls in interval | full first cycle (/-/ready) | shortest cycle at limit "
        "| CPU cores | RSS growth per series |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {args.apps} x {args.events} | {int(r['targets'])} | {args.limit} "
        f"| {args.seconds:g} s | {int(r['attempted'])} ({int(r['succeeded'])} ok) "
        f"| {int(r['calls'])} | {ready} | ≥ {r['cycle_s_min']:.0f} s "
        f"| {r['cores']:.2f} | {r['rss_kib_per_series'] * 1024:.0f} B |"
    )
    print()
    grown = r["rss_end_kib"] - r["rss_start_kib"]
    per_data = grown / r["data_series"] if r["data_series"] else math.nan
    notes = [
        f"Interval measured from /-/healthy, {r['startup_s']:.1f} s after the exporter process "
        "started (imports, config load); polling starts just before it serves.",
        f"Shortest cycle: {int(r['cycle_calls_min'])} calls (2 per scheduled target + 1 per "
        f"subscribers target) at {args.limit / 60:g} calls/s. (Scheduled requests + getResults)"
        f" / scheduled requests at the end: {r['calls_per_scheduled_poll']:.2f} (low while jobs"
        " are still in flight).",
        f"At the end ({r['measured_s']:.0f} s after /-/healthy): {int(r['attempted_end'])} "
        f"targets attempted, {int(r['calls_end'])} calls, {int(r['failures_end'])} failed "
        f"({int(r['rate_limited_end'])} HTTP 429); each target's last poll took "
        f"{r['poll_s_p50']:.1f} s median, {r['poll_s_max']:.1f} s max; exporter CPU "
        f"{r['cores_end']:.2f} cores, simulator CPU {r['sim_cores']:.2f} cores.",
        f"RSS {r['rss_start_kib'] / 1024:.0f} -> {r['rss_end_kib'] / 1024:.0f} MiB over "
        f"{int(r['series'])} series (pushwoosh_* samples except pushwoosh_api_*, _config_*, "
        f"_exporter_*); {int(r['data_series'])} of them are data series (without the "
        f"per-target health families): {per_data:.2f} KiB per data series.",
        f"Exporter error log: {int(r['exporter_log_lines'])} lines. Wall time {r['wall_s']:.0f} s.",
    ]
    print("\n".join(notes))


if __name__ == "__main__":
    main()

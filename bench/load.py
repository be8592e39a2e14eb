"""Scrape load while polling: N concurrent scrapers hammer /metrics for a while, the exporter
polls 100 targets of the simulator meanwhile. Reports errors and latency percentiles.

The simulator and the exporter run as their own processes (the exporter exactly as users
start it), the scrapers in this one. Run: ``python -m bench.load [--scrapers 50 --seconds 20]``.
"""

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

TOKEN = "bench-token"
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.5,"
    "application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)
"""What Prometheus sends in Accept (it also asks for gzip)."""


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config_for(api_url: str, world: dict[str, Any], targets: int) -> dict[str, Any]:
    """Apps with app stats, subscribers and their events until ``targets`` targets."""
    applications, count = [], 0
    for app in world["apps"]:
        if count >= targets:
            break
        events = [{"name": e} for e in app["events"]][: max(0, targets - count - 2)]
        applications.append({"code": app["code"], "name": app["name"], "events": events})
        count += 2 + len(events)
    return {
        "pushwoosh": {
            "api_url": api_url,
            "max_requests_per_minute": 6000,
            "max_concurrent_requests": 16,
            "results_timeout": "60s",
        },
        "collection": {"interval": "10s", "lookback": "15m"},
        "applications": applications,
    }


async def answers_200(session: aiohttp.ClientSession, url: str) -> bool:
    """Whether ``url`` answers 200 now (a refused connection is a no)."""
    try:
        async with session.get(url) as r:
            return r.status == 200
    except aiohttp.ClientError:
        return False


async def wait_http(
    session: aiohttp.ClientSession, url: str, within: float = 60.0, every: float = 0.2
) -> None:
    """Wait until ``url`` answers 200, asking every ``every`` s, at most ``within`` s."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await answers_200(session, url):
            return
        await asyncio.sleep(every)
    raise RuntimeError(f"{url} did not answer 200 in {within} s")


async def run(scrapers: int = 50, seconds: float = 20.0, targets: int = 100) -> dict[str, float]:
    """Start both processes, wait for readiness, load /metrics, report."""
    sim_port, exp_port = free_port(), free_port()
    env = {**os.environ, "PUSHWOOSH_API_TOKEN": TOKEN}
    apps = targets // 5 + 1
    sim = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "exporter.simulator",
        f"--listen=127.0.0.1:{sim_port}",
        f"--apps={apps}",
        f"--token={TOKEN}",
        "--pending=0.2-1",
        stdout=asyncio.subprocess.DEVNULL,
    )
    exporter = None
    try:
        async with aiohttp.ClientSession() as session:
            sim_url = f"http://127.0.0.1:{sim_port}"
            await wait_http(session, f"{sim_url}/_sim/world")
            async with session.get(f"{sim_url}/_sim/world") as r:
                world = await r.json()
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "config.yaml"
                path.write_text(yaml.safe_dump(config_for(sim_url, world, targets)))
                exporter = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "exporter.cli",
                    f"--config.file={path}",
                    f"--web.listen-address=127.0.0.1:{exp_port}",
                    "--log.level=error",
                    env=env,
                )
                url = f"http://127.0.0.1:{exp_port}"
                await wait_http(session, f"{url}/-/ready", within=120)
                return await _load(f"{url}/metrics", scrapers, seconds)
    finally:
        for process in (exporter, sim):
            if process is not None and process.returncode is None:
                process.terminate()
                await process.wait()


async def _load(url: str, scrapers: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=scrapers)

    async with aiohttp.ClientSession(connector=connector) as session:

        async def scraper() -> None:
            nonlocal errors
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                try:
                    async with session.get(url, headers={"Accept-Encoding": "gzip"}) as r:
                        await r.read()
                        if r.status != 200:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(scraper() for _ in range(scrapers)))
    latencies.sort()
    return {
        "scrapes": float(len(latencies)),
        "errors": float(errors),
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scrapers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--targets", type=int, default=100)
    args = parser.parse_args()
    result = asyncio.run(run(args.scrapers, args.seconds, args.targets))
    print("| scrapers | seconds | targets | scrapes | errors | p50 ms | p99 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {args.scrapers} | {args.seconds:g} | {args.targets} | {int(result['scrapes'])} "
        f"| {int(result['errors'])} | {result['p50_ms']:.1f} | {result['p99_ms']:.1f} |"
    )


if __name__ == "__main__":
    main()

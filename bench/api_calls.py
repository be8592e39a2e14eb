"""API economy: calls per target per cycle against the simulator's default job latency.

The exporter polls the demo config's targets (every method) for a number of cycles; the
simulator's request log says how many calls each poll took. Scheduled methods need the
request plus at least one getResults; the goal is at most 2.2 on average.
Run: ``python -m bench.api_calls [--cycles 8 --interval 5]``.
"""

import argparse
import asyncio
import time
from collections import Counter
from typing import Any

import aiohttp

from exporter.demo import demo_config
from exporter.logsetup import configure_logging
from exporter.runtime import Exporter, ListenAddress
from exporter.simulator.api import SCHEDULED
from exporter.simulator.server import start_simulator
from exporter.simulator.settings import SimulatorSettings

TOKEN = "bench-token"


async def run(cycles: int = 8, interval: float = 5.0) -> dict[str, Any]:
    """Poll for ``cycles`` intervals; count calls by method, per target and cycle."""
    async with await start_simulator(SimulatorSettings(seed=42, apps=3, token=TOKEN)) as sim:
        async with aiohttp.ClientSession() as session, session.get(f"{sim.url}/_sim/world") as r:
            world = await r.json()
        config = demo_config(sim.url, world, interval=f"{interval:g}s")
        exporter = Exporter(lambda: (config, TOKEN), listen=ListenAddress("127.0.0.1", 0))
        await exporter.start()
        started = time.monotonic()
        await asyncio.sleep(cycles * interval)
        await exporter.stop()
        elapsed = time.monotonic() - started
        log = list(sim.state.requests)
    methods = Counter(entry["method"] for entry in log)
    scheduled_polls = sum(n for m, n in methods.items() if m in SCHEDULED)
    # After two cycles every method has learnt its jobs' duration: the steady state.
    warm = log[0]["time"] + 2 * interval
    steady = Counter(entry["method"] for entry in log if entry["time"] >= warm)
    steady_polls = sum(n for m, n in steady.items() if m in SCHEDULED)
    return {
        "seconds": elapsed,
        "methods": dict(methods),
        "scheduled_polls": scheduled_polls,
        "calls_per_scheduled_poll": (scheduled_polls + methods["getResults"]) / scheduled_polls,
        "steady_calls_per_scheduled_poll": (steady_polls + steady["getResults"]) / steady_polls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cycles", type=int, default=8)
    parser.add_argument("--interval", type=float, default=5.0)
    args = parser.parse_args()
    configure_logging("error")
    result = asyncio.run(run(args.cycles, args.interval))
    print("| scheduled polls | getResults calls | calls per poll, all | after 2 cycles |")
    print("| --- | --- | --- | --- |")
    print(
        f"| {result['scheduled_polls']} | {result['methods'].get('getResults', 0)} "
        f"| {result['calls_per_scheduled_poll']:.2f} "
        f"| {result['steady_calls_per_scheduled_poll']:.2f} |"
    )
    print()
    print("calls by method:", ", ".join(f"{m}={n}" for m, n in sorted(result["methods"].items())))


if __name__ == "__main__":
    main()

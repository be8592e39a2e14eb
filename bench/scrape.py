"""Scrape cost: our /metrics versus a bare aiohttp server and prometheus-client, side by side.

Three servers on loopback, each in its own process, holding the same series:

- ``exporter``: the exporter's own web app and Exposition over a Store;
- ``bytes``: a minimal aiohttp handler returning the same bytes from memory (the floor);
- ``client``: an aiohttp handler calling prometheus-client's ``generate_latest`` on a
  registry with the same series as ordinary labelled Counters.

Requests alternate between the servers in rounds, so machine noise hits all three alike;
the report is the ratio of medians. Run: ``python -m bench.scrape [--series 10000]``.
"""

import argparse
import asyncio
import multiprocessing
import statistics
import time
from collections.abc import Callable

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, generate_latest

from exporter.families import APP_STATS_FAMILIES
from exporter.metrics import Exposition, SelfMetrics
from exporter.server import WebHooks, create_app
from exporter.store import BucketCount, Observation, Store, TargetKey

SERIES_PER_APP = len(APP_STATS_FAMILIES)
PLAIN = {"Accept-Encoding": "identity"}  # compare the same bytes on the wire


def populated_store(series: int) -> Store:
    """A store with ``series`` counters: apps with the six getAppStats counters each."""
    store = Store()
    apps = max(1, series // SERIES_PER_APP)
    keys = [TargetKey("app_stats", f"APP{i:05d}-00000") for i in range(apps)]
    store.set_targets(keys)
    for i, key in enumerate(keys):
        buckets = tuple(
            BucketCount(f.series(app=key.target, app_name=f"app-{i}"), 0, 1000 + i)
            for f in APP_STATS_FAMILIES.values()
        )
        store.apply(Observation(key, 0, 60, buckets=buckets), started=0.0, finished=1.0)
        store.apply(
            Observation(
                key, 0, 120, buckets=tuple(BucketCount(b.series, 0, b.count * 2) for b in buckets)
            ),
            started=60.0,
            finished=61.0,
        )
    return store


def client_registry(series: int) -> CollectorRegistry:
    """The same series as prometheus-client Counters."""
    registry = CollectorRegistry()
    apps = max(1, series // SERIES_PER_APP)
    for family in APP_STATS_FAMILIES.values():
        counter = Counter(
            family.name.removesuffix("_total"), family.help, ["app", "app_name"], registry=registry
        )
        for i in range(apps):
            counter.labels(f"APP{i:05d}-00000", f"app-{i}").inc(1000 + i)
    return registry


async def _no_reload() -> str | None:
    return None


def exporter_app(series: int) -> web.Application:
    store = populated_store(series)
    exposition = Exposition(store.snapshot, SelfMetrics())
    hooks = WebHooks(exposition.render_async, lambda: True, lambda: [], _no_reload)
    return create_app(hooks)


def bytes_app(series: int) -> web.Application:
    store = populated_store(series)
    body = Exposition(store.snapshot, SelfMetrics()).render(None, None)[0]

    async def handler(request: web.Request) -> web.Response:
        response = web.Response(body=body)
        response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
        return response

    app = web.Application()
    app.router.add_get("/metrics", handler)
    return app


def client_app(series: int) -> web.Application:
    registry = client_registry(series)

    async def handler(request: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(registry))
        response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
        return response

    app = web.Application()
    app.router.add_get("/metrics", handler)
    return app


APPS: dict[str, Callable[[int], web.Application]] = {
    "exporter": exporter_app,
    "bytes": bytes_app,
    "client": client_app,
}


def _serve(kind: str, series: int, port_queue: "multiprocessing.Queue[int]") -> None:
    async def main() -> None:
        runner = web.AppRunner(APPS[kind](series), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_queue.put(int(runner.addresses[0][1]))
        await asyncio.Event().wait()

    asyncio.run(main())


async def _measure(ports: dict[str, int], rounds: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {kind: [] for kind in ports}
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        for _ in range(3):  # warm-up: connections, first renderings
            for port in ports.values():
                async with session.get(f"http://127.0.0.1:{port}/metrics", headers=PLAIN) as r:
                    await r.read()
        for _ in range(rounds):
            for kind, port in ports.items():
                start = time.perf_counter()
                async with session.get(f"http://127.0.0.1:{port}/metrics", headers=PLAIN) as r:
                    await r.read()
                timings[kind].append(time.perf_counter() - start)
    return timings


def run(
    series: int = 10_000, rounds: int = 200, kinds: tuple[str, ...] = tuple(APPS)
) -> dict[str, float]:
    """Median latency per server (ms) and, when all three ran, the two ratios of the goal."""
    context = multiprocessing.get_context("spawn")
    ports: dict[str, int] = {}
    processes = []
    for kind in kinds:
        queue: multiprocessing.Queue[int] = context.Queue()
        process = context.Process(target=_serve, args=(kind, series, queue), daemon=True)
        process.start()
        processes.append(process)
        ports[kind] = queue.get(timeout=120)
    try:
        timings = asyncio.run(_measure(ports, rounds))
    finally:
        for process in processes:
            process.terminate()
            process.join(10)
    medians = {kind: statistics.median(values) for kind, values in timings.items()}
    result = {"series": float(series)} | {f"{k}_ms": v * 1000 for k, v in medians.items()}
    if "bytes" in medians and "exporter" in medians:
        result["exporter_vs_bytes"] = medians["exporter"] / medians["bytes"]
    if "client" in medians and "exporter" in medians:
        result["client_vs_exporter"] = medians["client"] / medians["exporter"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    result = run(args.series, args.rounds)
    print("| series | exporter ms | bytes ms | client ms | exporter/bytes | client/exporter |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| {int(result['series'])} | {result['exporter_ms']:.2f} | {result['bytes_ms']:.2f} "
        f"| {result['client_ms']:.2f} | {result['exporter_vs_bytes']:.2f} "
        f"| {result['client_vs_exporter']:.1f} |"
    )


if __name__ == "__main__":
    main()

"""Run the simulator and the exporter in-process on real loopback ports, and read both."""

import asyncio
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from exporter.config import Config
from exporter.runtime import Exporter, ListenAddress
from exporter.simulator.server import RunningSimulator

TOKEN = "e2e-token-7c1f9a3b5d"

QuietSim = tuple[RunningSimulator, dict[str, Any], aiohttp.ClientSession]
"""A simulator without background traffic, its world, and a client session."""

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def e2e_config(api_url: str, world: dict[str, Any], **collection: str) -> Config:
    """Every kind of target from the simulator's world, polled every second."""
    return Config.model_validate(e2e_document(api_url, world, **collection))


def e2e_document(api_url: str, world: dict[str, Any], **collection: str) -> dict[str, Any]:
    """The config document of :func:`e2e_config`, for a test to change before validating."""
    app = world["apps"][0]
    return {
        "pushwoosh": {"api_url": api_url, "results_timeout": "20s", "request_timeout": "5s"},
        "collection": {"interval": "1s", "lookback": "15m", **collection},
        "applications": [
            {
                "code": app["code"],
                "name": app["name"],
                "events": [{"name": app["events"][0]}],
                "tags": [{"name": app["tags"][0], "max_values": 5}],
            }
        ],
        "campaigns": [{"code": world["campaigns"][0], "name": "campaign-one"}],
        "messages": [
            {"code": world["messages"][0]},
            {"code": world["messages"][1], "platforms": [1, 3]},
        ],
        "tags": [{"name": world["tags"][0], "max_values": 10}],
    }


async def samples_of(
    session: aiohttp.ClientSession, exporter: Exporter, keys: Iterable[Any]
) -> dict[Any, float | None]:
    """The current value of each (name, labels) key, None where there is no such sample."""
    samples = await scrape(session, exporter)
    return {key: samples.get(key) for key in keys}


async def start_exporter(config: Config, token: str = TOKEN, **kwargs: Any) -> Exporter:
    """An exporter serving on a free loopback port."""
    exporter = Exporter(lambda: (config, token), listen=ListenAddress("127.0.0.1", 0), **kwargs)
    await exporter.start()
    return exporter


async def get_json(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as response:
        response.raise_for_status()
        return await response.json()


async def scrape(session: aiohttp.ClientSession, exporter: Exporter) -> Samples:
    """Every sample of /metrics, by (name, sorted labels)."""
    async with session.get(f"http://127.0.0.1:{exporter.port}/metrics") as response:
        text = await response.text()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def wait_for(
    condition: Callable[[], Any], within: float = 30.0, what: str = "condition"
) -> Any:
    """Await ``condition()`` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def labels(**pairs: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(pairs.items()))


def delivered_jobs(log: list[dict[str, Any]], method: str, **args: Any) -> list[float]:
    """Creation times of ``method`` jobs with these args whose results were delivered."""
    return [entry["time"] for entry in delivered_entries(log, method, **args)]


def delivered_entries(log: list[dict[str, Any]], method: str, **args: Any) -> list[dict[str, Any]]:
    """Log entries of ``method`` jobs with these args whose results were delivered, oldest
    first."""
    done = {
        entry["args"].get("request_id")
        for entry in log
        if entry["method"] == "getResults" and entry["status_code"] == 200
    }
    return sorted(
        (
            entry
            for entry in log
            if entry["method"] == method
            and entry.get("request_id") in done
            and all(entry["args"].get(k) == v for k, v in args.items())
        ),
        key=lambda entry: float(entry["time"]),
    )


def past_window(entry: dict[str, Any], end_key: str, size: int) -> int:
    """Start of the first bucket after a job's window.

    A job answers at its creation time but only for buckets up to its ``dateto``; events
    already recorded in a later bucket are not in that answer, so the exporter counts them
    at the next poll. A truth taken from the baseline job's time must add them back."""
    text = entry["args"][end_key]
    if len(text) == len("2026-11-28"):
        # A whole day (events): the exporter keeps the hours up to its poll, the job's time.
        return int(float(entry["time"])) // size * size + size
    end = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    return int(end.timestamp()) // size * size + size


async def metric_value(
    session: aiohttp.ClientSession, url: str, name: str, **lbls: str
) -> float | None:
    """The value of one sample at ``url``/metrics; None when absent or not answering."""
    try:
        async with session.get(f"{url}/metrics") as r:
            text = await r.text()
    except aiohttp.ClientError:
        return None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and tuple(sorted(sample.labels.items())) == labels(**lbls):
                return sample.value
    return None


def minute(seconds: float) -> str:
    """The simulator's name of the minute bucket holding ``seconds``."""
    return datetime.fromtimestamp(seconds // 60 * 60, UTC).strftime("%Y-%m-%d %H:%M:%S")


async def inject(
    session: aiohttp.ClientSession,
    sim: RunningSimulator,
    app: str,
    count: int,
    bucket: float | None = None,
) -> None:
    """Add ``count`` messages sent by ``app`` to the simulator (now, or in ``bucket``)."""
    body: dict[str, Any] = {
        "kind": "app",
        "app": app,
        "scope": "messages",
        "action": "send",
        "count": count,
    }
    if bucket is not None:
        body["bucket"] = minute(bucket)
    async with session.post(f"{sim.url}/_sim/inject", json=body) as r:
        assert r.status == 200

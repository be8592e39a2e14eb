"""--shard=i/n: three shards against one simulator export every series exactly once, and
together exactly what one unsharded exporter exports."""

from typing import Any

import aiohttp
from harness import TOKEN, get_json, scrape, wait_for

from exporter.collection.targets import Shard
from exporter.demo import demo_config
from exporter.families import DATA_FAMILIES
from exporter.runtime import Exporter, ListenAddress
from exporter.simulator.server import start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings

DATA = {f.name for f in DATA_FAMILIES} | {"pushwoosh_up"}


async def test_shards_partition_the_series_of_one_exporter() -> None:
    settings = SimulatorSettings(
        seed=8, apps=3, token=TOKEN, faults=Faults(pending_min=0.05, pending_max=0.1)
    )
    async with await start_simulator(settings) as sim, aiohttp.ClientSession() as session:
        config = demo_config(
            sim.url, await get_json(session, f"{sim.url}/_sim/world"), interval="1s"
        )
        shards: list[Shard | None] = [None, Shard(0, 3), Shard(1, 3), Shard(2, 3)]
        exporters = [
            Exporter(lambda: (config, TOKEN), listen=ListenAddress("127.0.0.1", 0), shard=shard)
            for shard in shards
        ]
        for exporter in exporters:
            await exporter.start()
        try:

            async def series(exporter: Exporter) -> set[Any] | None:
                async with session.get(f"http://127.0.0.1:{exporter.port}/-/ready") as r:
                    if r.status != 200:
                        return None
                return {key for key in await scrape(session, exporter) if key[0] in DATA}

            whole, *parts = [await wait_for(lambda e=e: series(e), what="ready") for e in exporters]
        finally:
            for exporter in exporters:
                await exporter.stop()
    assert all(parts), "a shard got no target: the test would prove nothing"
    assert sum(len(p) for p in parts) == len(whole), "a series is exported by two shards"
    assert set().union(*parts) == whole

"""The API token appears nowhere: not in debug logs, /metrics, the landing page, the state file."""

import asyncio
import signal
from pathlib import Path

import aiohttp
from harness import get_json, wait_for
from processes import ExporterProcess, write_config

from exporter.simulator.server import start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings

SECRET = "pw-SECRET-0f9e8d7c6b5a4f3e"


async def test_the_token_never_leaves_the_process(tmp_path: Path) -> None:
    settings = SimulatorSettings(
        seed=2, apps=1, token=SECRET, faults=Faults(pending_min=0.05, pending_max=0.2)
    )
    async with await start_simulator(settings) as sim, aiohttp.ClientSession() as session:
        world = await get_json(session, f"{sim.url}/_sim/world")
        config = write_config(tmp_path / "config.yaml", sim.url, world)
        state = tmp_path / "state.json"
        log = tmp_path / "exporter.log"
        args = [f"--config.file={config}", f"--state.file={state}", "--log.level=debug"]
        good = await ExporterProcess(args, SECRET, log).start()
        # A second exporter with a wrong token: its token must not be echoed either.
        wrong_token = "pw-WRONG-1a2b3c4d5e6f7a8b"
        other = await ExporterProcess(
            [f"--config.file={config}", "--log.level=debug"], wrong_token, log
        ).start()
        pages: list[bytes] = []
        try:

            async def ready(url: str) -> bool:
                try:
                    async with session.get(f"{url}/-/ready") as r:
                        return r.status == 200
                except aiohttp.ClientError:
                    return False

            await wait_for(lambda: ready(good.url), what="ready")
            await wait_for(lambda: ready(other.url), what="ready with a wrong token")
            # Exercise the error paths too: 5xx, 429, bodies that are not JSON, wrong shapes.
            faults = {
                "error_rate": 0.3,
                "rate_limit_rate": 0.2,
                "retry_after": 0.1,
                "malformed_rate": 0.1,
                "wrong_shape_rate": 0.1,
            }
            async with session.post(f"{sim.url}/_sim/faults", json=faults) as r:
                assert r.status == 200
            await asyncio.sleep(4)
            for exporter in (good, other):
                for path in ("/metrics", "/", "/-/healthy", "/-/ready"):
                    async with session.get(f"{exporter.url}{path}") as r:
                        pages.append(await r.read())
        finally:
            for exporter in (good, other):
                exporter.signal(signal.SIGTERM)
                await exporter.wait()
    output = log.read_bytes()
    assert b"level=debug" in output, "the run did not log at debug level"
    assert b"poll_failed" in output, "the error paths were not exercised"
    everything = [output, state.read_bytes(), *pages]
    for secret in (SECRET, wrong_token):
        assert not any(secret.encode() in blob for blob in everything)

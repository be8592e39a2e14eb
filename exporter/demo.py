"""``--demo``: the built-in simulator in-process and a config that collects everything it has.

No account and no token needed: the simulator runs on a free loopback port with a fixed
seed, and the exporter polls it every few seconds so metrics move at once.
"""

import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import structlog

from exporter.config import Config, ConfigError
from exporter.runtime import Exporter, ListenAddress
from exporter.simulator.server import start_simulator
from exporter.simulator.settings import SimulatorSettings

log = structlog.get_logger(__name__)

DEMO_TOKEN = "demo-token"
DEMO_INTERVAL = "5s"


def demo_config(api_url: str, world: dict[str, Any], interval: str = DEMO_INTERVAL) -> Config:
    """A config collecting every method from the simulator's world: 3 apps with their
    events and tags, a campaign, both kinds of message and an account-wide tag."""
    apps = world["apps"][:3]
    applications = [
        {
            "code": app["code"],
            "name": app["name"],
            "subscribers": "v2" if i == 2 else "v1",
            "events": [{"name": name} for name in app["events"]],
            "tags": [{"name": name, "max_values": 10} for name in app["tags"]],
        }
        for i, app in enumerate(apps)
    ]
    messages = [{"code": code} for code in world["messages"][:1]]
    messages += [{"code": code, "platforms": [1, 3]} for code in world["messages"][1:2]]
    return Config.model_validate(
        {
            "pushwoosh": {"api_url": api_url, "results_timeout": "60s"},
            "collection": {"interval": interval, "lookback": "15m"},
            "applications": applications,
            "campaigns": [
                {"code": code, "name": f"campaign-{i + 1}"}
                for i, code in enumerate(world["campaigns"][:1])
            ],
            "messages": messages,
            "tags": [{"name": name, "max_values": 15} for name in world["tags"][:1]],
        }
    )


async def run_demo(
    listen: ListenAddress, telemetry_path: str = "/metrics", web_config_file: Path | None = None
) -> int:
    """Start the simulator and the exporter (with ``--web.config.file`` if given); serve until
    SIGINT or SIGTERM."""
    simulator = await start_simulator(SimulatorSettings(seed=42, apps=3, token=DEMO_TOKEN))
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{simulator.url}/_sim/world") as response,
        ):
            world = await response.json()
        config = demo_config(simulator.url, world)
        exporter = Exporter(
            lambda: (config, DEMO_TOKEN),
            listen=listen,
            telemetry_path=telemetry_path,
            web_config_file=web_config_file,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await exporter.start()
        except ConfigError as exc:
            print(f"pushwoosh-exporter: {exc}", file=sys.stderr)
            await exporter.stop()
            return 1
        except OSError as exc:
            print(f"pushwoosh-exporter: cannot listen: {exc.strerror or exc}", file=sys.stderr)
            return 1
        base = (
            f"{'https' if exporter.tls else 'http'}://{listen.host or '127.0.0.1'}:{exporter.port}"
        )
        print(
            f"pushwoosh-exporter demo: simulator at {simulator.url}; open "
            f"{base}/ and {base}{telemetry_path}",
            flush=True,
        )
        await stop.wait()
        await exporter.stop()
        return 0
    finally:
        await simulator.close()

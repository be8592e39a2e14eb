"""Start the exporter as a real process, and stop it by its pid."""

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import yaml


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(path: Path, api_url: str, world: dict[str, Any], **collection: str) -> Path:
    """A config with one app (all its collectors) and one campaign, polled every second."""
    app = world["apps"][0]
    document = {
        "pushwoosh": {"api_url": api_url, "results_timeout": "20s", "request_timeout": "5s"},
        "collection": {"interval": "1s", "lookback": "15m", **collection},
        "applications": [
            {"code": app["code"], "name": app["name"], "events": [{"name": app["events"][0]}]}
        ],
        "campaigns": [{"code": world["campaigns"][0], "name": "campaign-one"}],
    }
    path.write_text(yaml.safe_dump(document))
    return path


class ExporterProcess:
    """``pushwoosh-exporter`` in a child process on a free loopback port."""

    def __init__(self, args: list[str], token: str, log: Path) -> None:
        self.port = free_port()
        self.args = [*args, f"--web.listen-address=127.0.0.1:{self.port}"]
        self.token = token
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> "ExporterProcess":
        env = {**os.environ, "PUSHWOOSH_API_TOKEN": self.token}
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "exporter.cli", *self.args, env=env, stdout=log, stderr=log
            )
        return self

    def signal(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)

    async def wait(self, within: float = 10.0) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), within)

    async def kill(self) -> None:
        """SIGKILL, and reap: no checkpoint, no cleanup, as a crash."""
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

"""A real Prometheus scrapes the exporter: every dashboard and rule expression runs, the
delivery, audience and health panels have data, and sends match the ground truth exactly."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from harness import TOKEN, delivered_entries, get_json, past_window, start_exporter, wait_for
from processes import free_port

from exporter.config import DiscoverySettings
from exporter.demo import demo_config
from exporter.simulator.server import start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


class Prometheus:
    """Debian's prometheus on a loopback port, its config and data in a temporary folder."""

    def __init__(self, binary: str, folder: Path, target: str) -> None:
        self.port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(DEPLOY / "prometheus" / "alerts.yaml")],
            "scrape_configs": [
                {"job_name": "pushwoosh-exporter", "static_configs": [{"targets": [target]}]}
            ],
        }
        (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.args = [
            binary,
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        self.log = folder / "prometheus.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(*self.args, stdout=log, stderr=log)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await asyncio.wait_for(self.process.wait(), 20)

    async def query(
        self, session: aiohttp.ClientSession, expr: str, at: float | None = None
    ) -> Any:
        params = {"query": expr, **({"time": str(at)} if at else {})}
        async with session.get(f"http://127.0.0.1:{self.port}/api/v1/query", params=params) as r:
            body = await r.json()
        assert body["status"] == "success", (expr, body)
        return body["data"]["result"]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def dashboard() -> dict[str, Any]:
    return json.loads((DEPLOY / "grafana" / "pushwoosh-exporter.json").read_text())


def all_values() -> dict[str, str]:
    """What Grafana puts in each query variable when "All" is selected."""
    variables = dashboard()["templating"]["list"]
    return {v["name"]: v["allValue"] for v in variables if v["type"] == "query"}


def dashboard_panels(variables: dict[str, str]) -> list[tuple[str, str, list[str]]]:
    """(row, title, expressions) of every panel, template variables substituted as Grafana
    does: a selected value, or the variable's allValue for "All"."""
    found, row = [], ""
    for panel in dashboard()["panels"]:
        if panel["type"] == "row":
            row = panel["title"]
            continue
        exprs = []
        for target in panel["targets"]:
            expr = target["expr"]
            for name, value in variables.items():
                expr = expr.replace(f"${{{name}}}", value).replace(f"${name}", value)
            assert "$" not in expr, f"{panel['title']}: a variable the test does not fill"
            exprs.append(expr)
        found.append((row, panel["title"], exprs))
    return found


def rule_expressions() -> list[str]:
    groups = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


@pytest.mark.timeout(240)
async def test_dashboard_and_rules_on_real_data(
    prometheus_binary: str, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    # The API hangs until Prometheus scrapes, so its first sample of every counter is the
    # baseline; a few 5xx make the failure panels show data too.
    faults = Faults(pending_min=0.05, pending_max=0.3, hang=True, error_rate=0.05)
    async with await start_simulator(
        SimulatorSettings(seed=21, apps=3, token=TOKEN, faults=faults)
    ) as sim:
        world = await get_json(session, f"{sim.url}/_sim/world")
        # Discovery on (campaigns of the listed apps) so its panels have data too.
        discovery = DiscoverySettings.model_validate({"interval": "5s", "campaigns": {}})
        config = demo_config(sim.url, world, interval="2s").model_copy(
            update={"discovery": discovery}
        )
        exporter = await start_exporter(config)
        prometheus = Prometheus(prometheus_binary, tmp_path, f"127.0.0.1:{exporter.port}")
        await prometheus.start()
        try:

            async def scraped() -> bool:
                try:
                    up = await prometheus.query(session, 'up{job="pushwoosh-exporter"}')
                except (aiohttp.ClientError, AssertionError):
                    return False
                return bool(up) and up[0]["value"][1] == "1"

            await wait_for(scraped, within=60, what="Prometheus' first scrape")
            async with session.post(f"{sim.url}/_sim/faults", json={"hang": False}) as r:
                assert r.status == 200
            started = time.time()
            await asyncio.sleep(30)
            async with session.post(f"{sim.url}/_sim/faults", json={"stuck_results": True}) as r:
                assert r.status == 200
            await asyncio.sleep(4)  # the last results are applied and scraped
            log = await get_json(session, f"{sim.url}/_sim/requests")
            app = world["apps"][0]
            entries = delivered_entries(log, "getAppStats", application=app["code"])
            sends = {"kind": "app", "app": app["code"], "scope": "messages", "action": "send"}
            # Events recorded before the baseline job but in a bucket after its window are
            # not in the baseline: the next poll counts them (see harness.past_window).
            beyond = await get_json_params(
                session,
                f"{sim.url}/_sim/truth",
                {
                    **sends,
                    "after": "0",
                    "until": str(entries[0]["time"]),
                    "bucket_from": str(past_window(entries[0], "dateto", 60)),
                },
            )
            # What the exporter had added by each delivered job, by the simulator's truth.
            since_baseline = [0.0]
            for entry in entries[1:]:
                query = {**sends, "after": str(entries[0]["time"]), "until": str(entry["time"])}
                answer = await get_json_params(session, f"{sim.url}/_sim/truth", query)
                since_baseline.append(float(answer["count"]) + float(beyond["count"]))
            now = time.time()
            window = int(now - started) + 10
            selector = f'pushwoosh_messages_sent_total{{app="{app["code"]}"}}'
            raw = await prometheus.query(session, f"{selector}[{window}s]", at=now)
            values = [float(v) for _, v in raw[0]["values"]]
            assert values == sorted(values), "the counter went down"
            # The first sample is the baseline (0) unless a poll beat the first scrape; either
            # way it is the truth at some delivered job, and the last is the truth at the last.
            assert values[0] in since_baseline, (values, since_baseline)
            assert values[-1] == since_baseline[-1] > 0, (values, since_baseline)
            first = since_baseline.index(values[0])
            increase = since_baseline[-1] - since_baseline[first]
            assert values[-1] - values[0] == increase

            failures = []
            one = {"app": app["code"], "campaign": world["campaigns"][0]}
            for variables in (all_values(), one):
                for row, title, exprs in dashboard_panels(variables):
                    results = [await prometheus.query(session, e, at=now) for e in exprs]
                    with_data = ("Delivery", "Audience", "Exporter health", "Discovery")
                    if row in with_data and not any(results):
                        failures.append(f"{row} / {title} with {variables}: no data")
            for expr in rule_expressions():
                await prometheus.query(session, expr, at=now)
            assert not failures, failures
        finally:
            await prometheus.stop()
            await exporter.stop()


async def get_json_params(session: aiohttp.ClientSession, url: str, params: dict[str, str]) -> Any:
    async with session.get(url, params=params) as r:
        assert r.status == 200, await r.text()
        return await r.json()

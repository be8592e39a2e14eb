"""``--probe`` and ``--probe.dump``: the real command against the simulator over HTTP.

Each test runs ``pushwoosh-exporter --probe`` as a child process, so what is checked is
exactly what a user sees: the exit code, stdout, stderr and the dump directory."""

import asyncio
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from harness import get_json

from exporter.simulator.server import RunningSimulator, start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings

SECRET = "pw-PROBE-7d6c5b4a3f2e1d0c"
_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')


@dataclass
class Probe:
    """One finished ``--probe`` run."""

    code: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[dict[str, str]]:
        """stdout, one dict of fields per line."""
        return [
            {k: json.loads(v) if v.startswith('"') else v for k, v in _PAIR.findall(line)}
            for line in self.stdout.splitlines()
        ]

    def targets(self) -> set[tuple[str, str]]:
        return {(line["collector"], line["target"]) for line in self.lines}


@dataclass
class Account:
    sim: RunningSimulator
    world: dict[str, Any]
    session: aiohttp.ClientSession
    config: Path

    @property
    def first(self) -> dict[str, Any]:
        return dict(self.world["apps"][0])

    @property
    def second(self) -> dict[str, Any]:
        return dict(self.world["apps"][1])

    def expected_targets(self) -> set[tuple[str, str]]:
        """Every target the config lists (no attribute filters: their request shape is
        another change's business)."""
        first, second = self.first, self.second
        return {
            ("app_stats", first["code"]),
            ("subscribers", first["code"]),
            ("events", f"{first['code']}/{first['events'][0]}"),
            ("tag", f"{first['code']}/{first['tags'][0]}"),
            ("app_stats", second["code"]),
            ("subscribers", second["code"]),
            ("campaign", self.world["campaigns"][0]),
            ("message", self.world["messages"][0]),
            ("message", self.world["messages"][1]),
            ("tag", self.world["tags"][0]),
        }

    async def faults(self, **knobs: Any) -> None:
        async with self.session.post(f"{self.sim.url}/_sim/faults", json=knobs) as r:
            assert r.status == 200

    async def api_calls(self) -> int:
        """API calls the simulator answered (tag file downloads are not in its log)."""
        return len(await get_json(self.session, f"{self.sim.url}/_sim/requests"))

    async def probe(self, *flags: str, token: str = SECRET) -> Probe:
        env = {**os.environ, "PUSHWOOSH_API_TOKEN": token}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "exporter.cli",
            f"--config.file={self.config}",
            "--probe",
            *flags,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 90)
        assert process.returncode is not None
        return Probe(process.returncode, out.decode(), err.decode())


@pytest.fixture
async def account(tmp_path: Path) -> AsyncIterator[Account]:
    settings = SimulatorSettings(
        seed=11, apps=2, token=SECRET, faults=Faults(pending_min=0.05, pending_max=0.2)
    )
    async with await start_simulator(settings) as sim, aiohttp.ClientSession() as session:
        world = await get_json(session, f"{sim.url}/_sim/world")
        first, second = world["apps"][0], world["apps"][1]
        document = {
            "pushwoosh": {"api_url": sim.url, "results_timeout": "20s", "request_timeout": "5s"},
            "applications": [
                {
                    "code": first["code"],
                    "name": first["name"],
                    "events": [{"name": first["events"][0]}],
                    "tags": [{"name": first["tags"][0], "max_values": 5}],
                },
                {"code": second["code"], "subscribers": "v2"},
            ],
            "campaigns": [{"code": world["campaigns"][0]}],
            "messages": [
                {"code": world["messages"][0]},
                {"code": world["messages"][1], "platforms": [1, 3]},
            ],
            "tags": [{"name": world["tags"][0]}],
        }
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump(document))
        yield Account(sim, world, session, config)


async def test_probe_polls_every_target_once_and_exits_0(account: Account) -> None:
    probe = await account.probe()
    assert probe.code == 0, probe.stderr
    assert len(probe.lines) == len(account.expected_targets())
    assert probe.targets() == account.expected_targets()
    for line in probe.lines:
        assert line["result"] == "ok", line
        assert int(line["calls"]) >= 1
        assert int(line["series"]) >= 1
    by_target = {(line["collector"], line["target"]): line for line in probe.lines}
    app = account.first["code"]
    assert by_target["app_stats", app]["method"] == "getAppStats"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00Z", by_target["app_stats", app]["newest"])
    assert by_target["tag", f"{app}/{account.first['tags'][0]}"]["method"] == "getTagStats,tagFile"
    assert by_target["subscribers", app]["newest"] == "-"
    # Every line's calls were made: the simulator saw them all (tag downloads aside).
    downloads = sum(line["method"].endswith("tagFile") for line in probe.lines)
    total = sum(int(line["calls"]) for line in probe.lines)
    assert total == await account.api_calls() + downloads


async def test_the_dump_holds_every_call_and_never_the_token(
    account: Account, tmp_path: Path
) -> None:
    dump = tmp_path / "dump"
    probe = await account.probe(f"--probe.dump={dump}")
    assert probe.code == 0, probe.stderr

    files = sorted(p.name for p in dump.iterdir())
    calls = [name for name in files if re.fullmatch(r"\d{4}-\w+\.json", name)]
    bodies = [name for name in files if name not in calls]
    documents = [json.loads((dump / name).read_text()) for name in calls]
    assert len(calls) == sum(int(line["calls"]) for line in probe.lines)
    assert [d["call"] for d in documents] == list(range(1, len(calls) + 1))
    for name, document in zip(calls, documents, strict=True):
        assert name == f"{document['call']:04d}-{document['method']}.json"
        assert document["response"]["status"] == 200
    methods = [d["method"] for d in documents]
    downloads = methods.count("tagFile")
    assert downloads == 2
    assert len(calls) == await account.api_calls() + downloads

    # Tag files are kept byte for byte beside their call; JSON answers are embedded.
    csv_files = [name for name in bodies if name.endswith("-tagFile.body.csv")]
    assert len(csv_files) == downloads
    assert all(";" in (dump / name).read_text() for name in csv_files)
    results = [d for d in documents if d["method"] == "getResults"]
    assert results
    assert all(d["response"]["json"]["status_code"] == 200 for d in results)

    # The token was removed, not dropped: the request shows where it went.
    v1 = [d for d in documents if d["method"] == "getAppStats"]
    assert v1
    assert all(d["request"]["body"]["request"]["auth"] == "<token>" for d in v1)
    v2 = [d for d in documents if d["method"] == "getSubscribersStatistics"]
    assert [d["request"]["headers"]["Authorization"] for d in v2] == ["Key <token>"]
    targets = {d["target"] for d in documents}
    assert f"app_stats:{account.first['code']}" in targets

    everything = [probe.stdout.encode(), probe.stderr.encode()]
    everything += [(dump / name).read_bytes() for name in files]
    assert not any(SECRET.encode() in blob for blob in everything)


async def test_a_wrong_token_fails_every_target_with_auth_and_exits_1(
    account: Account, tmp_path: Path
) -> None:
    wrong = "pw-WRONG-0a1b2c3d4e5f"
    dump = tmp_path / "dump"
    probe = await account.probe(f"--probe.dump={dump}", token=wrong)
    assert probe.code == 1
    assert probe.targets() == account.expected_targets()
    assert {line["result"] for line in probe.lines} == {"auth"}
    assert all(line["error"] for line in probe.lines)
    assert "probe_failed" in probe.stderr
    assert "PUSHWOOSH_API_TOKEN" in probe.stderr
    everything = [probe.stdout.encode(), probe.stderr.encode()]
    everything += [p.read_bytes() for p in dump.iterdir()]
    assert not any(wrong.encode() in blob or SECRET.encode() in blob for blob in everything)


async def test_a_forbidden_app_fails_its_targets_only(account: Account) -> None:
    forbidden = account.second["code"]
    await account.faults(forbidden_apps=[forbidden])
    probe = await account.probe()
    assert probe.code == 1
    failed = {(line["collector"], line["target"]) for line in probe.lines if line["result"] != "ok"}
    assert failed == {("app_stats", forbidden), ("subscribers", forbidden)}
    for line in probe.lines:
        if (line["collector"], line["target"]) in failed:
            assert line["result"] == "auth"
            assert "403" in line["error"]


async def test_an_unreadable_answer_shows_its_path_and_body(account: Account) -> None:
    await account.faults(malformed_rate=1.0)
    probe = await account.probe()
    assert probe.code == 1
    for line in probe.lines:
        assert (line["result"], line["path"]) == ("malformed", "body")
        assert line["body"] == "<html>upstream error</html>"


async def test_shards_split_the_targets(account: Account) -> None:
    first = await account.probe("--shard=0/2")
    second = await account.probe("--shard=1/2")
    assert (first.code, second.code) == (0, 0)
    assert first.targets()
    assert second.targets()
    assert not first.targets() & second.targets()
    assert first.targets() | second.targets() == account.expected_targets()


async def test_probe_includes_discovered_targets_and_reports_each_listing(
    tmp_path: Path,
) -> None:
    settings = SimulatorSettings(
        seed=5,
        apps=3,
        campaigns=4,
        token=SECRET,
        faults=Faults(pending_min=0.05, pending_max=0.2, apps_page_size=1, campaigns_page_cap=1),
    )
    async with await start_simulator(settings) as sim, aiohttp.ClientSession() as session:
        world = await get_json(session, f"{sim.url}/_sim/world")
        config = tmp_path / "config.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "pushwoosh": {"api_url": sim.url, "results_timeout": "20s"},
                    "discovery": {
                        "applications": {"collect": {"subscribers": "off"}},
                        "campaigns": {},
                    },
                }
            )
        )
        account = Account(sim, world, session, config)
        probe = await account.probe()
        assert probe.code == 0, probe.stderr
        lines = {(line["collector"], line["target"]): line for line in probe.lines}
        apps = lines["discovery", "applications"]
        assert (apps["result"], apps["method"], apps["series"]) == ("ok", "getApplications", "3")
        assert int(apps["calls"]) == 3  # one page per app, the last says it is the last
        campaigns = lines["discovery", "campaigns"]
        assert (campaigns["result"], campaigns["series"]) == ("ok", "4")
        assert int(campaigns["calls"]) == 4 + 3  # one per campaign, then an empty page per app
        assert set(lines) == {
            ("discovery", "applications"),
            ("discovery", "campaigns"),
            *(("app_stats", app["code"]) for app in world["apps"]),
            *(("campaign", code) for code in world["campaigns"]),
        }

        await account.faults(forbid_listing=403)
        refused = await account.probe()
        assert refused.code == 1
        lines = {(line["collector"], line["target"]): line for line in refused.lines}
        assert lines["discovery", "applications"]["result"] == "auth"
        assert set(lines) == {("discovery", "applications"), ("discovery", "campaigns")}

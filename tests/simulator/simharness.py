"""A simulator on a loopback port, a client session and a settable clock, for tests.

The clock is fake so answers do not depend on the wall clock: a test moves it forward to
make pending jobs ready, late events arrive, or results expire.
"""

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from exporter.simulator.server import RunningSimulator, start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings

TOKEN = "sim-test-token"
NOW = 1_764_324_000.0
"""2025-11-28 10:00:00 UTC."""
V2_PATH = "/api/v2/statistics/application/getSubscribersStatistics"


class FakeTime:
    """A settable clock for the simulator."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


class SimHarness:
    """Calls to a running simulator over real HTTP, as a client would make them."""

    def __init__(
        self, running: RunningSimulator, session: aiohttp.ClientSession, clock: FakeTime
    ) -> None:
        self.running = running
        self.state = running.state
        self.url = running.url
        self.session = session
        self.clock = clock

    @property
    def app(self) -> str:
        """The first application's code."""
        return self.state.world.apps[0].code

    async def call(self, method: str, token: str | None = TOKEN, **args: Any) -> tuple[int, Any]:
        """POST a JSON 1.3 method; (HTTP status, decoded body or None when not JSON)."""
        body = {"request": ({"auth": token} if token is not None else {}) | args}
        async with self.session.post(f"{self.url}/json/1.3/{method}", json=body) as r:
            try:
                return r.status, await r.json(content_type=None)
            except ValueError:
                return r.status, None

    async def job(self, method: str, **args: Any) -> str:
        """Schedule a job and return its request id."""
        status, answer = await self.call(method, **args)
        assert (status, answer["status_code"]) == (200, 200), answer
        request_id: str = answer["response"]["request_id"]
        return request_id

    async def results(self, request_id: str) -> Any:
        """getResults of a job that must be done."""
        _, done = await self.call("getResults", request_id=request_id)
        assert done["status_code"] == 200, done
        return done["response"]

    async def result(self, method: str, **args: Any) -> Any:
        """A scheduled method's result (the fixture's jobs are ready at once)."""
        return await self.results(await self.job(method, **args))

    async def answer(self, method: str, **args: Any) -> Any:
        """The response of a synchronous method that must succeed."""
        status, body = await self.call(method, **args)
        assert (status, body["status_code"]) == (200, 200), body
        return body["response"]

    async def app_pages(self) -> list[dict[str, Any]]:
        """getApplications page after page, up to the page ``total`` names."""
        pages = [await self.answer("getApplications", page=1)]
        while pages[-1]["page"] < pages[-1]["total"]:
            pages.append(await self.answer("getApplications", page=pages[-1]["page"] + 1))
        return pages

    async def campaign_pages(self, app: str, **args: Any) -> list[list[dict[str, Any]]]:
        """getCampaigns of ``app`` by cursor until an empty page (included)."""
        pages = [(await self.answer("getCampaigns", application=app, **args))["campaigns"]]
        while pages[-1]:
            cursor = pages[-1][-1]["code"]
            found = await self.answer("getCampaigns", application=app, cursor=cursor, **args)
            pages.append(found["campaigns"])
        return pages

    async def change(self, path: str, body: Any) -> Any:
        """``POST /_sim/apps`` or ``/_sim/campaigns``, which must succeed."""
        status, answer = await self.control("POST", path, json=body)
        assert status == 200, answer
        return answer

    async def v2(self, body: dict[str, Any], token: str = TOKEN) -> tuple[int, Any]:
        """POST the v2 subscribers method with ``Authorization: Key <token>``."""
        headers = {"Authorization": f"Key {token}"}
        async with self.session.post(f"{self.url}{V2_PATH}", json=body, headers=headers) as r:
            return r.status, await r.json(content_type=None)

    async def control(self, verb: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """A ``/_sim`` control call; (HTTP status, JSON body or text)."""
        async with self.session.request(verb, f"{self.url}/_sim/{path}", **kwargs) as r:
            if r.content_type == "application/json":
                return r.status, await r.json()
            return r.status, await r.text()

    async def truth(self, **query: Any) -> int:
        """``GET /_sim/truth`` with these parameters (lists as JSON)."""
        params = {k: json.dumps(v) if isinstance(v, list) else str(v) for k, v in query.items()}
        status, answer = await self.control("GET", "truth", params=params)
        assert status == 200, answer
        count: int = answer["count"]
        return count

    async def inject(self, **body: Any) -> Any:
        """``POST /_sim/inject``, which must succeed."""
        status, answer = await self.control("POST", "inject", json=body)
        assert status == 200, answer
        return answer

    async def faults(self, **knobs: Any) -> dict[str, Any]:
        """``POST /_sim/faults`` with these knobs, which must be accepted; every knob after."""
        status, answer = await self.control("POST", "faults", json=knobs)
        assert status == 200, answer
        return dict(answer)


async def running_harness(traffic: bool, **overrides: Any) -> AsyncIterator[SimHarness]:
    """A simulator (seed 5, 2 apps, jobs ready at once, unless ``overrides`` of
    :class:`SimulatorSettings` say otherwise) and a session, for one test."""
    clock = FakeTime(NOW)
    fields: dict[str, Any] = {
        "seed": 5,
        "apps": 2,
        "token": TOKEN,
        "traffic": traffic,
        "clock": clock,
        "faults": Faults(pending_min=0.0, pending_max=0.0),
    }
    settings = SimulatorSettings(**(fields | overrides))
    async with await start_simulator(settings) as running, aiohttp.ClientSession() as session:
        yield SimHarness(running, session, clock)

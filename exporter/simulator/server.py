"""The simulator's aiohttp application, and running it on a loopback port."""

from types import TracebackType

from aiohttp import web

from exporter.simulator import control
from exporter.simulator.api import LISTING, SCHEDULED, STATE, get_results, v1_route
from exporter.simulator.listing import LISTING_METHODS
from exporter.simulator.methods import V1_METHODS, subscribers_v2
from exporter.simulator.settings import SimulatorSettings
from exporter.simulator.state import SimulatorState

V2_PATH = "/api/v2/statistics/application/getSubscribersStatistics"


def create_app(settings: SimulatorSettings) -> web.Application:
    """Every simulated API method, plus the ``/_sim`` control endpoints."""
    state = SimulatorState(settings)
    app = web.Application()
    app[STATE] = state
    for method, compute in (V1_METHODS | LISTING_METHODS).items():
        app.router.add_post(f"/json/1.3/{method}", v1_route(state, method, compute))
    app.router.add_post("/json/1.3/getResults", get_results)
    app.router.add_post(V2_PATH, subscribers_v2)
    app.router.add_get("/_sim/world", control.world)
    app.router.add_post("/_sim/apps", control.apps)
    app.router.add_post("/_sim/campaigns", control.campaigns)
    app.router.add_post("/_sim/inject", control.inject)
    app.router.add_get("/_sim/truth", control.truth)
    app.router.add_get("/_sim/subscribers", control.subscribers)
    app.router.add_get("/_sim/requests", control.requests)
    app.router.add_post("/_sim/requests/clear", control.clear_requests)
    app.router.add_post("/_sim/faults", control.faults)
    app.router.add_get("/_sim/files/{name}.csv", control.tag_file)
    assert set(SCHEDULED) <= set(V1_METHODS)
    assert set(LISTING) == set(LISTING_METHODS)
    return app


class RunningSimulator:
    """A simulator serving on a port; ``url`` is its base URL, ``state`` its model."""

    def __init__(self, runner: web.AppRunner, url: str, state: SimulatorState) -> None:
        self._runner = runner
        self.url = url
        self.state = state

    async def close(self) -> None:
        """Stop serving; hung calls are released first."""
        self.state.closing = True
        self.state.unhang.set()
        await self._runner.cleanup()

    async def __aenter__(self) -> "RunningSimulator":
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def start_simulator(
    settings: SimulatorSettings, host: str = "127.0.0.1", port: int = 0
) -> RunningSimulator:
    """Serve a simulator on ``host:port`` (0: a free port)."""
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    shown = f"[{bound[0]}]" if ":" in str(bound[0]) else str(bound[0])
    return RunningSimulator(runner, f"http://{shown}:{bound[1]}", app[STATE])

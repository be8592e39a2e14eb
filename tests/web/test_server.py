"""The HTTP endpoints the README lists, served over real loopback HTTP."""

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from exporter.server import TargetRow, WebHooks, create_app


class Hooks:
    """Real callables with controllable answers."""

    def __init__(self) -> None:
        self.is_ready = False
        self.reload_error: str | None = None
        self.reloads = 0
        self.rows = [
            TargetRow("app_stats", "ABCDE-12345", True, 1_764_324_000.0, None),
            TargetRow("events", "ABCDE-12345/<b>x</b>", False, None, "auth: Account not found"),
            TargetRow(
                "campaign",
                "C1",
                False,
                None,
                "malformed: getCampaignStats: response.rows is not a list",
                '<script>alert("rows")</script>',
            ),
        ]

    async def render(self, accept: str | None, encoding: str | None) -> tuple[bytes, str, bool]:
        return f"accept={accept}\n".encode(), "text/plain; version=0.0.4", False

    async def reload(self) -> str | None:
        self.reloads += 1
        return self.reload_error

    def webhooks(self) -> WebHooks:
        return WebHooks(self.render, lambda: self.is_ready, lambda: self.rows, self.reload)


Served = tuple[Hooks, aiohttp.ClientSession, str]


@pytest.fixture
async def served() -> AsyncIterator[Served]:
    hooks = Hooks()
    server = TestServer(create_app(hooks.webhooks(), "/metrics"), host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield hooks, session, str(server.make_url("")).rstrip("/")
    await server.close()


async def test_metrics_passes_the_accept_header_to_the_renderer(served: Served) -> None:
    _, session, url = served
    async with session.get(
        f"{url}/metrics", headers={"Accept": "application/openmetrics-text"}
    ) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == "text/plain; version=0.0.4"
        assert await r.text() == "accept=application/openmetrics-text\n"


async def test_health_and_readiness(served: Served) -> None:
    hooks, session, url = served
    async with session.get(f"{url}/-/healthy") as r:
        assert r.status == 200
    async with session.get(f"{url}/-/ready") as r:
        assert r.status == 503
    hooks.is_ready = True
    async with session.get(f"{url}/-/ready") as r:
        assert r.status == 200


async def test_reload_answers_200_or_500_with_the_error_and_refuses_get(served: Served) -> None:
    hooks, session, url = served
    async with session.post(f"{url}/-/reload") as r:
        assert r.status == 200
    hooks.reload_error = "config.yaml:3: applications: unknown key"
    async with session.post(f"{url}/-/reload") as r:
        assert r.status == 500
        assert "config.yaml:3: applications: unknown key" in await r.text()
    async with session.get(f"{url}/-/reload") as r:
        assert r.status == 405
    assert hooks.reloads == 2


async def test_landing_page_lists_targets_escaped(served: Served) -> None:
    _, session, url = served
    async with session.get(f"{url}/") as r:
        page = await r.text()
    assert r.status == 200
    assert 'href="/metrics"' in page
    assert "2025-11-28 10:00:00 UTC" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<b>x</b>" not in page
    assert "auth: Account not found" in page


async def test_landing_page_shows_the_start_of_an_unreadable_answer_escaped(
    served: Served,
) -> None:
    _, session, url = served
    async with session.get(f"{url}/") as r:
        page = await r.text()
    assert "malformed: getCampaignStats: response.rows is not a list" in page
    assert "body: &lt;script&gt;alert(&quot;rows&quot;)&lt;/script&gt;" in page
    assert "<script>" not in page
    assert page.count("body: ") == 1, "only the target whose answer was unreadable"

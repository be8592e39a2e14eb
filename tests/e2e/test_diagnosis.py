"""An answer nobody predicted is diagnosable: the ``poll_failed`` line and the landing page
name the method, the JSON path that failed and the start of the body, never the token.

Each case picks a token that the simulator's faulty body contains, so the token would
show up in the body's start if it were not removed."""

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import structlog
from harness import get_json, wait_for

from exporter.config import Config
from exporter.runtime import Exporter, ListenAddress
from exporter.simulator.server import start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings

CASES = {
    # {"status_code": 200, ..., "response": {"unexpected": [1, 2, 3]}}
    "json_of_the_wrong_shape": (
        {"wrong_shape_rate": 1.0},
        "unexpected",
        {"app_stats": False, "subscribers": "v1"},
        "getApplicationSubscribersStats",
        "devices_types",
        '"response": {"<token>": [1, 2, 3]}',
    ),
    # <html>upstream error</html>
    "body_not_json": (
        {"malformed_rate": 1.0},
        "upstream",
        {"app_stats": True, "subscribers": "off"},
        "getAppStats",
        "body",
        "<html><token> error</html>",
    ),
}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.mark.parametrize(
    ("knobs", "token", "targets", "method", "path", "body"), CASES.values(), ids=CASES.keys()
)
async def test_unreadable_answer_is_shown_in_the_log_and_on_the_landing_page(
    session: aiohttp.ClientSession,
    knobs: dict[str, Any],
    token: str,
    targets: dict[str, Any],
    method: str,
    path: str,
    body: str,
) -> None:
    settings = SimulatorSettings(
        seed=3,
        apps=1,
        token=token,
        traffic=False,
        faults=Faults(pending_min=0.05, pending_max=0.1, **knobs),
    )
    async with await start_simulator(settings) as sim:
        app = (await get_json(session, f"{sim.url}/_sim/world"))["apps"][0]
        config = Config.model_validate(
            {
                "pushwoosh": {"api_url": sim.url, "request_timeout": "2s"},
                "collection": {"interval": "1s"},
                "applications": [{"code": app["code"], **targets}],
            }
        )
        # Captured logs skip the process-wide redactor: what is asserted is the client's own.
        with structlog.testing.capture_logs() as logs:
            exporter = Exporter(lambda: (config, token), listen=ListenAddress("127.0.0.1", 0))
            await exporter.start()
            try:
                page = await wait_for(
                    lambda: landing_with_error(session, exporter.port), what="error on the page"
                )
                await wait_for(
                    lambda: malformed_at_least(exporter, method, 3), what="3 failed polls"
                )
            finally:
                await exporter.stop()

    failed = [e for e in logs if e["event"] == "poll_failed"]
    warnings = [e for e in failed if e["log_level"] == "warning"]
    assert len(warnings) == 1, "logged once when the target starts failing"
    line = warnings[0]
    assert (line["reason"], line["method"], line["path"]) == ("malformed", method, path)
    assert body in line["body"]
    assert len(line["body"].encode()) <= 300
    assert f"{method}: {path}" in line["error"]
    assert all(token not in repr(event) for event in logs)

    assert html.escape(f"{method}: {path}") in page
    shown = re.findall(r'<code class="body">(.*?)</code>', page, re.DOTALL)
    assert [html.unescape(text) for text in shown] == [f"body: {line['body']}"]
    assert "<token>" not in page, "the body is HTML-escaped"
    assert token not in page


async def landing_with_error(session: aiohttp.ClientSession, port: int | None) -> str | None:
    async with session.get(f"http://127.0.0.1:{port}/") as response:
        page = await response.text()
    return page if "body: " in page else None


def malformed_at_least(exporter: Exporter, method: str, n: int) -> bool:
    """At least ``n`` unreadable answers of ``method`` per target (a poll that fails on one
    stops there, so that many failed polls)."""
    failures = exporter.self_metrics.registry.get_sample_value(
        "pushwoosh_api_request_failures_total", {"method": method, "reason": "malformed"}
    )
    return (failures or 0) >= n * len(exporter.store.snapshot().targets)

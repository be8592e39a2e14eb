"""The client against the simulator over real HTTP on loopback: every method, every error
class, pending jobs, Retry-After, and the observer seeing each attempt once."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from observers import Attempts

from exporter.pushwoosh.client import PushwooshClient
from exporter.pushwoosh.errors import (
    ApiTimeout,
    ArgumentError,
    AuthError,
    MalformedResponse,
    PushwooshError,
    RateLimited,
    ResultsTimeout,
    ServerError,
)
from exporter.pushwoosh.models import EventAttribute
from exporter.pushwoosh.timing import PollPolicy, RetryPolicy
from exporter.simulator.server import RunningSimulator, start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings

TOKEN = "client-http-token-4e5f6a7b"
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    settings = SimulatorSettings(
        seed=6, apps=2, token=TOKEN, faults=Faults(pending_min=0.05, pending_max=0.15)
    )
    async with await start_simulator(settings) as running:
        yield running


def client(
    sim_url: str, observer: Attempts, token: str = TOKEN, **kwargs: float
) -> PushwooshClient:
    return PushwooshClient(
        api_url=sim_url,
        token=token,
        observer=observer,
        request_timeout=kwargs.get("request_timeout", 5.0),
        results_timeout=kwargs.get("results_timeout", 10.0),
        retry_policy=RetryPolicy(base_delay=0.05, max_delay=0.2, max_retry_after=0.5),
        poll_policy=PollPolicy(initial_wait=0.05, interval=0.05, max_interval=0.2),
    )


async def test_every_method_answers_through_the_client(sim: RunningSimulator) -> None:
    world = sim.state.world
    app = world.apps[0]
    observer = Attempts()
    async with client(sim.url, observer) as api:
        stats = await api.get_app_stats(app.code, NOW - timedelta(minutes=15), NOW)
        assert stats.messages.formatter == "minutely"
        assert any(row.action == "send" and row.count > 0 for row in stats.messages.rows)
        campaign = await api.get_campaign_stats(
            world.campaigns[0], NOW - timedelta(minutes=30), NOW
        )
        assert {row.platform for row in campaign.table.rows} <= {1, 3, 11}
        assert campaign.table.rows
        lifetime = await api.get_msg_stats(world.messages[0])
        assert sum(r.count for r in lifetime.table.rows if r.action == "send") == 1000
        per_platform = await api.get_msg_platforms_stats(world.messages[0], [1])
        assert {row.platform for row in per_platform.table.rows} == {1}
        events = await api.get_event_statistics(
            app.code, app.events[0], NOW - timedelta(hours=2), NOW
        )
        pro = await api.get_event_statistics(
            app.code,
            app.events[0],
            NOW - timedelta(hours=2),
            NOW,
            [EventAttribute("plan", "EQ", ("pro",))],
        )
        assert sum(b.count for b in pro) < sum(b.count for b in events)
        tags = await api.get_tag_stats("Language", [app.code], max_values=5)
        assert len(tags.top) == 5
        assert tags.top[0].value == "en"
        assert tags.rest_rows == 25  # the simulator's 30 languages
        subscribers = await api.get_application_subscribers_stats(app.code)
        assert subscribers.by_platform["ios"] > 0
        v2 = await api.get_subscribers_statistics(app.code, NOW - timedelta(hours=2), NOW)
        assert v2.interval == "hour"
        assert v2.points
    methods = {method for method, _ in observer.seen}
    assert {"getAppStats", "getResults", "getSubscribersStatistics", "getTagStats"} <= methods
    assert all(failure is None for _, failure in observer.seen)
    assert len(observer.seen) == len(sim.state.requests) + 1  # + the CSV download


def faults(sim: RunningSimulator, **knobs: object) -> None:
    for name, value in knobs.items():
        setattr(sim.state.settings.faults, name, value)
    if "hang" in knobs:
        (sim.state.unhang.clear if knobs["hang"] else sim.state.unhang.set)()


CASES = {
    "bad_token": ({}, {"token": "wrong-token-99"}, AuthError, "auth"),
    "forbidden_app": ({"forbidden_apps": ["APP"]}, {}, AuthError, "auth"),
    "5xx_persisting": ({"error_rate": 1.0}, {}, ServerError, "http_5xx"),
    "status_code_500": ({"json500_rate": 1.0}, {}, ServerError, "http_5xx"),
    "429": ({"rate_limit_rate": 1.0, "retry_after": 0.05}, {}, RateLimited, "rate_limited"),
    "not_json": ({"malformed_rate": 1.0}, {}, MalformedResponse, "malformed"),
    "hang": ({"hang": True}, {"request_timeout": 0.3}, ApiTimeout, "timeout"),
}


@pytest.mark.parametrize(("knobs", "options", "error", "reason"), CASES.values(), ids=CASES.keys())
async def test_error_classes(
    sim: RunningSimulator,
    knobs: dict[str, object],
    options: dict[str, object],
    error: type[PushwooshError],
    reason: str,
) -> None:
    app = sim.state.world.apps[0].code
    faults(sim, **{k: ([app] if v == ["APP"] else v) for k, v in knobs.items()})
    observer = Attempts()
    token = str(options.pop("token", TOKEN))
    try:
        async with client(sim.url, observer, token=token, **options) as api:
            with pytest.raises(error) as caught:
                await api.get_application_subscribers_stats(app)
    finally:
        faults(sim, hang=False)
    assert caught.value.reason == reason
    assert token not in str(caught.value)
    assert token not in repr(caught.value)
    retried = reason in ("http_5xx", "rate_limited", "timeout")
    assert observer.seen == [("getApplicationSubscribersStats", reason)] * (4 if retried else 1)


async def test_unknown_app_is_an_argument_error_never_retried(sim: RunningSimulator) -> None:
    observer = Attempts()
    async with client(sim.url, observer) as api:
        with pytest.raises(ArgumentError, match="Application not found"):
            await api.get_app_stats("NOPE0-00000", NOW - timedelta(minutes=5), NOW)
    assert observer.seen == [("getAppStats", "argument")]


async def test_pending_jobs_are_polled_until_done_and_given_up_at_results_timeout(
    sim: RunningSimulator,
) -> None:
    observer = Attempts()
    faults(sim, pending_min=0.3, pending_max=0.3)
    async with client(sim.url, observer) as api:
        await api.get_msg_stats(sim.state.world.messages[0])
    statuses = [e["status_code"] for e in sim.state.requests if e["method"] == "getResults"]
    assert statuses[-1] == 200
    assert 420 in statuses
    faults(sim, stuck_results=True)
    async with client(sim.url, observer, results_timeout=0.5) as api:
        with pytest.raises(ResultsTimeout):
            await api.get_msg_stats(sim.state.world.messages[0])
    assert observer.gave_up == ["getMsgStats"]


async def test_legacy_envelope_and_string_counts_are_read(sim: RunningSimulator) -> None:
    faults(sim, legacy_envelope=True, string_counts=True)
    async with client(sim.url, Attempts()) as api:
        stats = await api.get_app_stats(
            sim.state.world.apps[0].code, NOW - timedelta(minutes=15), NOW
        )
    assert any(isinstance(r.count, int) and r.count > 0 for r in stats.messages.rows)


async def test_connection_refused_is_a_timeout(sim: RunningSimulator) -> None:
    url = sim.url
    await sim.close()
    async with client(url, Attempts()) as api:
        with pytest.raises(ApiTimeout):
            await api.get_application_subscribers_stats("ANY00-00000")

"""The client against the simulator over real HTTP: v2 HTTP statuses, wrong shapes, and
how retries wait (Retry-After honoured and capped, backoff without it, recovery after one
failure), each attempt reported once to the observer with its reason."""

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from observers import Attempts

from exporter.clock import SystemClock
from exporter.pushwoosh.client import PushwooshClient
from exporter.pushwoosh.errors import (
    ArgumentError,
    AuthError,
    MalformedResponse,
    PushwooshError,
    RateLimited,
    ServerError,
)
from exporter.pushwoosh.timing import PollPolicy, RetryPolicy
from exporter.simulator.server import RunningSimulator, start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings

TOKEN = "client-retries-token-0d1e2f"
NOW = datetime.now(UTC).replace(microsecond=0)
BACKOFF = RetryPolicy(base_delay=0.04, max_delay=0.16, max_retry_after=0.3)


class RecordingClock(SystemClock):
    """The real clock, remembering every wait; ``on_sleep`` runs before each one."""

    def __init__(self, on_sleep: Callable[[], None] = lambda: None) -> None:
        self.sleeps: list[float] = []
        self.on_sleep = on_sleep

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.on_sleep()
        await super().sleep(seconds)


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    settings = SimulatorSettings(
        seed=11, apps=2, token=TOKEN, faults=Faults(pending_min=0.0, pending_max=0.0)
    )
    async with await start_simulator(settings) as running:
        yield running


def client(
    sim: RunningSimulator, observer: Attempts, clock: SystemClock | None = None, **kw: str
) -> PushwooshClient:
    return PushwooshClient(
        api_url=sim.url,
        token=kw.get("token", TOKEN),
        observer=observer,
        clock=clock,
        request_timeout=5.0,
        results_timeout=5.0,
        retry_policy=BACKOFF,
        poll_policy=PollPolicy(initial_wait=0.02, interval=0.02, max_interval=0.1),
    )


def set_faults(sim: RunningSimulator, **knobs: object) -> None:
    for name, value in knobs.items():
        setattr(sim.state.settings.faults, name, value)


V2_CASES = {
    "401_bad_token": ({"token": "not-the-token-77"}, "app", AuthError, "auth", "HTTP 401"),
    "403_forbidden_app": ({}, "forbidden", AuthError, "auth", "HTTP 403"),
    "404_unknown_app": ({}, "NOPE0-00000", ArgumentError, "argument", "HTTP 404"),
    "400_invalid_period": ({}, "reversed", ArgumentError, "argument", "HTTP 400"),
}


@pytest.mark.parametrize(
    ("options", "target", "error", "reason", "status"), V2_CASES.values(), ids=V2_CASES.keys()
)
async def test_v2_http_statuses_map_to_typed_errors_without_retry(
    sim: RunningSimulator,
    options: dict[str, str],
    target: str,
    error: type[PushwooshError],
    reason: str,
    status: str,
) -> None:
    app = sim.state.world.apps[0].code
    if target == "forbidden":
        set_faults(sim, forbidden_apps=[app])
    start, end = (
        (NOW, NOW - timedelta(hours=2)) if target == "reversed" else (NOW - timedelta(hours=2), NOW)
    )
    observer = Attempts()
    async with client(sim, observer, **options) as api:
        with pytest.raises(error) as caught:
            await api.get_subscribers_statistics(
                target if target.startswith("NOPE") else app, start, end
            )
    assert caught.value.reason == reason
    assert str(caught.value).startswith(f"getSubscribersStatistics: {status}")
    assert observer.seen == [("getSubscribersStatistics", reason)]
    for secret in (TOKEN, options.get("token", TOKEN)):
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value)


async def test_a_result_of_the_wrong_shape_is_malformed_and_not_retried(
    sim: RunningSimulator,
) -> None:
    set_faults(sim, wrong_shape_rate=1.0)
    observer = Attempts()
    async with client(sim, observer) as api:
        with pytest.raises(MalformedResponse) as caught:
            await api.get_app_stats(sim.state.world.apps[0].code, NOW - timedelta(minutes=5), NOW)
    assert caught.value.method == "getAppStats"
    assert observer.seen == [("getAppStats", None), ("getResults", "malformed")]


async def test_retry_after_is_waited_before_the_next_attempt(sim: RunningSimulator) -> None:
    set_faults(sim, rate_limit_rate=1.0, retry_after=0.2)
    clock = RecordingClock()
    observer = Attempts()
    async with client(sim, observer, clock) as api:
        with pytest.raises(RateLimited) as caught:
            await api.get_application_subscribers_stats(sim.state.world.apps[0].code)
    assert caught.value.retry_after == 0.2
    assert clock.sleeps == [0.2, 0.2, 0.2]  # between the four attempts, nothing shorter
    assert observer.seen == [("getApplicationSubscribersStats", "rate_limited")] * 4


async def test_a_long_retry_after_is_capped(sim: RunningSimulator) -> None:
    set_faults(sim, rate_limit_rate=1.0, retry_after=120)
    clock = RecordingClock()
    async with client(sim, Attempts(), clock) as api:
        with pytest.raises(RateLimited):
            await api.get_application_subscribers_stats(sim.state.world.apps[0].code)
    assert clock.sleeps == [BACKOFF.max_retry_after] * 3


async def test_429_without_retry_after_backs_off_exponentially_with_jitter(
    sim: RunningSimulator,
) -> None:
    set_faults(sim, rate_limit_rate=1.0, retry_after=None)
    clock = RecordingClock()
    async with client(sim, Attempts(), clock) as api:
        with pytest.raises(RateLimited) as caught:
            await api.get_application_subscribers_stats(sim.state.world.apps[0].code)
    assert caught.value.retry_after is None
    ceilings = [0.04, 0.08, 0.16]
    assert len(clock.sleeps) == 3
    assert all(c / 2 <= s <= c for s, c in zip(clock.sleeps, ceilings, strict=True))


@pytest.mark.parametrize("knob", ["error_rate", "json500_rate", "rate_limit_rate"])
async def test_one_transient_failure_is_retried_then_the_call_succeeds(
    sim: RunningSimulator, knob: str
) -> None:
    set_faults(sim, **{knob: 1.0, "retry_after": 0.05})
    clock = RecordingClock(on_sleep=lambda: set_faults(sim, **{knob: 0.0}))
    observer = Attempts()
    async with client(sim, observer, clock) as api:
        counts = await api.get_application_subscribers_stats(sim.state.world.apps[0].code)
    assert counts.by_platform
    reason = "rate_limited" if knob == "rate_limit_rate" else "http_5xx"
    method = "getApplicationSubscribersStats"
    assert observer.seen == [(method, reason), (method, None)]


async def test_a_failing_poll_is_retried_inside_the_job(sim: RunningSimulator) -> None:
    observer = Attempts()

    class FailPollsOnce(Attempts):
        def request_finished(self, method: str, seconds: float, failure: str | None) -> None:
            observer.request_finished(method, seconds, failure)
            if method == "getMsgStats":  # the job is scheduled: its first poll gets a 500
                set_faults(sim, error_rate=1.0)
            elif failure is not None:
                set_faults(sim, error_rate=0.0)

    async with client(sim, FailPollsOnce()) as api:
        stats = await api.get_msg_stats(sim.state.world.messages[0])
    assert stats.table.rows
    assert observer.seen == [
        ("getMsgStats", None),
        ("getResults", "http_5xx"),
        ("getResults", None),
    ]


async def test_every_attempt_is_reported_once_and_matches_what_the_server_saw(
    sim: RunningSimulator,
) -> None:
    set_faults(sim, error_rate=0.4, pending_min=0.03, pending_max=0.08)
    observer = Attempts()
    app = sim.state.world.apps[0].code
    async with client(sim, observer) as api:
        for _ in range(8):
            with contextlib.suppress(ServerError):
                await api.get_app_stats(app, NOW - timedelta(minutes=10), NOW)
    served = [(entry["method"], entry["http_status"]) for entry in sim.state.requests]
    assert [method for method, _ in observer.seen] == [method for method, _ in served]
    assert [failure for _, failure in observer.seen] == [
        "http_5xx" if http == 500 else None for _, http in served
    ]
    assert any(http == 500 for _, http in served)  # 16+ draws at 0.4: all clean is ~3e-4


async def test_the_token_is_in_no_repr_or_error(sim: RunningSimulator) -> None:
    observer = Attempts()
    api = client(sim, observer, token=TOKEN)
    assert TOKEN not in repr(api)
    async with api:
        with pytest.raises(ArgumentError) as caught:
            await api.get_app_stats("NOPE0-00000", NOW - timedelta(minutes=5), NOW)
    assert TOKEN not in f"{caught.value!s} {caught.value!r} {caught.value.args}"

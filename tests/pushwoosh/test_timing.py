"""Retry backoff and getResults polling schedules."""

import itertools
import random

import pytest

from exporter.pushwoosh.timing import JobDurations, PollPolicy, RetryPolicy


def test_retry_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=8.0)
    rng = random.Random(7)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)]:
        delays = [policy.delay(attempt, None, rng) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered, so clients do not retry in lockstep


def test_retry_after_is_honoured_and_capped() -> None:
    policy = RetryPolicy(max_retry_after=60.0)
    rng = random.Random(7)
    assert policy.delay(1, 3.0, rng) == 3.0
    assert policy.delay(3, 0.0, rng) == 0.0
    assert policy.delay(1, 3600.0, rng) == 60.0


def test_poll_intervals_grow_by_half_up_to_the_cap() -> None:
    policy = PollPolicy(interval=0.5, factor=1.5, max_interval=2.0)
    assert list(itertools.islice(policy.intervals(), 6)) == [0.5, 0.75, 1.125, 1.6875, 2.0, 2.0]


def job(durations: JobDurations, method: str, seconds: float, *, done: bool) -> None:
    """One job alone in flight, seen done ``seconds`` after it was scheduled."""
    durations.begin(method)
    durations.learn(method, seconds, done_at_first_poll=done)
    durations.end(method)


def test_first_wait_grows_on_a_miss_and_shrinks_on_a_hit_per_method() -> None:
    durations = JobDurations(PollPolicy(initial_wait=1.0, grow=1.25, shrink=0.98))
    assert durations.first_wait("getAppStats") == 1.0
    job(durations, "getAppStats", 1.5, done=False)
    assert durations.first_wait("getAppStats") == 1.25
    job(durations, "getAppStats", 9.0, done=False)
    assert durations.first_wait("getAppStats") == 1.25 * 1.25
    assert durations.first_wait("getTagStats") == 1.25 * 1.25  # a new method starts there
    job(durations, "getTagStats", 1.0, done=True)
    assert durations.first_wait("getTagStats") == 1.25 * 1.25 * 0.98  # then learns alone
    assert durations.first_wait("getAppStats") == 1.25 * 1.25


def test_a_wave_of_pending_jobs_grows_the_wait_no_further_than_their_durations() -> None:
    durations = JobDurations(PollPolicy(initial_wait=1.0, grow=1.25, shrink=0.98))
    rng = random.Random(3)
    for _ in range(100):
        assert durations.begin("getEventStatistics") == 1.0
    for _ in range(100):  # all hundred were still pending at their first poll
        durations.learn("getEventStatistics", rng.uniform(1.5, 3.0), done_at_first_poll=False)
        durations.end("getEventStatistics")
    assert 2.5 < durations.first_wait("getEventStatistics") <= 3.0 * 1.25
    job(durations, "getEventStatistics", 0.5, done=False)  # a short one never lowers it
    assert durations.first_wait("getEventStatistics") > 2.5


def test_a_wave_of_done_jobs_shrinks_the_wait_about_one_step() -> None:
    durations = JobDurations(PollPolicy(initial_wait=1.0, grow=1.25, shrink=0.98))
    for _ in range(100):
        durations.begin("getAppStats")
    for _ in range(100):  # all done at their first poll, none ended yet
        durations.learn("getAppStats", 0.9, done_at_first_poll=True)
    assert durations.first_wait("getAppStats") == pytest.approx(0.98)


def test_wait_settles_near_a_high_percentile_of_job_durations() -> None:
    durations = JobDurations(PollPolicy(initial_wait=0.2))
    rng = random.Random(11)
    misses = 0
    for i in range(3000):
        took = rng.uniform(1.0, 3.0)
        wait = durations.first_wait("getAppStats")
        hit = took <= wait
        misses += not hit and i >= 1000
        job(durations, "getAppStats", wait if hit else took + 0.5, done=hit)
    assert 2.4 < durations.first_wait("getAppStats") < 3.3
    assert misses / 2000 < 0.15


def test_with_many_jobs_in_flight_the_wait_stays_near_the_longest_durations() -> None:
    """Always 200 jobs in flight: each new one starts with the wait learnt so far, and the
    oldest finishes (seen done at its first poll, or 0.5 s after the wait when pending)."""
    durations = JobDurations(PollPolicy(initial_wait=0.2))
    rng = random.Random(5)
    flight = [(durations.begin("getAppStats"), rng.uniform(1.0, 3.0)) for _ in range(200)]
    waits, misses = [], 0
    for i in range(20_000):
        wait, took = flight.pop(0)
        hit = took <= wait
        durations.learn("getAppStats", wait if hit else took + 0.5, done_at_first_poll=hit)
        durations.end("getAppStats")
        misses += not hit and i >= 10_000
        flight.append((durations.begin("getAppStats"), rng.uniform(1.0, 3.0)))
        waits.append(durations.first_wait("getAppStats"))
    assert max(waits) <= 3.5 * 1.25
    assert 2.4 < sum(waits[-5000:]) / 5000 < 4.0
    assert misses / 10_000 < 0.15


def test_first_wait_stays_within_bounds_and_can_be_fixed() -> None:
    bounded = JobDurations(PollPolicy(min_initial_wait=0.1, max_initial_wait=5.0))
    for _ in range(20):
        job(bounded, "getAppStats", 100.0, done=False)
    for _ in range(200):
        job(bounded, "getTagStats", 0.0, done=True)
    assert bounded.first_wait("getAppStats") == 5.0
    assert bounded.first_wait("getTagStats") == 0.1
    fixed = JobDurations(PollPolicy(initial_wait=1.5, adaptive=False))
    job(fixed, "getAppStats", 9.0, done=False)
    assert fixed.first_wait("getAppStats") == 1.5

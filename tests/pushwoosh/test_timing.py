"""Retry backoff and getResults polling schedules."""

import itertools
import random

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


def test_first_wait_starts_at_the_default_then_follows_recent_jobs() -> None:
    durations = JobDurations(PollPolicy(initial_wait=1.0, smoothing=0.5, probe=0.8))
    assert durations.first_wait("getAppStats") == 1.0
    durations.record("getAppStats", 3.0, done_at_first_poll=False)
    assert durations.first_wait("getAppStats") == 3.0
    assert durations.first_wait("getTagStats") == 1.0  # each method learns on its own
    durations.record("getAppStats", 2.0, done_at_first_poll=False)
    assert durations.first_wait("getAppStats") == 2.5


def test_jobs_done_at_the_first_poll_shrink_the_wait() -> None:
    durations = JobDurations(PollPolicy(smoothing=0.5, probe=0.8))
    durations.record("getMsgStats", 2.0, done_at_first_poll=False)
    waits = []
    for _ in range(5):
        wait = durations.first_wait("getMsgStats")
        durations.record("getMsgStats", wait, done_at_first_poll=True)
        waits.append(wait)
    assert waits == sorted(waits, reverse=True)
    assert waits[-1] < 2.0


def test_first_wait_stays_within_bounds_and_can_be_fixed() -> None:
    bounded = JobDurations(PollPolicy(min_initial_wait=0.1, max_initial_wait=5.0))
    bounded.record("getAppStats", 100.0, done_at_first_poll=False)
    bounded.record("getTagStats", 0.0, done_at_first_poll=True)
    assert bounded.first_wait("getAppStats") == 5.0
    assert bounded.first_wait("getTagStats") == 0.1
    fixed = JobDurations(PollPolicy(initial_wait=1.5, adaptive=False))
    fixed.record("getAppStats", 9.0, done_at_first_poll=False)
    assert fixed.first_wait("getAppStats") == 1.5

"""How long the client waits: retry backoff, and the getResults polling of scheduled jobs.

Pure policies: they compute delays, the client sleeps them on its clock.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Jittered exponential backoff between attempts of a 5xx, 429 or timeout.

    Attempt ``n`` (1-based) failing waits a random time in ``[d/2, d]`` with
    ``d = min(base_delay * 2**(n-1), max_delay)``; a 429 with ``Retry-After`` waits that
    long instead, capped at ``max_retry_after``.
    """

    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt``."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.base_delay * 2 ** (attempt - 1), self.max_delay)
        return rng.uniform(ceiling / 2, ceiling)


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """When to ask getResults whether a scheduled job is done.

    The first poll comes after an initial wait (adaptive per method, see
    :class:`JobDurations`); later polls wait ``interval``, growing by ``factor`` up to
    ``max_interval``.
    """

    initial_wait: float = 1.0
    """First wait of a method before any of its jobs finished."""
    min_initial_wait: float = 0.05
    max_initial_wait: float = 30.0
    interval: float = 0.5
    factor: float = 1.5
    max_interval: float = 4.0
    adaptive: bool = True
    smoothing: float = 0.3
    """Weight of the newest job in the moving average of job durations."""
    probe: float = 0.8
    """A job found done at the first poll may have finished earlier: count it this much
    shorter, so the wait also shrinks when jobs get faster."""

    def intervals(self) -> Iterator[float]:
        """The waits between polls after the first one."""
        wait = self.interval
        while True:
            yield wait
            wait = min(wait * self.factor, self.max_interval)


class JobDurations:
    """Recent job durations per method: how long to wait before the first getResults.

    Waiting about as long as recent jobs took makes most jobs done at the first poll
    (about two calls per scheduled target) without waiting much longer than needed.
    """

    def __init__(self, policy: PollPolicy) -> None:
        self._policy = policy
        self._average: dict[str, float] = {}

    def first_wait(self, method: str) -> float:
        """Seconds between the scheduling answer and the first getResults of ``method``."""
        policy = self._policy
        wait = (
            self._average.get(method, policy.initial_wait)
            if policy.adaptive
            else policy.initial_wait
        )
        return min(max(wait, policy.min_initial_wait), policy.max_initial_wait)

    def record(self, method: str, seconds: float, *, done_at_first_poll: bool) -> None:
        """Learn from one finished job that was seen done ``seconds`` after it was scheduled."""
        policy = self._policy
        sample = seconds * policy.probe if done_at_first_poll else seconds
        previous = self._average.get(method)
        self._average[method] = (
            sample if previous is None else previous + policy.smoothing * (sample - previous)
        )

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
    grow: float = 1.25
    """A job still pending at its first poll lengthens the method's first wait by this."""
    shrink: float = 0.98
    """A job done at its first poll shortens it by this. With these two, and jobs of a
    method one at a time, the wait settles where about 8% of first polls find the job
    pending (the 92nd percentile of job durations): about 2.1 calls per scheduled poll,
    whatever the jobs' typical length. With ``n`` in flight a done job shrinks the wait by
    the ``n``-th root of this (see :class:`JobDurations`), so the wait settles higher: fewer
    getResults per poll, a slightly longer first wait, and a slower return after the API
    was slow for a while."""

    def intervals(self) -> Iterator[float]:
        """The waits between polls after the first one."""
        wait = self.interval
        while True:
            yield wait
            wait = min(wait * self.factor, self.max_interval)


class JobDurations:
    """How long to wait before the first getResults of each method, learnt from its jobs.

    A multiplicative controller: every job found pending at its first poll grows the wait,
    every job found done shrinks it a little, so the wait tracks a high percentile of recent
    job durations, and follows them when the API gets slower or faster.

    Many jobs of one method in flight at once (the first cycle of a large config starts
    hundreds with the same wait) must not compound their steps. A pending job grows the
    wait at most to ``grow`` times the time it was seen done after, so a wave of them ends
    near the longest of their durations, not at ``grow**n``; and with ``n`` jobs in flight
    a done one shrinks the wait by the ``n``-th root of ``shrink``, so a wave of them
    shrinks it about one step, as one job alone would.
    """

    def __init__(self, policy: PollPolicy) -> None:
        self._policy = policy
        self._wait: dict[str, float] = {}
        self._in_flight: dict[str, int] = {}

    def first_wait(self, method: str) -> float:
        """Seconds between the scheduling answer and the first getResults of ``method``."""
        policy = self._policy
        if not policy.adaptive:
            return policy.initial_wait
        wait = self._wait.get(method)
        if wait is None:  # a method not seen yet starts where the others are
            known = list(self._wait.values())
            wait = sum(known) / len(known) if known else policy.initial_wait
        return min(max(wait, policy.min_initial_wait), policy.max_initial_wait)

    def begin(self, method: str) -> float:
        """Count one more job of ``method`` in flight; return its first wait."""
        self._in_flight[method] = self._in_flight.get(method, 0) + 1
        return self.first_wait(method)

    def learn(self, method: str, seconds: float, *, done_at_first_poll: bool) -> None:
        """Learn from one job of ``method`` in flight, seen done ``seconds`` after it was
        scheduled."""
        policy = self._policy
        wait = self.first_wait(method)
        if done_at_first_poll:
            wait *= policy.shrink ** (1 / max(1, self._in_flight.get(method, 1)))
        else:
            wait = max(wait, min(wait * policy.grow, seconds * policy.grow))
        self._wait[method] = min(max(wait, policy.min_initial_wait), policy.max_initial_wait)

    def end(self, method: str) -> None:
        """One job of ``method`` is no longer in flight (done, failed or given up)."""
        left = self._in_flight.get(method, 0) - 1
        if left > 0:
            self._in_flight[method] = left
        else:
            self._in_flight.pop(method, None)

"""One HTTP exchange with retries: limits, timeouts, typed errors, the observer, the log.

The :class:`Transport` sends one logical request, retrying transient failures (5xx, 429,
timeouts) with :class:`RetryPolicy`. Every attempt takes a :class:`RequestLimiter` slot and
is reported exactly once to the :class:`RequestObserver`, with its failure reason or None.
What the body means is the caller's ``decode``: it runs inside the attempt, so a malformed
body counts as a failed attempt too.
"""

import random
import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import aiohttp
import structlog

from exporter.clock import Clock
from exporter.pushwoosh.envelope import http_error
from exporter.pushwoosh.errors import (
    ApiTimeout,
    MalformedResponse,
    PushwooshError,
    RateLimited,
    ServerError,
)
from exporter.pushwoosh.limiter import RequestLimiter
from exporter.pushwoosh.models import RequestObserver
from exporter.pushwoosh.timing import RetryPolicy

T = TypeVar("T")

Decode = Callable[[bytes], T]
"""Turns a 2xx body into a value, or raises a typed error."""

_RETRIED = (ServerError, RateLimited, ApiTimeout)

log = structlog.get_logger()


class Transport:
    """Sends requests for the client; owns the aiohttp session unless one was given."""

    def __init__(
        self,
        *,
        secret: str,
        request_timeout: float,
        limiter: RequestLimiter,
        clock: Clock,
        retry: RetryPolicy,
        max_attempts: int,
        observer: RequestObserver | None,
        session: aiohttp.ClientSession | None,
    ) -> None:
        self._secret = secret
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._limiter = limiter
        self._clock = clock
        self._retry = retry
        self._max_attempts = max(1, max_attempts)
        self._observer = observer
        self._session = session
        self._owns_session = session is None
        self._random = random.Random()

    async def close(self) -> None:
        """Close the session if this transport created it."""
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    async def send(
        self,
        method: str,
        url: str,
        decode: Decode[T],
        *,
        body: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> T:
        """POST ``body`` as JSON (GET when None) to ``url``; retry transient failures."""
        attempt = 1
        while True:
            try:
                return await self._attempt(method, url, decode, body, headers or {})
            except _RETRIED as error:
                if attempt >= self._max_attempts:
                    raise
                retry_after = error.retry_after if isinstance(error, RateLimited) else None
                delay = self._retry.delay(attempt, retry_after, self._random)
                log.debug(
                    "pushwoosh_retry",
                    method=method,
                    attempt=attempt,
                    reason=error.reason,
                    error=str(error),
                    delay=round(delay, 3),
                )
                await self._clock.sleep(delay)
                attempt += 1

    async def _attempt(
        self,
        method: str,
        url: str,
        decode: Decode[T],
        body: object,
        headers: Mapping[str, str],
    ) -> T:
        """One HTTP attempt, reported once to the observer."""
        async with self._limiter.slot():
            started = time.perf_counter()
            failure: str | None = None
            try:
                status, payload, retry_after = await self._exchange(method, url, body, headers)
                error = http_error(method, status, payload, retry_after, self._clock.now())
                if error is not None:
                    raise error
                return decode(payload)
            except PushwooshError as error:
                failure = error.reason
                self._scrub(error)
                raise
            finally:
                if self._observer is not None:
                    self._observer.request_finished(method, time.perf_counter() - started, failure)

    async def _exchange(
        self, method: str, url: str, body: object, headers: Mapping[str, str]
    ) -> tuple[int, bytes, str | None]:
        """Status, body and Retry-After of one request; network trouble as ApiTimeout.

        aiohttp's exceptions may carry the request (headers included), so they are
        replaced by messages that name only the method and the kind of failure.
        """
        session = self._ensure_session()
        try:
            if body is None:
                request = session.get(url, headers=headers, timeout=self._timeout)
            else:
                request = session.post(url, json=body, headers=headers, timeout=self._timeout)
            async with request as response:
                payload = await response.read()
                return response.status, payload, response.headers.get("Retry-After")
        except TimeoutError:
            raise ApiTimeout("request timed out", method=method) from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as error:
            kind = type(error).__name__
            raise ApiTimeout(f"connection failed ({kind})", method=method) from None
        except aiohttp.ClientError as error:
            kind = type(error).__name__
            raise MalformedResponse(f"unreadable answer ({kind})", method=method) from None

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    def _scrub(self, error: PushwooshError) -> None:
        """Blank the token out of server text quoted in an error message."""
        if self._secret and self._secret in error.message:
            error.message = error.message.replace(self._secret, "<token>")
            error.args = (error.message,)

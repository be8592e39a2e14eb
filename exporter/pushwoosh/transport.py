"""One HTTP exchange with retries: limits, timeouts, typed errors, the observer, the log.

The :class:`Transport` sends one logical request, retrying transient failures (5xx, 429,
timeouts) with :class:`RetryPolicy`. Every attempt takes a :class:`RequestLimiter` slot and
is reported exactly once to the :class:`RequestObserver`, with its failure reason or None,
and, when an :class:`ExchangeRecorder` is given (``--probe.dump``), once to it as an
:class:`Exchange`: the request and the raw answer, token removed. What the body means is
the caller's ``decode``: it runs inside the attempt, so a malformed body counts as a failed
attempt too, and its :class:`MalformedResponse` gets the start of the body it could not read.
"""

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
from exporter.pushwoosh.exchange import KEPT_HEADERS, Exchange, ExchangeRecorder
from exporter.pushwoosh.limiter import RequestLimiter
from exporter.pushwoosh.models import RequestObserver
from exporter.pushwoosh.redact import TokenScrubber
from exporter.pushwoosh.timing import RetryPolicy

T = TypeVar("T")

Decode = Callable[[bytes], T]
"""Turns a 2xx body into a value, or raises a typed error."""

_RETRIED = (ServerError, RateLimited, ApiTimeout)

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True)
class _Outcome:
    """What one attempt got so far, for the recorder."""

    answer: _Answer | None = None
    error: PushwooshError | None = None
    seconds: float = 0.0


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
        recorder: ExchangeRecorder | None = None,
    ) -> None:
        self._scrubber = TokenScrubber(secret)
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._limiter = limiter
        self._clock = clock
        self._retry = retry
        self._max_attempts = max(1, max_attempts)
        self._observer = observer
        self._recorder = recorder
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
                return await self._attempt(method, url, decode, body, headers or {}, attempt)
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
        attempt: int,
    ) -> T:
        """One HTTP attempt, reported once to the observer and once to the recorder."""
        outcome = _Outcome()
        started_at = self._clock.now()
        try:
            return await self._attempt_in_slot(method, url, decode, body, headers, outcome)
        finally:
            if self._recorder is not None and (outcome.answer or outcome.error):
                await self._recorder.record(
                    self._exchange_of(method, attempt, url, body, headers, started_at, outcome)
                )

    async def _attempt_in_slot(
        self,
        method: str,
        url: str,
        decode: Decode[T],
        body: object,
        headers: Mapping[str, str],
        outcome: _Outcome,
    ) -> T:
        async with self._limiter.slot():
            started = time.perf_counter()
            try:
                outcome.answer = answer = await self._exchange(method, url, body, headers)
                error = http_error(
                    method,
                    answer.status,
                    answer.body,
                    answer.headers.get("Retry-After"),
                    self._clock.now(),
                )
                if error is not None:
                    raise error
                return decode(answer.body)
            except PushwooshError as error:
                outcome.error = error
                self._explain(error, outcome.answer)
                raise
            finally:
                outcome.seconds = time.perf_counter() - started
                if self._observer is not None:
                    failure = outcome.error.reason if outcome.error else None
                    self._observer.request_finished(method, outcome.seconds, failure)

    async def _exchange(
        self, method: str, url: str, body: object, headers: Mapping[str, str]
    ) -> _Answer:
        """Status, kept headers and body of one request; network trouble as ApiTimeout.

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
                kept = {k: response.headers[k] for k in KEPT_HEADERS if k in response.headers}
                return _Answer(response.status, kept, payload)
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

    def _explain(self, error: PushwooshError, answer: _Answer | None) -> None:
        """Blank the token out of server text quoted in the message; give a malformed
        answer the start of its body, scrubbed the same way."""
        message = self._scrubber.clean_text(error.message)
        if message != error.message:
            error.message = message
            error.args = (message,)
        if isinstance(error, MalformedResponse) and answer is not None:
            error.body_start = self._scrubber.body_start(answer.body)

    def _exchange_of(
        self,
        method: str,
        attempt: int,
        url: str,
        body: object,
        headers: Mapping[str, str],
        started: float,
        outcome: _Outcome,
    ) -> Exchange:
        """The recorder's view of one attempt, with the token removed from every part."""
        scrub = self._scrubber
        answer, error = outcome.answer, outcome.error
        return Exchange(
            method=method,
            attempt=attempt,
            http_method="GET" if body is None else "POST",
            url=scrub.clean_text(url),
            request_headers={k: scrub.clean_text(v) for k, v in headers.items()},
            request_body=scrub.clean_json(body),
            started=started,
            seconds=outcome.seconds,
            status=answer.status if answer else None,
            response_headers={k: scrub.clean_text(v) for k, v in answer.headers.items()}
            if answer
            else {},
            body=scrub.clean_bytes(answer.body) if answer else None,
            failure=error.reason if error else None,
            error=str(error) if error else None,
        )

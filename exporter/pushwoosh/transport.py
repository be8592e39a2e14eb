"""One HTTP exchange with retries: limits, timeouts, typed errors, the observer, the log.

The :class:`Transport` sends one logical request, retrying transient failures (5xx, 429,
timeouts) with :class:`RetryPolicy`. Every attempt takes a :class:`RequestLimiter` slot and
is reported exactly once to the :class:`RequestObserver`, with its failure reason or None,
and, when an :class:`ExchangeRecorder` is given (``--probe.dump``), once to it as an
:class:`Exchange`: the request and the raw answer, token removed. What the body means is
the caller's ``decode``: it runs inside the attempt, so a malformed body counts as a failed
attempt too, and its :class:`MalformedResponse` gets the start of the body it could not read.

:meth:`Transport.download` streams instead: a success's body goes to a :class:`BodyReader`
piece by piece as it arrives and is never held whole (a tag file may be hundreds of
megabytes). It keeps only the first bytes, for the start of a malformed body, and writes the
rest, scrubbed, to the recorder's :class:`BodyFile` if it keeps one.
"""

import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import aiohttp
import structlog

from exporter.clock import Clock
from exporter.pushwoosh.download import BodyReader, read_streamed
from exporter.pushwoosh.envelope import http_error
from exporter.pushwoosh.errors import (
    ApiTimeout,
    MalformedResponse,
    PushwooshError,
    RateLimited,
    ServerError,
)
from exporter.pushwoosh.exchange import KEPT_HEADERS, BodyFile, Exchange, ExchangeRecorder
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
    """The whole body; empty for a streamed one."""
    streamed: bool = False


@dataclass(slots=True)
class _Outcome:
    """What one attempt got so far, for the recorder."""

    answer: _Answer | None = None
    error: PushwooshError | None = None
    seconds: float = 0.0
    head: bytearray | None = None
    """The first bytes of a streamed body."""
    body_file: BodyFile | None = None
    """The recorder's copy of a streamed body."""


Consume = Callable[[aiohttp.ClientResponse, _Outcome], Awaitable[T]]
"""Reads an answer into a value (or raises a typed error), noting what it read in the
outcome."""


@dataclass(frozen=True, slots=True)
class _Call(Generic[T]):
    """One logical request, sent once per attempt."""

    method: str
    url: str
    body: object
    """The JSON body to POST; None for a GET."""
    headers: Mapping[str, str]
    consume: Consume[T]
    limits: aiohttp.ClientTimeout


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
        self._limits = aiohttp.ClientTimeout(total=request_timeout)
        # A download lasts as long as its body is large: the timeout bounds the connection
        # and each wait for the next piece instead.
        self._download_limits = aiohttp.ClientTimeout(
            total=None, sock_connect=request_timeout, sock_read=request_timeout
        )
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

        async def consume(response: aiohttp.ClientResponse, outcome: _Outcome) -> T:
            payload = await response.read()
            outcome.answer = _Answer(response.status, _kept(response), payload)
            self._raise_http_error(method, outcome.answer)
            return decode(payload)

        return await self._send(_Call(method, url, body, headers or {}, consume, self._limits))

    async def download(self, method: str, url: str, reader: Callable[[], BodyReader[T]]) -> T:
        """GET ``url`` and read its body with a new ``reader()`` as it arrives; retry
        transient failures. ``request_timeout`` bounds the connection and every wait for
        the next piece of the body, not the whole transfer."""

        async def consume(response: aiohttp.ClientResponse, outcome: _Outcome) -> T:
            if not 200 <= response.status < 300:
                outcome.answer = _Answer(response.status, _kept(response), await response.read())
                self._raise_http_error(method, outcome.answer)
            outcome.answer = _Answer(response.status, _kept(response), b"", streamed=True)
            outcome.head = bytearray()
            if self._recorder is not None:
                outcome.body_file = await self._recorder.open_body()
            return await read_streamed(
                response.content, reader(), self._scrubber, outcome.head, outcome.body_file
            )

        return await self._send(_Call(method, url, None, {}, consume, self._download_limits))

    async def _send(self, call: _Call[T]) -> T:
        """Attempt ``call`` until it succeeds, fails for good, or runs out of attempts."""
        attempt = 1
        while True:
            try:
                return await self._attempt(call, attempt)
            except _RETRIED as error:
                if attempt >= self._max_attempts:
                    raise
                retry_after = error.retry_after if isinstance(error, RateLimited) else None
                delay = self._retry.delay(attempt, retry_after, self._random)
                log.debug(
                    "pushwoosh_retry",
                    method=call.method,
                    attempt=attempt,
                    reason=error.reason,
                    error=str(error),
                    delay=round(delay, 3),
                )
                await self._clock.sleep(delay)
                attempt += 1

    async def _attempt(self, call: _Call[T], attempt: int) -> T:
        """One HTTP attempt, reported once to the observer and once to the recorder."""
        outcome = _Outcome()
        started_at = self._clock.now()
        try:
            return await self._attempt_in_slot(call, outcome)
        finally:
            if outcome.body_file is not None:
                await outcome.body_file.close()
            if self._recorder is not None and (outcome.answer or outcome.error):
                await self._recorder.record(self._exchange_of(call, attempt, started_at, outcome))

    async def _attempt_in_slot(self, call: _Call[T], outcome: _Outcome) -> T:
        async with self._limiter.slot():
            started = time.perf_counter()
            try:
                return await self._exchange(call, outcome)
            except PushwooshError as error:
                outcome.error = error
                self._explain(error, outcome)
                raise
            finally:
                outcome.seconds = time.perf_counter() - started
                if self._observer is not None:
                    failure = outcome.error.reason if outcome.error else None
                    self._observer.request_finished(call.method, outcome.seconds, failure)

    async def _exchange(self, call: _Call[T], outcome: _Outcome) -> T:
        """Send one request and consume its answer; network trouble as ApiTimeout.

        aiohttp's exceptions may carry the request (headers included), so they are
        replaced by messages that name only the method and the kind of failure.
        """
        session = self._ensure_session()
        method = call.method
        try:
            if call.body is None:
                request = session.get(call.url, headers=call.headers, timeout=call.limits)
            else:
                request = session.post(
                    call.url, json=call.body, headers=call.headers, timeout=call.limits
                )
            async with request as response:
                return await call.consume(response, outcome)
        except TimeoutError:
            raise ApiTimeout("request timed out", method=method) from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as error:
            kind = type(error).__name__
            raise ApiTimeout(f"connection failed ({kind})", method=method) from None
        except aiohttp.ClientError as error:
            kind = type(error).__name__
            raise MalformedResponse(f"unreadable answer ({kind})", method=method) from None

    def _raise_http_error(self, method: str, answer: _Answer) -> None:
        retry_after = answer.headers.get("Retry-After")
        error = http_error(method, answer.status, answer.body, retry_after, self._clock.now())
        if error is not None:
            raise error

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        return self._session

    def _explain(self, error: PushwooshError, outcome: _Outcome) -> None:
        """Blank the token out of server text quoted in the message; give a malformed
        answer the start of its body, scrubbed the same way."""
        message = self._scrubber.clean_text(error.message)
        if message != error.message:
            error.message = message
            error.args = (message,)
        answer = outcome.answer
        if isinstance(error, MalformedResponse) and answer is not None:
            body = bytes(outcome.head or b"") if answer.streamed else answer.body
            error.body_start = self._scrubber.body_start(body)

    def _exchange_of(
        self, call: _Call[T], attempt: int, started: float, outcome: _Outcome
    ) -> Exchange:
        """The recorder's view of one attempt, with the token removed from every part."""
        scrub = self._scrubber
        answer, error = outcome.answer, outcome.error
        return Exchange(
            method=call.method,
            attempt=attempt,
            http_method="GET" if call.body is None else "POST",
            url=scrub.clean_text(call.url),
            request_headers={k: scrub.clean_text(v) for k, v in call.headers.items()},
            request_body=scrub.clean_json(call.body),
            started=started,
            seconds=outcome.seconds,
            status=answer.status if answer else None,
            response_headers={k: scrub.clean_text(v) for k, v in answer.headers.items()}
            if answer
            else {},
            body=scrub.clean_bytes(answer.body) if answer and not answer.streamed else None,
            body_file=outcome.body_file,
            failure=error.reason if error else None,
            error=str(error) if error else None,
        )


def _kept(response: aiohttp.ClientResponse) -> dict[str, str]:
    """The answer headers an exchange keeps."""
    return {k: response.headers[k] for k in KEPT_HEADERS if k in response.headers}

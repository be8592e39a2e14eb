"""The async client of the Pushwoosh Statistics API: one method per API method.

Callers (the collection layer) get frozen values of :mod:`exporter.pushwoosh.models` or a
typed error of :mod:`exporter.pushwoosh.errors`. Underneath: the JSON API 1.3 envelope
(:mod:`.envelope`), the scheduled-job flow (POST, then poll ``/json/1.3/getResults``),
retries and limits (:mod:`.transport`, :mod:`.limiter`), the parsers (:mod:`.parse`) and
the tag file read as it downloads (:mod:`.tagfile`).
"""

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from types import TracebackType
from typing import Final, TypeVar
from urllib.parse import urljoin

import aiohttp
import structlog

from exporter.clock import Clock, SystemClock
from exporter.pushwoosh import parse, tagfile
from exporter.pushwoosh.envelope import check_status, decode_json, read_envelope
from exporter.pushwoosh.errors import ResultsTimeout
from exporter.pushwoosh.exchange import ExchangeRecorder
from exporter.pushwoosh.limiter import RequestLimiter
from exporter.pushwoosh.models import (
    ApplicationsPage,
    AppStats,
    CampaignInfo,
    CampaignStats,
    EventAttribute,
    EventBucket,
    MessageStats,
    RequestObserver,
    SubscriberCounts,
    SubscribersStatistics,
    TagInfo,
    TagSummary,
)
from exporter.pushwoosh.timing import JobDurations, PollPolicy, RetryPolicy
from exporter.pushwoosh.transport import Transport

T = TypeVar("T")

V2_SUBSCRIBERS_PATH: Final = "/api/v2/statistics/application/getSubscribersStatistics"
_TIME_FORMAT: Final = "%Y-%m-%d %H:%M:%S"
_DATE_FORMAT: Final = "%Y-%m-%d"

log = structlog.get_logger()


class _Pending:
    """getResults answered 420: the job is still running."""


_PENDING: Final = _Pending()


class PushwooshClient:
    """Calls the Statistics API through one aiohttp session; an async context manager.

    ``max_concurrent`` requests in flight and ``max_per_minute`` sent in any 60 s are shared
    by all calls. Transient failures are retried up to ``max_attempts`` attempts per request
    (``retry_policy``); scheduled jobs are polled per ``poll_policy`` for at most
    ``results_timeout`` seconds. The v1 methods' dates and times are written and read in
    ``timezone`` (Pushwoosh does not document theirs; the v2 API's are UTC). A ``recorder``
    sees every HTTP attempt with its raw answer, the token removed (``--probe.dump``).
    """

    def __init__(
        self,
        *,
        api_url: str,
        token: str,
        request_timeout: float = 10.0,
        max_concurrent: int = 4,
        max_per_minute: int = 600,
        results_timeout: float = 120.0,
        observer: RequestObserver | None = None,
        clock: Clock | None = None,
        max_attempts: int = 4,
        session: aiohttp.ClientSession | None = None,
        retry_policy: RetryPolicy | None = None,
        poll_policy: PollPolicy | None = None,
        timezone: tzinfo = UTC,
        recorder: ExchangeRecorder | None = None,
    ) -> None:
        self._api_url = api_url.rstrip("/")
        self._tz = timezone
        self._token = token
        self._clock: Clock = clock or SystemClock()
        self._results_timeout = results_timeout
        self._observer = observer
        self._poll_policy = poll_policy or PollPolicy()
        self._durations = JobDurations(self._poll_policy)
        self._limiter = RequestLimiter(
            max_concurrent=max_concurrent, max_per_minute=max_per_minute, clock=self._clock
        )
        self._transport = Transport(
            secret=token,
            request_timeout=request_timeout,
            limiter=self._limiter,
            clock=self._clock,
            retry=retry_policy or RetryPolicy(),
            max_attempts=max_attempts,
            observer=observer,
            session=session,
            recorder=recorder,
        )

    def __repr__(self) -> str:
        return f"PushwooshClient(api_url={self._api_url!r})"

    @property
    def room(self) -> int:
        """API requests that could go now without waiting, besides those already waiting
        (see :attr:`RequestLimiter.room`)."""
        return self._limiter.room

    async def __aenter__(self) -> "PushwooshClient":
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the HTTP session (unless it was passed in)."""
        await self._transport.close()

    async def get_app_stats(
        self, application: str, date_from: datetime, date_to: datetime
    ) -> AppStats:
        """getAppStats of one application over ``[date_from, date_to]``."""
        args = {
            "application": application,
            "datefrom": self._time(date_from),
            "dateto": self._time(date_to),
        }
        return await self._scheduled(
            "getAppStats", args, lambda response: parse.parse_app_stats(response, self._tz)
        )

    async def get_campaign_stats(
        self, campaign: str, date_from: datetime, date_to: datetime
    ) -> CampaignStats:
        """getCampaignStats of one campaign over ``[date_from, date_to]``."""
        args = {
            "campaign": campaign,
            "datefrom": self._time(date_from),
            "dateto": self._time(date_to),
        }
        return await self._scheduled(
            "getCampaignStats",
            args,
            lambda response: parse.parse_campaign_stats(response, self._tz),
        )

    async def get_msg_stats(self, message: str) -> MessageStats:
        """getMsgStats: the lifetime statistics of one message."""
        return await self._scheduled(
            "getMsgStats",
            {"message": message},
            lambda response: parse.parse_message_stats("getMsgStats", response, self._tz),
        )

    async def get_msg_platforms_stats(self, message: str, platforms: Sequence[int]) -> MessageStats:
        """getMsgPlatformsStats: one message's statistics for the given platform codes."""
        return await self._scheduled(
            "getMsgPlatformsStats",
            {"message": message, "platforms": list(platforms)},
            lambda response: parse.parse_message_stats("getMsgPlatformsStats", response, self._tz),
        )

    async def get_event_statistics(
        self,
        application: str,
        event: str,
        date_from: datetime,
        date_to: datetime,
        attributes: Sequence[EventAttribute] = (),
    ) -> tuple[EventBucket, ...]:
        """getEventStatistics: hourly trigger counts of one event, optionally filtered.

        The API takes whole days (``Y-m-d``, the only form it documents): this asks for the
        days that hold ``date_from`` and ``date_to``, and answers every hour of them; the
        caller keeps the hours it wants."""
        args: dict[str, object] = {
            "application": application,
            "event": event,
            "date_from": self._date(date_from),
            "date_to": self._date(date_to),
        }
        if attributes:
            args["attributes"] = [
                {"name": a.name, "operator": a.operator, "values": list(a.values)}
                for a in attributes
            ]
        return await self._scheduled(
            "getEventStatistics",
            args,
            lambda response: parse.parse_event_buckets(response, self._tz),
        )

    async def get_tag_stats(
        self, tag: str, applications: Sequence[str] = (), *, max_values: int
    ) -> TagSummary:
        """getTagStats, then the download of its CSV file (``tagFile``, no auth), read as
        it arrives: the ``max_values`` rows with the most devices, and the rest summed
        (see :mod:`.tagfile`)."""
        args: dict[str, object] = {"tag": tag}
        if applications:
            args["applications"] = list(applications)
        url = await self._scheduled("getTagStats", args, parse.parse_tag_url)
        return await self._transport.download(
            tagfile.METHOD,
            urljoin(self._api_url + "/", url),
            lambda: tagfile.TagFileReader(max_values),
        )

    async def get_applications(self, page: int = 1) -> ApplicationsPage:
        """getApplications: one page of the applications the token sees."""
        return await self._call("getApplications", {"page": page}, parse.parse_applications_page)

    async def get_campaigns(
        self, application: str, cursor: str | None = None, limit: int = 100
    ) -> tuple[CampaignInfo, ...]:
        """getCampaigns: the application's campaigns after ``cursor`` (a campaign code)."""
        args: dict[str, object] = {"application": application, "limit": limit}
        if cursor is not None:
            args["cursor"] = cursor
        return await self._call("getCampaigns", args, parse.parse_campaigns)

    async def list_tags(self) -> tuple[TagInfo, ...]:
        """listTags: the account's tags."""
        return await self._call("listTags", {}, parse.parse_tags)

    async def get_application_subscribers_stats(self, application: str) -> SubscriberCounts:
        """getApplicationSubscribersStats (synchronous): subscribers by platform."""
        return await self._call(
            "getApplicationSubscribersStats",
            {"application": application},
            parse.parse_subscriber_counts,
        )

    async def get_subscribers_statistics(
        self, application: str, date_from: datetime, date_to: datetime
    ) -> SubscribersStatistics:
        """v2 getSubscribersStatistics: subscriber points over ``[date_from, date_to]``."""
        method = "getSubscribersStatistics"
        body = {
            "application_code": application,
            "timestamp_from": _utc_time(date_from),
            "timestamp_to": _utc_time(date_to),
        }
        return await self._transport.send(
            method,
            self._api_url + V2_SUBSCRIBERS_PATH,
            lambda payload: parse.parse_subscribers_statistics(decode_json(method, payload)),
            body=body,
            headers={"Authorization": f"Key {self._token}"},
        )

    async def _call(
        self, method: str, args: Mapping[str, object], read: Callable[[object], T]
    ) -> T:
        """One JSON API 1.3 request; ``read`` parses the ``response`` of a 200."""

        def decode(payload: bytes) -> T:
            envelope = read_envelope(method, decode_json(method, payload))
            check_status(method, envelope)
            return read(envelope.response)

        return await self._transport.send(
            method, self._v1_url(method), decode, body={"request": {"auth": self._token, **args}}
        )

    async def _scheduled(
        self, method: str, args: Mapping[str, object], read: Callable[[object], T]
    ) -> T:
        """Schedule a job, then poll getResults until it is done or ``results_timeout``."""
        request_id = await self._call(
            method, args, lambda response: parse.parse_request_id(method, response)
        )
        scheduled_at = self._clock.now()
        deadline = scheduled_at + self._results_timeout
        wait = self._durations.begin(method)
        try:
            intervals = self._poll_policy.intervals()
            polls = 0
            while True:
                remaining = deadline - self._clock.now()
                if remaining <= 0:
                    if self._observer is not None:
                        self._observer.results_timed_out(method)
                    raise ResultsTimeout(
                        f"job still pending after {self._results_timeout:g} s ({polls} polls)",
                        method=method,
                    )
                await self._clock.sleep(min(wait, remaining))
                polls += 1
                result = await self._results(request_id, read)
                if not isinstance(result, _Pending):
                    took = self._clock.now() - scheduled_at
                    self._durations.learn(method, took, done_at_first_poll=polls == 1)
                    log.debug(
                        "pushwoosh_job_done", method=method, polls=polls, seconds=round(took, 3)
                    )
                    return result
                wait = next(intervals)
        finally:
            self._durations.end(method)

    async def _results(self, request_id: str, read: Callable[[object], T]) -> T | _Pending:
        """One getResults request: the parsed result, or ``_PENDING`` on status_code 420."""
        method = "getResults"

        def decode(payload: bytes) -> T | _Pending:
            envelope = read_envelope(method, decode_json(method, payload))
            if check_status(method, envelope, pending_ok=True):
                return _PENDING
            return read(envelope.response)

        return await self._transport.send(
            method,
            self._v1_url(method),
            decode,
            body={"request": {"auth": self._token, "request_id": request_id}},
        )

    def _v1_url(self, method: str) -> str:
        return f"{self._api_url}/json/1.3/{method}"

    def _time(self, moment: datetime) -> str:
        """An aware datetime as the v1 API's ``Y-m-d H:i:s`` in the configured zone."""
        return _aware(moment).astimezone(self._tz).strftime(_TIME_FORMAT)

    def _date(self, moment: datetime) -> str:
        """The day (``Y-m-d``) that holds ``moment`` in the configured zone."""
        return _aware(moment).astimezone(self._tz).strftime(_DATE_FORMAT)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("datetimes passed to the Pushwoosh client must be timezone-aware")
    return moment


def _utc_time(moment: datetime) -> str:
    """An aware datetime as the v2 API's UTC ``Y-m-d H:i:s``."""
    return _aware(moment).astimezone(UTC).strftime(_TIME_FORMAT)

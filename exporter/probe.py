"""``--probe``: poll every target once against the real API and say how each one went.

The first command a new user runs. Every configured target of this shard is polled once,
concurrently within the configured request limits, by the same collectors the exporter
runs; there is no server, no state file and no baseline. One line per target goes to
stdout, in config order, in the logfmt style of the logs::

    collector=app_stats target=ABCDE-12345 method=getAppStats calls=2 result=ok series=6 \
newest=2025-11-28T09:59:00Z
    collector=campaign target=CAMP1-23456 method=getCampaignStats calls=1 result=auth \
error="getCampaignStats: status_code 403: Token restrictions forbid this operation" \
series=0 newest=-

``calls`` counts every HTTP attempt the target made (getResults polls, retries and tag file
downloads included). The exit code is 0 when every target succeeded, else 1. With a
:class:`~exporter.pushwoosh.dump.DumpWriter`, every attempt is also written to a file.
"""

import asyncio
import re
from collections import Counter
from collections.abc import Coroutine, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO, TypeVar

import structlog

from exporter.clock import Clock, SystemClock
from exporter.collection.collectors import Collector, PollContext
from exporter.collection.discovery import APPLICATIONS, CAMPAIGNS, Discovered, Discovery, Found
from exporter.collection.scheduler import FUTURE_TOLERANCE
from exporter.collection.targets import Shard, build_collectors
from exporter.config import Config
from exporter.logsetup import REDACTOR
from exporter.pushwoosh.client import PushwooshClient
from exporter.pushwoosh.dump import DumpWriter
from exporter.pushwoosh.errors import MalformedResponse, PushwooshError
from exporter.pushwoosh.exchange import BodyFile, Exchange
from exporter.store import Observation, TargetKey

log = structlog.get_logger(__name__)

ADVICE = {
    "auth": "check the token (PUSHWOOSH_API_TOKEN or pushwoosh.api_token_file); if it is "
    "right, status_code 403 or 210 on every target means the account's plan lacks the "
    "Statistics API, and 403 on some apps means the token may not read them",
    "argument": "check the codes and names in the config: the API's message says what it "
    "could not find",
    "malformed": "the API answered something this version does not understand: run again "
    "with --probe.dump=DIR and attach DIR to a bug report",
    "timeout": "the API did not answer in time: check pushwoosh.api_url and the network, or "
    "raise pushwoosh.request_timeout or pushwoosh.results_timeout",
    "http_5xx": "the API failed: try again later",
    "rate_limited": "the account's request limit was hit: lower "
    "pushwoosh.max_requests_per_minute or pushwoosh.max_concurrent_requests",
    "internal": "a bug in the exporter: please report it with the log above",
}
"""What to do about each failure reason, logged once per reason after the lines."""

_PLAIN = re.compile(r"[^\s\"=\\]+")
"""A logfmt value that needs no quotes."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """How one target's poll went."""

    key: TargetKey
    methods: tuple[str, ...]
    """The API methods it called, in order (getResults, implied by a scheduled method, left
    out)."""
    calls: int
    reason: str | None = None
    """None when the poll succeeded, else the failure reason (as in the metrics)."""
    error: str = ""
    path: str = ""
    body: str | None = None
    series: int = 0
    newest: int | None = None
    """Start of the newest bucket seen, Unix seconds."""
    ahead: float = 0.0
    """How far the newest bucket starts after the probe's time (a timezone mismatch)."""

    @property
    def ok(self) -> bool:
        """True when the poll succeeded."""
        return self.reason is None

    def line(self) -> str:
        """The probe's output line for this target."""
        fields: list[tuple[str, str]] = [
            ("collector", self.key.collector),
            ("target", self.key.target),
            ("method", ",".join(self.methods) or "-"),
            ("calls", str(self.calls)),
            ("result", self.reason or "ok"),
        ]
        if self.reason is not None:
            fields.append(("error", self.error))
            if self.path:
                fields.append(("path", self.path))
            if self.body is not None:
                fields.append(("body", self.body))
        newest = "-"
        if self.newest is not None:
            newest = datetime.fromtimestamp(self.newest, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        fields += [("series", str(self.series)), ("newest", newest)]
        if self.ahead > FUTURE_TOLERANCE:
            fields.append(
                (
                    "note",
                    f"newest bucket starts {self.ahead / 3600:.1f}h in the future: set "
                    "pushwoosh.timezone to the zone the account reports in",
                )
            )
        return " ".join(f"{name}={_logfmt(value)}" for name, value in fields)


T = TypeVar("T")

_OWNER: ContextVar[TargetKey | None] = ContextVar("probe_target", default=None)
"""The target whose poll is making the current call."""


@dataclass
class _Calls:
    methods: list[str] = field(default_factory=list)
    count: int = 0


class CallTally:
    """The client's recorder during a probe: counts each target's calls and hands every
    exchange, labelled with its target, to the dump.

    A target's poll runs in its own task started with the target in a context variable;
    the client records from inside it (or from tasks it starts, which copy the context), so
    the context says whose call it was."""

    def __init__(self, dump: DumpWriter | None) -> None:
        self._dump = dump
        self._calls: dict[TargetKey, _Calls] = {}

    def start(self, key: TargetKey, work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run ``work`` in a task whose calls count as ``key``'s."""
        self._calls[key] = _Calls()
        owner = _OWNER.set(key)
        try:
            return asyncio.create_task(work, name=str(key))
        finally:
            _OWNER.reset(owner)

    def calls(self, key: TargetKey) -> tuple[tuple[str, ...], int]:
        """The methods ``key`` called (getResults left out) and its number of calls."""
        calls = self._calls.get(key, _Calls())
        return tuple(calls.methods), calls.count

    async def open_body(self) -> BodyFile | None:
        """The dump's file for a streamed body; None without a dump."""
        return await self._dump.open_body() if self._dump is not None else None

    async def record(self, exchange: Exchange) -> None:
        """Count one HTTP attempt for its target, and dump it."""
        key = _OWNER.get()
        if key is not None:
            calls = self._calls[key]
            calls.count += 1
            if exchange.method != "getResults" and exchange.method not in calls.methods:
                calls.methods.append(exchange.method)
        if self._dump is not None:
            await self._dump.record(exchange, str(key) if key is not None else None)


async def probe_targets(
    config: Config, shard: Shard, client: PushwooshClient, tally: "CallTally", now: float
) -> tuple[list[Collector], list[ProbeResult]]:
    """The targets a probe polls: the configured ones of this shard and, with discovery, the
    ones its listings find; each listing is a result of its own (a failed one fails the
    probe, and its targets are then the listed ones alone)."""
    if config.discovery is None:
        return build_collectors(config, shard), []
    discovery = Discovery(config.discovery)
    listed_apps = [app.code for app in config.applications]
    listed_campaigns = {campaign.code for campaign in config.campaigns}

    async def tracked(
        kind: str, listing: Coroutine[Any, Any, tuple[Found, ...]]
    ) -> tuple[Found, ...]:
        return await tally.start(TargetKey("discovery", kind), listing)

    apps = await tracked(APPLICATIONS, discovery.refresh_applications(client, now, listed_apps))
    campaigns = await tracked(
        CAMPAIGNS,
        discovery.refresh_campaigns(
            client, now, [*listed_apps, *(a.code for a in apps)], listed_campaigns
        ),
    )
    listings = []
    for kind, status in discovery.status.items():
        key = TargetKey("discovery", kind)
        methods, calls = tally.calls(key)
        listings.append(
            ProbeResult(
                key,
                methods,
                calls,
                reason=status.reason,
                error=(status.last_error or "").removeprefix(f"{status.reason}: "),
                series=status.targets,
            )
        )
    found = build_collectors(config, shard, Discovered(apps, campaigns))
    return found, listings


async def run_probe(
    config: Config,
    token: str,
    *,
    shard: Shard | None = None,
    dump: DumpWriter | None = None,
    out: TextIO,
    clock: Clock | None = None,
) -> int:
    """Poll every target once, write one line each to ``out``; 0 if all succeeded, else 1."""
    REDACTOR.add([token])
    shard = shard or Shard()
    clock = clock or SystemClock()
    tally = CallTally(dump)
    settings = config.pushwoosh
    async with PushwooshClient(
        api_url=str(settings.api_url),
        token=token,
        request_timeout=settings.request_timeout.total_seconds(),
        max_concurrent=settings.max_concurrent_requests,
        # A shard spends its share of the account's budget, as the exporter does.
        max_per_minute=max(1, settings.max_requests_per_minute // shard.count),
        results_timeout=settings.results_timeout.total_seconds(),
        clock=clock,
        recorder=tally,
        timezone=settings.zone,
    ) as client:
        collectors, listings = await probe_targets(config, shard, client, tally, clock.now())
        for listing in listings:
            print(REDACTOR.redact(listing.line()), file=out, flush=True)
        ctx = PollContext(
            client=client,
            now=clock.now(),
            lookback=config.collection.lookback.total_seconds(),
            max_catchup=config.collection.max_catchup.total_seconds(),
            watermark=None,
            timezone=settings.zone,
        )
        results = listings + await _probe_all(collectors, ctx, tally, out)
    failed = [r for r in results if not r.ok]
    done: dict[str, object] = {"targets": len(results), "failed": len(failed)}
    done["calls"] = sum(r.calls for r in results)
    if dump is not None:
        done["dump"] = str(dump.directory)
    log.info("probe_done", **done)
    reasons = Counter(r.reason or "" for r in failed)
    for reason, targets in reasons.items():
        log.warning("probe_failed", reason=reason, targets=targets, advice=ADVICE.get(reason, ""))
    return 1 if failed else 0


async def _probe_all(
    collectors: Sequence[Collector], ctx: PollContext, tally: CallTally, out: TextIO
) -> list[ProbeResult]:
    """Start every poll at once (the client's limiter paces them); print in config order
    as soon as each line's turn comes."""
    tasks = []
    for collector in collectors:
        tasks.append(tally.start(collector.key, _probe_one(collector, ctx, tally)))
    results = []
    try:
        for task in tasks:
            result = await task
            print(REDACTOR.redact(result.line()), file=out, flush=True)
            results.append(result)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return results


async def _probe_one(collector: Collector, ctx: PollContext, tally: CallTally) -> ProbeResult:
    """One target's poll, turned into its result (a failure is a result, not an error)."""
    key = collector.key
    try:
        observation = await collector.collect(ctx)
    except PushwooshError as exc:
        methods, calls = tally.calls(key)
        return ProbeResult(
            key,
            methods,
            calls,
            reason=exc.reason,
            error=str(exc),
            path=exc.path if isinstance(exc, MalformedResponse) else "",
            body=exc.body_start if isinstance(exc, MalformedResponse) else None,
        )
    except Exception as exc:  # a bug in one collector must not hide the other targets
        log.exception("probe_crashed", collector=key.collector, target=key.target)
        methods, calls = tally.calls(key)
        return ProbeResult(key, methods, calls, "internal", f"{type(exc).__name__}: {exc}")
    methods, calls = tally.calls(key)
    newest = observation.newest_bucket
    return ProbeResult(
        key,
        methods,
        calls,
        series=_series_count(observation),
        newest=newest,
        ahead=0.0 if newest is None else newest - ctx.now,
    )


def _series_count(observation: Observation) -> int:
    """How many series the poll would publish."""
    series = {bucket.series for bucket in observation.buckets}
    series.update(observation.declared)
    series.update(s for s, _ in observation.totals)
    series.update(s for s, _ in observation.gauges)
    return len(series)


def _logfmt(value: str) -> str:
    if _PLAIN.fullmatch(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'

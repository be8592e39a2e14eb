"""The running exporter: config, client, store, scheduler and web server wired together.

Data goes one way: the scheduler's polls build into the store, the publisher publishes
(writing the state file first when there is one), the web server only loads what was
published.
"""

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from aiohttp import web

from exporter.checkpoint import StateFile
from exporter.clock import Clock, SystemClock
from exporter.collection.collectors import Collector
from exporter.collection.discovery import Discovered, Discovery
from exporter.collection.scheduler import Scheduler
from exporter.collection.targets import ApiBudget, Shard, build_collectors
from exporter.config import Config, ConfigError
from exporter.kinds import KINDS
from exporter.logsetup import REDACTOR
from exporter.metrics import Exposition, SelfMetrics
from exporter.publish import Publisher
from exporter.pushwoosh.client import PushwooshClient
from exporter.server import TargetRow, WebHooks, create_app
from exporter.store import Store
from exporter.webconfig import WebConfig, WebGuard, load_web_config

log = structlog.get_logger(__name__)

ConfigSource = Callable[[], tuple[Config, str]]
"""Loads the config and the API token; raises ConfigError."""


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """Where the web server listens: ``host:port``, ``:port`` (all interfaces), ``[::1]:port``."""

    host: str | None
    port: int

    @classmethod
    def parse(cls, text: str) -> "ListenAddress":
        """Parse ``--web.listen-address``; raises ValueError naming the expected form."""
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"--web.listen-address must be HOST:PORT or :PORT (got {text!r})")
        host = host.strip("[]")
        return cls(host or None, int(port))


class Exporter:
    """Owns every long-lived part; ``start``, ``reload`` and ``stop`` drive it."""

    def __init__(
        self,
        source: ConfigSource,
        *,
        listen: ListenAddress,
        telemetry_path: str = "/metrics",
        shard: Shard | None = None,
        clock: Clock | None = None,
        state_file: Path | None = None,
        web_config_file: Path | None = None,
    ) -> None:
        self._source = source
        self._listen = listen
        self._web_config_file = web_config_file
        self._web_guard: WebGuard | None = None
        self._telemetry_path = telemetry_path
        self._shard = shard or Shard()
        self.clock = clock or SystemClock()
        self.self_metrics = SelfMetrics(state_file=state_file is not None)
        self.store = Store()
        self._state_file = (
            StateFile(state_file, clock=self.clock, observer=self.self_metrics)
            if state_file
            else None
        )
        self.publisher = Publisher(self.store, self._state_file)
        self.exposition = Exposition(self.publisher.load, self.self_metrics)
        self._runner: web.AppRunner | None = None
        self._scheduler: Scheduler | None = None
        self._client: PushwooshClient | None = None
        self._config: Config | None = None
        self._discovery: Discovery | None = None
        self._discovery_task: asyncio.Task[None] | None = None
        self._token = ""
        self._reload_lock = asyncio.Lock()
        self.port: int | None = None

    async def start(self) -> None:
        """Load the config and web config (ConfigError propagates), start polling, serve HTTP."""
        config, token = self._source()
        web_config = self._load_web_config()
        if self._state_file is not None:
            self.store.set_targets(c.key for c in build_collectors(config, self._shard))
            # Saved counters of targets only discovery knows wait for its first listing.
            self._state_file.restore(self.store, keep_unknown=config.discovery is not None)
        await self._apply(config, token)
        self.self_metrics.reloaded(True, self.clock.now())
        hooks = WebHooks(
            render=self.exposition.render_async,
            ready=lambda: self.publisher.load().ready,
            targets=self._target_rows,
            reload=self.reload,
        )
        guard = self._web_guard = WebGuard(web_config)
        app = create_app(hooks, self._telemetry_path, [guard.middleware])
        app.on_response_prepare.append(guard.add_headers)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self._listen.host, self._listen.port, ssl_context=guard.ssl_context()
        )
        await site.start()
        sockets = self._runner.addresses
        self.port = int(sockets[0][1]) if sockets else self._listen.port
        log.info(
            "listening",
            address=f"{self._listen.host or ''}:{self.port}",
            telemetry_path=self._telemetry_path,
            targets=len(self._scheduler.collectors) if self._scheduler else 0,
            tls=web_config.tls is not None,
        )

    @property
    def tls(self) -> bool:
        """Whether the web server speaks HTTPS."""
        return self._web_guard is not None and self._web_guard.config.tls is not None

    async def reload(self) -> str | None:
        """Reload the config and the web config: None when both are applied, else the error
        (then neither is, and the old ones keep running)."""
        async with self._reload_lock:
            try:
                config, token = self._source()
                web_config = self._load_web_config()
                if self._web_guard is not None:
                    self._web_guard.replace(web_config)
            except ConfigError as exc:
                self.self_metrics.reloaded(False, self.clock.now())
                log.error("reload_failed", error=str(exc))
                return str(exc)
            await self._apply(config, token)
            self.self_metrics.reloaded(True, self.clock.now())
            log.info("reloaded", targets=len(self._scheduler.collectors) if self._scheduler else 0)
            return None

    async def stop(self) -> None:
        """Stop polling, write the last state, close the API session and web server."""
        await self._stop_discovery()
        if self._scheduler is not None:
            await self._scheduler.stop()
            # Only once polling started: before, the store may not hold the state file's
            # content yet (a bad config at start), and writing it would erase the file.
            await self.publisher.flush()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _load_web_config(self) -> WebConfig:
        """The web config file's current content (WebConfigError, a ConfigError, if unusable)."""
        if self._web_config_file is None:
            return WebConfig()
        web_config = load_web_config(self._web_config_file)
        for note in web_config.notes:
            log.warning("web_config_partly_honoured", detail=note)
        return web_config

    async def _apply(self, config: Config, token: str) -> None:
        REDACTOR.add([token])
        await self._stop_discovery()
        if config.discovery is None:
            self._discovery = None
        elif self._discovery is None or self._discovery.settings != config.discovery:
            # New settings list afresh at once; until then the last lists stay (of the
            # listings still on).
            last = self._discovery.current if self._discovery else Discovered()
            self._discovery = Discovery(
                config.discovery,
                current=Discovered(
                    last.applications if config.discovery.applications else (),
                    last.campaigns if config.discovery.campaigns else (),
                ),
            )
        collectors = self._collectors(config)
        listing_calls = self._discovery.round_calls if self._discovery else 0
        _warn_if_over_budget(config, collectors, self._shard, listing_calls)
        same_client = (
            self._config is not None
            and self._config.pushwoosh == config.pushwoosh
            and self._config.collection == config.collection
            and token == self._token
        )
        if self._scheduler is not None and same_client:
            self._scheduler.update(collectors)
        else:
            if self._scheduler is not None:
                await self._scheduler.stop()
            if self._client is not None:
                await self._client.close()
            client = self._client = self._make_client(config, token)
            self._scheduler = Scheduler(
                store=self.store,
                client=client,
                clock=self.clock,
                interval=config.collection.interval.total_seconds(),
                intervals=_intervals(config),
                lookback=config.collection.lookback.total_seconds(),
                max_catchup=config.collection.max_catchup.total_seconds(),
                after_poll=self.publisher.changed,
                timezone=config.pushwoosh.zone,
                room=lambda: client.room,
            )
            self._scheduler.start(collectors)
        self._config, self._token = config, token
        await self.publisher.changed()  # the targets changed: added ones unpolled, removed gone
        if self._discovery is not None and self._client and self._scheduler:
            self._discovery_task = asyncio.create_task(
                self._discover(config, self._discovery, self._client, self._scheduler),
                name="discovery",
            )

    def _collectors(self, config: Config) -> list[Collector]:
        """The listed targets and the discovered ones this shard polls."""
        found = self._discovery.current if self._discovery else None
        return build_collectors(config, self._shard, found)

    async def _discover(
        self, config: Config, discovery: Discovery, client: PushwooshClient, scheduler: Scheduler
    ) -> None:
        """List the targets every ``discovery.interval`` and poll what the lists keep."""
        listed_apps = [app.code for app in config.applications]
        listed_campaigns = {campaign.code for campaign in config.campaigns}
        interval = config.discovery.interval.total_seconds() if config.discovery else 600.0
        pending = True
        while True:
            try:
                changed = await discovery.refresh(
                    client, self.clock.now(), listed_apps, listed_campaigns
                )
                if changed:
                    collectors = self._collectors(config)
                    scheduler.update(collectors)
                    await self.publisher.changed()
                    _warn_if_over_budget(config, collectors, self._shard, discovery.round_calls)
                    log.info(
                        "discovered",
                        applications=len(discovery.current.applications),
                        campaigns=len(discovery.current.campaigns),
                        targets=len(collectors),
                    )
                # Saved counters wait until every listing has answered once: a failed
                # first round must not reset them.
                if pending and discovery.complete:
                    pending = False
                    given_up = self.store.forget_pending()
                    if given_up:
                        log.info("state_targets_given_up", targets=given_up)
            except Exception as exc:  # a bug in one round must not end discovery
                log.exception("discovery_crashed")
                discovery.crashed(f"{type(exc).__name__}: {exc}")
            for kind, listing in discovery.status.items():
                self.self_metrics.discovered(kind, listing.up, listing.targets)
            await self.clock.sleep(interval)

    async def _stop_discovery(self) -> None:
        task, self._discovery_task = self._discovery_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _make_client(self, config: Config, token: str) -> PushwooshClient:
        settings = config.pushwoosh
        return PushwooshClient(
            api_url=str(settings.api_url),
            token=token,
            request_timeout=settings.request_timeout.total_seconds(),
            max_concurrent=settings.max_concurrent_requests,
            # The limit is the account's: each of n shards spends 1/n of it.
            max_per_minute=max(1, settings.max_requests_per_minute // self._shard.count),
            results_timeout=settings.results_timeout.total_seconds(),
            observer=self.self_metrics,
            clock=self.clock,
            timezone=settings.zone,
        )

    def _target_rows(self) -> list[TargetRow]:
        return [
            TargetRow(
                key.collector,
                key.target,
                v.status.up,
                v.status.last_success,
                v.status.last_error,
                v.status.last_error_body,
            )
            for key, v in sorted(self.publisher.load().targets.items())
        ] + [
            TargetRow("discovery", kind, status.up, status.last_success, status.last_error)
            for kind, status in (self._discovery.status.items() if self._discovery else ())
        ]


def _warn_if_over_budget(
    config: Config, collectors: list[Collector], shard: Shard, listing_calls: int = 0
) -> None:
    """Log ``api_budget_exceeded`` with the advice when the polls and the listings (the
    ``listing_calls`` of discovery's last round) need more than the limit."""
    rounds_a_minute = 60.0 / config.discovery.interval.total_seconds() if config.discovery else 0
    budget = ApiBudget.of(
        collectors,
        config.pushwoosh.max_requests_per_minute,
        config.collection.interval.total_seconds(),
        intervals=_intervals(config),
        shards=shard.count,
        lookback=config.collection.lookback.total_seconds(),
        max_catchup=config.collection.max_catchup.total_seconds(),
        listing=listing_calls * rounds_a_minute,
    )
    if budget.exceeded:
        log.warning("api_budget_exceeded", advice=budget.advice())


def _intervals(config: Config) -> dict[str, float]:
    """Seconds between polls, by collector kind."""
    return {name: config.collection.interval_of(name).total_seconds() for name in KINDS}

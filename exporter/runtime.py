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
from exporter.collection.scheduler import Scheduler
from exporter.collection.targets import ApiBudget, Shard, build_collectors
from exporter.config import Config, ConfigError
from exporter.logsetup import REDACTOR
from exporter.metrics import Exposition, SelfMetrics
from exporter.publish import Publisher
from exporter.pushwoosh.client import PushwooshClient
from exporter.server import TargetRow, WebHooks, create_app
from exporter.store import Store
from exporter.webconfig import WebConfig, basic_auth_middleware

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
        web_config: WebConfig | None = None,
    ) -> None:
        self._source = source
        self._listen = listen
        self._web_config = web_config
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
        self._token = ""
        self._reload_lock = asyncio.Lock()
        self.port: int | None = None

    async def start(self) -> None:
        """Load the config (ConfigError propagates), start polling, then serve HTTP."""
        config, token = self._source()
        if self._state_file is not None:
            self.store.set_targets(c.key for c in build_collectors(config, self._shard))
            self._state_file.restore(self.store)
        await self._apply(config, token)
        self.self_metrics.reloaded(True, self.clock.now())
        hooks = WebHooks(
            render=self.exposition.render_async,
            ready=lambda: self.publisher.load().ready,
            targets=self._target_rows,
            reload=self.reload,
        )
        web_config = self._web_config or WebConfig()
        middlewares = [basic_auth_middleware(web_config)] if web_config.users else []
        app = create_app(hooks, self._telemetry_path, middlewares)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner,
            self._listen.host,
            self._listen.port,
            ssl_context=web_config.ssl_context(),
        )
        await site.start()
        sockets = self._runner.addresses
        self.port = int(sockets[0][1]) if sockets else self._listen.port
        log.info(
            "listening",
            address=f"{self._listen.host or ''}:{self.port}",
            telemetry_path=self._telemetry_path,
            targets=len(self._scheduler.collectors) if self._scheduler else 0,
        )

    async def reload(self) -> str | None:
        """Reload the config: None when applied, else the error (the old config keeps running)."""
        async with self._reload_lock:
            try:
                config, token = self._source()
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
        if self._scheduler is not None:
            await self._scheduler.stop()
            # Only once polling started: before, the store may not hold the state file's
            # content yet (a bad config at start), and writing it would erase the file.
            await self.publisher.flush()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _apply(self, config: Config, token: str) -> None:
        REDACTOR.add([token])
        collectors = build_collectors(config, self._shard)
        budget = ApiBudget.of(
            collectors,
            config.pushwoosh.max_requests_per_minute,
            config.collection.interval.total_seconds(),
            lookback=config.collection.lookback.total_seconds(),
            max_catchup=config.collection.max_catchup.total_seconds(),
        )
        if budget.exceeded:
            log.warning("api_budget_exceeded", advice=budget.advice())
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
            self._client = self._make_client(config, token)
            self._scheduler = Scheduler(
                store=self.store,
                client=self._client,
                clock=self.clock,
                interval=config.collection.interval.total_seconds(),
                lookback=config.collection.lookback.total_seconds(),
                max_catchup=config.collection.max_catchup.total_seconds(),
                after_poll=self.publisher.changed,
                timezone=config.pushwoosh.zone,
            )
            self._scheduler.start(collectors)
        self._config, self._token = config, token
        await self.publisher.changed()  # the targets changed: added ones unpolled, removed gone

    def _make_client(self, config: Config, token: str) -> PushwooshClient:
        settings = config.pushwoosh
        return PushwooshClient(
            api_url=str(settings.api_url),
            token=token,
            request_timeout=settings.request_timeout.total_seconds(),
            max_concurrent=settings.max_concurrent_requests,
            max_per_minute=settings.max_requests_per_minute,
            results_timeout=settings.results_timeout.total_seconds(),
            observer=self.self_metrics,
            clock=self.clock,
            timezone=settings.zone,
        )

    def _target_rows(self) -> list[TargetRow]:
        return [
            TargetRow(
                key.collector, key.target, v.status.up, v.status.last_success, v.status.last_error
            )
            for key, v in sorted(self.publisher.load().targets.items())
        ]

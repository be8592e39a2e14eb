"""From the store's snapshot and the exporter's own counters to the exposition.

Two sources, one registry:

- :class:`SnapshotCollector` reads the immutable :class:`~exporter.store.Snapshot` the poller
  swapped in (Pushwoosh data, per-target health, count revisions), never the API;
- :class:`SelfMetrics` holds the exporter's own instruments (API requests, failures,
  latency, reloads, build info); it is the client's :class:`RequestObserver`.

Example exposition::

    # HELP pushwoosh_messages_sent_total Push messages sent (getAppStats messages/send).
    # TYPE pushwoosh_messages_sent_total counter
    pushwoosh_messages_sent_total{app="ABCDE-12345",app_name="shop-ios"} 1234.0
    # HELP pushwoosh_up 1 if the last collection of this target succeeded.
    # TYPE pushwoosh_up gauge
    pushwoosh_up{collector="app_stats",target="ABCDE-12345"} 1.0
"""

import gzip
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector

from exporter import __version__
from exporter.families import DATA_FAMILIES
from exporter.store import Snapshot

disable_created_metrics()  # type: ignore[no-untyped-call]  # SPEC: no _created series

API_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class SnapshotCollector(Collector):
    """Yields the Pushwoosh data and per-target health of the current snapshot."""

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        """One family per metric of SPEC, built from the snapshot alone."""
        snap = self._snapshot()
        values: dict[str, list[tuple[list[str], float]]] = {f.name: [] for f in DATA_FAMILIES}
        for view in snap.targets.values():
            for series, value in (*view.counters, *view.gauges):
                bucket = values.get(series.metric)
                if bucket is not None:
                    bucket.append(([v for _, v in series.labels], value))
        for family in DATA_FAMILIES:
            metric: CounterMetricFamily | GaugeMetricFamily
            if family.kind == "counter":
                metric = CounterMetricFamily(
                    family.name.removesuffix("_total"), family.help, labels=family.labels
                )
            else:
                metric = GaugeMetricFamily(family.name, family.help, labels=family.labels)
            for labels, value in sorted(values[family.name]):
                metric.add_metric(labels, value)
            yield metric
        yield from self._health(snap)

    @staticmethod
    def _health(snap: Snapshot) -> Iterator[Metric]:
        labels = ["collector", "target"]
        up = GaugeMetricFamily(
            "pushwoosh_up", "1 if the last collection of this target succeeded.", labels=labels
        )
        duration = GaugeMetricFamily(
            "pushwoosh_collector_duration_seconds",
            "Length of the last collection of this target.",
            labels=labels,
        )
        success = GaugeMetricFamily(
            "pushwoosh_collector_last_success_timestamp_seconds",
            "Unix time of the last successful collection of this target.",
            labels=labels,
        )
        newest = GaugeMetricFamily(
            "pushwoosh_data_newest_bucket_timestamp_seconds",
            "Start of the newest bucket the API reported for this target (data lag).",
            labels=labels,
        )
        for key, view in sorted(snap.targets.items()):
            status, pair = view.status, [key.collector, key.target]
            up.add_metric(pair, 1.0 if status.up else 0.0)
            if status.last_duration is not None:
                duration.add_metric(pair, status.last_duration)
            if status.last_success is not None:
                success.add_metric(pair, status.last_success)
            if status.newest_bucket is not None:
                newest.add_metric(pair, status.newest_bucket)
        revisions = CounterMetricFamily(
            "pushwoosh_count_revisions",
            "Buckets whose count changed after first seen, by direction (up, down).",
            labels=["direction"],
        )
        for direction in ("up", "down"):
            revisions.add_metric([direction], float(snap.revisions.get(direction, 0)))
        yield from (up, duration, success, newest, revisions)


class SelfMetrics:
    """The exporter's own instruments, in their own registry; the client's observer."""

    def __init__(self) -> None:
        self.version = 0
        """Grows with every change, so renderings can be cached between changes."""
        self.registry = CollectorRegistry(auto_describe=True)
        self.api_requests = Counter(
            "pushwoosh_api_requests",
            "Pushwoosh API calls made (every HTTP attempt, retries included).",
            ["method"],
            registry=self.registry,
        )
        self.api_failures = Counter(
            "pushwoosh_api_request_failures",
            "Failed Pushwoosh API calls by reason "
            "(timeout, http_5xx, rate_limited, auth, argument, malformed).",
            ["method", "reason"],
            registry=self.registry,
        )
        self.api_latency = Histogram(
            "pushwoosh_api_request_duration_seconds",
            "Latency of Pushwoosh API calls.",
            ["method"],
            buckets=API_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.reload_ok = Gauge(
            "pushwoosh_config_last_reload_successful",
            "1 if the last configuration reload succeeded.",
            registry=self.registry,
        )
        self.reload_time = Gauge(
            "pushwoosh_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful configuration load.",
            registry=self.registry,
        )
        build = Gauge(
            "pushwoosh_exporter_build_info",
            "Always 1; the version label says which exporter runs.",
            ["version"],
            registry=self.registry,
        )
        build.labels(version=__version__).set(1)

    def request_finished(self, method: str, seconds: float, failure: str | None) -> None:
        """Count one HTTP attempt of ``method`` (the client's RequestObserver)."""
        self.version += 1
        self.api_requests.labels(method=method).inc()
        self.api_latency.labels(method=method).observe(seconds)
        if failure is not None:
            self.api_failures.labels(method=method, reason=failure).inc()

    def results_timed_out(self, method: str) -> None:
        """A scheduled job given up at results_timeout: one ``timeout`` failure of ``method``."""
        self.version += 1
        self.api_failures.labels(method=method, reason="timeout").inc()

    def reloaded(self, ok: bool, when: float) -> None:
        """Record a configuration (re)load outcome."""
        self.version += 1
        self.reload_ok.set(1 if ok else 0)
        if ok:
            self.reload_time.set(when)


class Exposition:
    """Renders the exposition, caching each part until its source changes.

    The snapshot's families are rendered once per snapshot (per format, plain and gzip),
    the self-metrics once per change of their own; a scrape only joins cached bytes. Two
    gzip members in a row are one valid gzip stream (RFC 1952), so the gzip parts join too.
    """

    def __init__(self, snapshot: Callable[[], Snapshot], self_metrics: SelfMetrics) -> None:
        self._snapshot = snapshot
        self._self_metrics = self_metrics
        self._data_registry = CollectorRegistry(auto_describe=False)
        self._data_registry.register(SnapshotCollector(snapshot))
        self._data_cache: dict[str, tuple[int, _Rendered]] = {}
        self._self_cache: dict[str, tuple[int, _Rendered]] = {}
        self._joined: dict[tuple[str, bool], tuple[tuple[int, int], bytes]] = {}

    def render(self, accept: str | None, accept_encoding: str | None) -> tuple[bytes, str, bool]:
        """Body, content type and whether the body is gzip-compressed."""
        encoder, content_type = choose_encoder(accept or "")
        fmt = "openmetrics" if content_type.startswith("application/openmetrics") else "text"
        gzipped = bool(accept_encoding and "gzip" in accept_encoding)
        versions = (self._snapshot().version, self._self_metrics.version)
        joined = self._joined.get((fmt, gzipped))
        if joined is not None and joined[0] == versions:
            return joined[1], content_type, gzipped
        data = self._part(self._data_cache, fmt, versions[0], encoder, self._data_registry, True)
        own = self._part(
            self._self_cache, fmt, versions[1], encoder, self._self_metrics.registry, False
        )
        body = data.gzipped + own.gzipped if gzipped else data.plain + own.plain
        self._joined[fmt, gzipped] = (versions, body)
        return body, content_type, gzipped

    @staticmethod
    def _part(
        cache: dict[str, tuple[int, "_Rendered"]],
        fmt: str,
        version: int,
        encoder: Callable[[CollectorRegistry], bytes],
        registry: CollectorRegistry,
        leading: bool,
    ) -> "_Rendered":
        """One part's rendering, re-made only when its version moved. A leading
        OpenMetrics part loses its ``# EOF``: only the end of the whole body has one."""
        cached = cache.get(fmt)
        if cached is None or cached[0] != version:
            body = encoder(registry)
            if leading and fmt == "openmetrics":
                body = body.removesuffix(b"# EOF\n")
            cached = (version, _Rendered(body))
            cache[fmt] = cached
        return cached[1]


class _Rendered:
    """Bytes of one part, with their gzip form made on first use."""

    __slots__ = ("_gzipped", "plain")

    def __init__(self, plain: bytes) -> None:
        self.plain = plain
        self._gzipped: bytes | None = None

    @property
    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.plain, compresslevel=6)
        return self._gzipped

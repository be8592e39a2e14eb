"""From the store's snapshot and the exporter's own counters to the exposition.

Two sources, one exposition:

- the immutable :class:`~exporter.store.Snapshot` the poller swapped in (Pushwoosh data,
  per-target health, count revisions), never the API: :class:`Exposition` renders it target
  by target, :class:`SnapshotCollector` yields it whole as a prometheus-client collector;
- :class:`SelfMetrics` holds the exporter's own instruments (API requests, failures,
  latency, reloads, state file writes, build info); it is the client's
  :class:`RequestObserver` and the state file's :class:`StateWriteObserver`.

Example exposition::

    # HELP pushwoosh_messages_sent_total Push messages sent (getAppStats messages/send).
    # TYPE pushwoosh_messages_sent_total counter
    pushwoosh_messages_sent_total{app="ABCDE-12345",app_name="shop-ios"} 1234.0
    # HELP pushwoosh_up 1 if the last collection of this target succeeded.
    # TYPE pushwoosh_up gauge
    pushwoosh_up{collector="app_stats",target="ABCDE-12345"} 1.0
"""

import asyncio
import gzip
import re
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Final, Generic, NamedTuple, Self, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from exporter import __version__
from exporter.families import DATA_FAMILIES, Family
from exporter.store import Series, Snapshot, TargetKey, TargetView

disable_created_metrics()  # type: ignore[no-untyped-call]  # README "Metrics": no _created series

_Encoder = Callable[[Any], bytes]
"""A prometheus-client encoder: anything with ``collect()`` in, exposition bytes out."""

API_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class SnapshotCollector(Collector):
    """Yields the Pushwoosh data and per-target health of the current snapshot.

    The whole snapshot in one registry, as prometheus-client renders it; the
    :class:`Exposition` renders the same families target by target instead.
    """

    def __init__(self, snapshot: Callable[[], Snapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        """One family per metric of the README's tables, built from the snapshot alone."""
        snap = self._snapshot()
        families = {name: make() for name, make in _FAMILY_MAKERS.items()}
        for key, view in snap.targets.items():
            _add_target(families, key, view)
        yield from families.values()
        yield _revisions(snap)


def _data_family(family: Family) -> Callable[[], Metric]:
    def make() -> Metric:
        if family.kind == "counter":
            return CounterMetricFamily(
                family.name.removesuffix("_total"), family.help, labels=family.labels
            )
        return GaugeMetricFamily(family.name, family.help, labels=family.labels)

    return make


def _health_family(name: str, help_text: str) -> Callable[[], Metric]:
    def make() -> Metric:
        return GaugeMetricFamily(name, help_text, labels=list(_HEALTH_LABELS))

    return make


_HEALTH_LABELS = ("collector", "target")
"""The labels of every per-target health family."""
_DATA_LABELS = {family.name: family.labels for family in DATA_FAMILIES}
"""The labels of every data family, by sample name."""

_HEALTH_HELP = {
    "pushwoosh_up": "1 if the last collection of this target succeeded.",
    "pushwoosh_collector_duration_seconds": "Length of the last collection of this target.",
    "pushwoosh_collector_last_success_timestamp_seconds": (
        "Unix time of the last successful collection of this target."
    ),
    "pushwoosh_data_newest_bucket_timestamp_seconds": (
        "Start of the newest bucket the API reported for this target (data lag)."
    ),
}

_FAMILY_MAKERS: dict[str, Callable[[], Metric]] = {
    **{family.name: _data_family(family) for family in DATA_FAMILIES},
    **{name: _health_family(name, help_text) for name, help_text in _HEALTH_HELP.items()},
}
"""Every per-target family, keyed by the family's sample name, in exposition order."""


def _add_target(families: dict[str, Metric], key: TargetKey, view: TargetView) -> None:
    """Add one target's series (data, sorted by label values, then health) to ``families``,
    creating the families it needs that are not there yet.

    A data sample carries its series' own label pairs, names and values together, so a
    value is always rendered under the name it was given with, never by its position.
    """
    status = view.status
    samples = [
        (series.metric, dict(series.labels), value)
        for series, value in sorted((*view.counters, *view.gauges), key=_label_values)
    ]
    pair = {"collector": key.collector, "target": key.target}
    up = 1.0 if status.up else 0.0
    # In the order of _HEALTH_HELP: up, duration, last success, newest bucket.
    readings = (up, status.last_duration, status.last_success, status.newest_bucket)
    for name, reading in zip(_HEALTH_HELP, readings, strict=True):
        if reading is not None:
            samples.append((name, pair, reading))
    for name, labels, value in samples:
        metric = families.get(name)
        if metric is None:
            make = _FAMILY_MAKERS.get(name)
            if make is None:
                continue  # a series of no published family
            metric = families[name] = make()
        metric.samples.append(Sample(name, labels, value))


def _label_values(item: tuple[Series, float]) -> tuple[str, list[str]]:
    series = item[0]
    return series.metric, [v for _, v in series.labels]


def _revisions(snap: Snapshot) -> Metric:
    revisions = CounterMetricFamily(
        "pushwoosh_count_revisions",
        "Buckets whose count changed after first seen, by direction (up, down).",
        labels=["direction"],
    )
    for direction in ("up", "down"):
        revisions.add_metric([direction], float(snap.revisions.get(direction, 0)))
    return revisions


class _Families:
    """A ready list of families in the shape the encoders read (``collect()``)."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterable[Metric]:
        return self._families


class _Changes:
    """How many times the self-metrics changed: their version."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


_M = TypeVar("_M", Counter, Gauge, Histogram)


class _Tracked(Generic[_M]):
    """A prometheus-client instrument, or one labelled child of it, whose every change bumps
    the self-metrics' version (after the change: a rendering tagged with it includes it).

    The instruments are reached only through these, so no method of :class:`SelfMetrics`
    can change one and forget to invalidate the cached exposition.
    """

    __slots__ = ("_changes", "_metric")

    def __init__(self, metric: _M, changes: _Changes) -> None:
        self._metric: _M = metric
        self._changes = changes

    def labels(self, **labels: str) -> Self:
        """The child with these label values, tracked like its parent."""
        return type(self)(self._metric.labels(**labels), self._changes)

    def _changed(self) -> None:
        self._changes.count += 1


class _TrackedCounter(_Tracked[Counter]):
    def inc(self, amount: float = 1.0) -> None:
        """Add ``amount``."""
        self._metric.inc(amount)
        self._changed()


class _TrackedGauge(_Tracked[Gauge]):
    def set(self, value: float) -> None:
        """Set to ``value``."""
        self._metric.set(value)
        self._changed()


class _TrackedHistogram(_Tracked[Histogram]):
    def observe(self, value: float) -> None:
        """Count one observation of ``value``."""
        self._metric.observe(value)
        self._changed()


class SelfMetrics:
    """The exporter's own instruments, in their own registry; the client's request observer
    and the state file's write observer.

    ``state_file`` registers the state file's metrics: they exist only where there is one,
    so its alert never reads a write that was never meant to happen.
    """

    def __init__(self, *, state_file: bool = False) -> None:
        self._changes = _Changes()
        self.registry = CollectorRegistry(auto_describe=True)
        self.api_requests = self._counter(
            "pushwoosh_api_requests",
            "Pushwoosh API calls made (every HTTP attempt, retries included).",
            ["method"],
        )
        self.api_failures = self._counter(
            "pushwoosh_api_request_failures",
            "Failed Pushwoosh API calls by reason "
            "(timeout, http_5xx, rate_limited, auth, argument, malformed).",
            ["method", "reason"],
        )
        self.api_latency = _TrackedHistogram(
            Histogram(
                "pushwoosh_api_request_duration_seconds",
                "Latency of Pushwoosh API calls.",
                ["method"],
                buckets=API_LATENCY_BUCKETS,
                registry=self.registry,
            ),
            self._changes,
        )
        self.reload_ok = self._gauge(
            "pushwoosh_config_last_reload_successful",
            "1 if the last configuration reload succeeded.",
        )
        self.reload_time = self._gauge(
            "pushwoosh_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful configuration load.",
        )
        self.discovery_up = self._gauge(
            "pushwoosh_discovery_up",
            "1 if the last listing of this kind (applications, campaigns) succeeded.",
            ["kind"],
        )
        self.discovery_targets = self._gauge(
            "pushwoosh_discovery_targets",
            "Targets the last successful listing kept after the filters (listed ones not counted).",
            ["kind"],
        )
        self.state_write_failures = self._counter(
            "pushwoosh_state_write_failures",
            "Writes of the state file that failed (disk full, read-only, folder gone); "
            "the metrics are published anyway.",
            registered=state_file,
        )
        self.state_write_time = self._gauge(
            "pushwoosh_state_last_write_success_timestamp_seconds",
            "Unix time of the last successful write of the state file (0: none yet).",
            registered=state_file,
        )
        build = self._gauge(
            "pushwoosh_exporter_build_info",
            "Always 1; the version label says which exporter runs.",
            ["version"],
        )
        build.labels(version=__version__).set(1)

    @property
    def version(self) -> int:
        """Grows with every change, so renderings can be cached between changes."""
        return self._changes.count

    def request_finished(self, method: str, seconds: float, failure: str | None) -> None:
        """Count one HTTP attempt of ``method`` (the client's RequestObserver)."""
        self.api_requests.labels(method=method).inc()
        self.api_latency.labels(method=method).observe(seconds)
        if failure is not None:
            self.api_failures.labels(method=method, reason=failure).inc()

    def results_timed_out(self, method: str) -> None:
        """A scheduled job given up at results_timeout: one ``timeout`` failure of ``method``."""
        self.api_failures.labels(method=method, reason="timeout").inc()

    def discovered(self, kind: str, up: bool, targets: int) -> None:
        """Record the state of one discovery listing (``kind``: applications, campaigns)."""
        self.discovery_up.labels(kind=kind).set(1 if up else 0)
        self.discovery_targets.labels(kind=kind).set(targets)

    def reloaded(self, ok: bool, when: float) -> None:
        """Record a configuration (re)load outcome."""
        self.reload_ok.set(1 if ok else 0)
        if ok:
            self.reload_time.set(when)

    def state_write_finished(self, ok: bool, when: float) -> None:
        """Record one write of the state file (the state file's StateWriteObserver)."""
        if ok:
            self.state_write_time.set(when)
        else:
            self.state_write_failures.inc()

    def _counter(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        *,
        registered: bool = True,
    ) -> _TrackedCounter:
        registry = self.registry if registered else None
        return _TrackedCounter(Counter(name, help_text, labels, registry=registry), self._changes)

    def _gauge(
        self,
        name: str,
        help_text: str,
        labels: Sequence[str] = (),
        *,
        registered: bool = True,
    ) -> _TrackedGauge:
        registry = self.registry if registered else None
        return _TrackedGauge(Gauge(name, help_text, labels, registry=registry), self._changes)


class Exposition:
    """Renders the exposition, caching what it can until its source changes.

    The Pushwoosh data is rendered target by target: a target's lines are re-rendered only
    when its view changed (after its own poll), and a new snapshot's data part is the cached
    lines joined under each family's header, so one poll costs one target's rendering, not
    the whole exposition's. The cached lines are kept deflated (:class:`_TargetLines`):
    they are most of what a target costs in memory between its polls. The self-metrics are
    rendered once per change of their own.

    Per content type (format, version, name escaping) and encoding one whole body is kept,
    with the length of its data part: a scrape between changes returns it as it is, and a
    change of the self-metrics alone reuses its data part. Two gzip members in a row are
    one valid gzip stream (RFC 1952), so the gzip body is the data member followed by the
    self-metrics member.
    """

    def __init__(self, snapshot: Callable[[], Snapshot], self_metrics: SelfMetrics) -> None:
        self._snapshot = snapshot
        self._self_metrics = self_metrics
        self._lines: dict[str, dict[TargetKey, _TargetLines]] = {}
        """Per content type, each target's rendered lines."""
        self._layouts: dict[tuple[int, ...], tuple[int, ...]] = {}
        """Which families a target has lines in: one tuple per combination, shared."""
        self._headers: dict[str, dict[str, bytes]] = {}
        self._dictionaries: dict[str, bytes] = {}
        """Per content type, the preset dictionary each target's lines are packed with."""
        self._own: dict[tuple[str, bool], tuple[int, bytes]] = {}
        self._bodies: dict[tuple[str, bool], _Body] = {}
        self._rendering = asyncio.Lock()

    def render(self, accept: str | None, accept_encoding: str | None) -> tuple[bytes, str, bool]:
        """Body, content type and whether the body is gzip-compressed."""
        return self._render(self._snapshot(), *_negotiate(accept, accept_encoding))

    async def render_async(
        self, accept: str | None, accept_encoding: str | None
    ) -> tuple[bytes, str, bool]:
        """:meth:`render` for the event loop: a cached body at once, else the rendering in
        a worker thread, one at a time, so that re-rendering a large exposition (two
        seconds at 100,000 series) never stalls health probes, polls or other scrapes.

        The snapshot is taken here, on the loop: the store is not thread-safe, the
        snapshot is immutable.
        """
        snap = self._snapshot()
        encoder, content_type, gzipped = _negotiate(accept, accept_encoding)
        hit = self._cached(snap, content_type, gzipped)
        if hit is not None:
            return hit
        async with self._rendering:
            return await asyncio.to_thread(self._render, snap, encoder, content_type, gzipped)

    def _cached(
        self, snap: Snapshot, content_type: str, gzipped: bool
    ) -> tuple[bytes, str, bool] | None:
        cached = self._bodies.get((content_type, gzipped))
        if cached is not None and cached.versions == (snap.version, self._self_metrics.version):
            return cached.body, content_type, gzipped
        return None

    def _render(
        self, snap: Snapshot, encoder: _Encoder, content_type: str, gzipped: bool
    ) -> tuple[bytes, str, bool]:
        hit = self._cached(snap, content_type, gzipped)  # another scrape may have made it
        if hit is not None:
            return hit
        versions = (snap.version, self._self_metrics.version)
        cached = self._bodies.get((content_type, gzipped))
        if cached is not None and cached.versions[0] == snap.version:
            data: bytes | bytearray = cached.body[: cached.data_length]
        else:
            data = self._render_data(snap, content_type, encoder)
            if gzipped:
                data = gzip.compress(data, compresslevel=6)
        own = self._own.get((content_type, gzipped))
        if own is None or own[0] != versions[1]:
            own_body = encoder(self._self_metrics.registry)
            if gzipped:
                own_body = gzip.compress(own_body, compresslevel=6)
            own = (versions[1], own_body)
            self._own[content_type, gzipped] = own
        body = b"".join((data, own[1]))
        self._bodies[content_type, gzipped] = _Body(versions, body, len(data))
        return body, content_type, gzipped

    def _render_data(self, snap: Snapshot, fmt: str, encoder: _Encoder) -> bytearray:
        """The data part: every family's header, then its lines, target by target.

        ``fmt`` is the content type: format, version and name escaping each render
        differently, so each has its own cached headers and lines. Built in one buffer,
        each family's lines freed once copied into it: a rendering holds about twice the
        data part at most, not a copy per joining step (at 7,000 targets the data part is
        3.5 MB, and the peaks of renderings stay in the process's memory).
        """
        headers = self._headers.get(fmt)
        if headers is None:
            empty = [make() for make in _FAMILY_MAKERS.values()]
            headers = {name: head for name, (head, _) in _split(encoder(_Families(empty)))}
            # The dictionary first: a rendering that sees the headers finds it too.
            self._dictionaries[fmt] = _dictionary(encoder)
            self._headers[fmt] = headers
        dictionary = self._dictionaries[fmt]
        positions = {name: i for i, name in enumerate(headers)}
        before = self._lines.get(fmt, {})
        rendered = {}
        columns = [bytearray() for _ in headers]
        for key, view in snap.targets.items():
            lines = before.get(key)
            if lines is None or lines.view is not view:
                lines = self._render_target(key, view, encoder, positions, dictionary)
            rendered[key] = lines
            for position, text in lines.unpack(dictionary):
                columns[position] += text
        self._lines[fmt] = rendered  # forgets removed targets
        data = bytearray()
        for position, head in enumerate(headers.values()):
            data += head
            data += columns[position]
            columns[position] = bytearray()
        data += encoder(_Families([_revisions(snap)])).removesuffix(b"# EOF\n")
        return data

    def _render_target(
        self,
        key: TargetKey,
        view: TargetView,
        encoder: _Encoder,
        positions: Mapping[str, int],
        dictionary: bytes,
    ) -> "_TargetLines":
        """One target's lines, family by family, as ``encoder`` renders them, packed."""
        families: dict[str, Metric] = {}
        _add_target(families, key, view)
        found = sorted(
            (positions[name], lines)
            for name, (_, lines) in _split(encoder(_Families(families.values())))
        )
        layout = tuple(position for position, _ in found)
        layout = self._layouts.setdefault(layout, layout)
        lengths = array(_LENGTH, [len(lines) for _, lines in found])
        packer = zlib.compressobj(6, zlib.DEFLATED, -_WINDOW_BITS, 4, zdict=dictionary)
        packed = packer.compress(lengths.tobytes())
        for _, lines in found:
            packed += packer.compress(lines)
        return _TargetLines(view, layout, packed + packer.flush())


def _negotiate(accept: str | None, accept_encoding: str | None) -> tuple[_Encoder, str, bool]:
    """The encoder and content type the Accept header asks for, and whether to gzip."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder, content_type, bool(accept_encoding and "gzip" in accept_encoding)


class _Body(NamedTuple):
    versions: tuple[int, int]
    body: bytes
    data_length: int


class _TargetLines(NamedTuple):
    """One target's sample lines in one format, rendered from ``view``, deflated in one
    bytes object with the format's preset dictionary (:func:`_dictionary`): first the length
    of its lines of the family at position ``layout[i]`` in header order (one unsigned int
    per family it has lines in: most targets 5 of 21), then the lines.

    Kept for every target between its polls, so its size is most of what a target costs:
    an event target's five lines are about 530 bytes, packed about 110 (a compressor per
    target takes about 15 microseconds, unpacking about 2.5 at each rendering)."""

    view: TargetView
    layout: tuple[int, ...]
    packed: bytes

    def unpack(self, dictionary: bytes) -> Iterator[tuple[int, memoryview]]:
        """(family position, its lines) for each family this target has lines in."""
        text = memoryview(
            zlib.decompressobj(-_WINDOW_BITS, zdict=dictionary).decompress(self.packed)
        )
        start = _LENGTH_SIZE * len(self.layout)
        for position, length in zip(self.layout, text[:start].cast(_LENGTH), strict=True):
            yield position, text[start : start + length]
            start += length


_WINDOW_BITS = 11
"""Deflate window of the packed lines (2 KiB): a target's lines seldom reach it, and a
small window makes a compressor cheap to set up. zlib matches only the last
``2**_WINDOW_BITS - 262`` bytes of a preset dictionary; every format's (about 1.4 KiB)
fits."""
_LENGTH: Final = "I"
"""The array type of the family lengths at the front of packed lines (unsigned int)."""
_LENGTH_SIZE = array(_LENGTH).itemsize


def _dictionary(encoder: _Encoder) -> bytes:
    """The preset dictionary of one format: a line of every family with empty label values,
    as ``encoder`` writes it, so each name and label a target's lines repeat is found there.
    """
    families = []
    for name, make in _FAMILY_MAKERS.items():
        metric = make()
        labels = _HEALTH_LABELS if name in _HEALTH_HELP else _DATA_LABELS[name]
        metric.samples.append(Sample(name, dict.fromkeys(labels, ""), 0.0))
        families.append(metric)
    return b"".join(lines for _, (_, lines) in _split(encoder(_Families(families))))


def _split(exposition: bytes) -> Iterator[tuple[str, tuple[bytes, bytes]]]:
    """Cut an encoder's output into (family name, (header lines, sample lines)).

    Label values never hold a raw newline (the encoders escape it), so a line that starts
    with ``# `` is a header line: HELP, TYPE or UNIT, and the final ``# EOF``.
    """
    text = exposition.removesuffix(b"# EOF\n")
    starts = [found.start() for found in _HELP_LINE.finditer(text)]
    for start, stop in zip(starts, [*starts[1:], len(text)], strict=True):
        part = text[start:stop]
        name = part[7 : part.index(b" ", 7)].decode()
        end = part.index(b"\n") + 1
        while part.startswith(b"# ", end):
            end = part.index(b"\n", end) + 1
        yield name, (part[:end], part[end:])


_HELP_LINE = re.compile(rb"^# HELP ", re.MULTILINE)

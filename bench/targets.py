"""Memory per target, in-process: the targets of ``apps`` apps scheduled, polled once, scraped.

Each app has the targets of ``bench.scale``: ``app_stats`` (six counters), ``subscribers``
(three platform gauges) and ``events`` events (one counter each), so 1,000 apps are 7,000
targets. The polls are answered in-process, without HTTP, with what the simulator would
answer over the example's 15-minute lookback: 15 minutely buckets per getAppStats counter,
the one or two hourly buckets of each event, three platforms of subscribers. So this measures
what the exporter keeps per target (scheduling, the store's counts and views, the cached
exposition) and leaves out the API client, which ``bench.scale`` measures with the rest.

Per scheduler, each in a fresh process (RSS is the whole process's):

- ``tasks``: one long-lived asyncio task per target, as the exporter scheduled before the
  heap; kept here only to compare (:class:`TaskPerTargetScheduler`);
- ``heap``: ``exporter.collection.scheduler.Scheduler``, one dispatching task and a heap of
  due times, a task only while a poll runs.

The process builds the collectors (which the exporter holds whatever its scheduler), then
starts the scheduler with every kind's interval at 10 minutes (first polls spread over the
2 s collection interval), waits until every target has been polled once, publishes and
renders ``/metrics`` once as Prometheus asks for it (OpenMetrics, gzip), and measures:

- ``rss_b``: VmRSS growth from before the scheduler started to the end, after a full
  garbage collection, divided by the targets (bytes per target);
- ``traced_b``: the same span with ``tracemalloc`` (a separate run: tracing changes RSS),
  bytes per target still allocated, and its biggest allocation sites by file and line;
- ``objects``: objects the garbage collector tracks, by type, per target.

Run: ``python -m bench.targets [--apps 1000 --events 5]`` from the repository root.
"""

import argparse
import asyncio
import gc
import json
import math
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.load import PROMETHEUS_ACCEPT
from bench.proc import rss_kib
from exporter import families
from exporter.clock import SystemClock
from exporter.collection.collectors import Collector, PollContext
from exporter.collection.scheduler import Scheduler
from exporter.collection.windows import HOUR, MINUTE, plan_reads
from exporter.kinds import APP_STATS, EVENTS, KINDS, SUBSCRIBERS
from exporter.metrics import Exposition, SelfMetrics
from exporter.publish import Publisher
from exporter.store import BucketCount, Observation, Series, Store, TargetKey

LOOKBACK = 15 * MINUTE
PLATFORMS = ("android", "ios", "web")


@dataclass(frozen=True, slots=True)
class AnsweredCollector:
    """A collector of ``kind`` whose polls are answered in-process, in the shape the real
    collector's answers take (see the module docstring)."""

    kind: str
    app: str
    app_name: str
    event: str = ""

    @property
    def key(self) -> TargetKey:
        """The real collector's key."""
        return TargetKey(self.kind, f"{self.app}/{self.event}" if self.event else self.app)

    async def collect(self, ctx: PollContext) -> Observation:
        """What one poll of the real collector would have seen."""
        if self.kind == SUBSCRIBERS.name:
            gauges = tuple(
                (families.SUBSCRIBERS.series(app=self.app, app_name=self.app_name, platform=p), n)
                for p, n in zip(PLATFORMS, (1200.0, 800.0, 40.0), strict=True)
            )
            now = int(ctx.now)
            return Observation(self.key, now, now, gauges=gauges)
        if self.kind == EVENTS.name:
            width = HOUR
            series: tuple[Series, ...] = (
                families.EVENT_TRIGGERS.series(
                    app=self.app, app_name=self.app_name, event=self.event
                ),
            )
        else:
            width = MINUTE
            series = tuple(
                family.series(app=self.app, app_name=self.app_name)
                for family in families.APP_STATS_FAMILIES.values()
            )
        plan = plan_reads(
            ctx.now, bucket=width, lookback=LOOKBACK, watermark=ctx.watermark, max_catchup=HOUR
        )
        buckets = tuple(
            BucketCount(one, start, 3 + start % 7)
            for window in plan.windows
            for start in range(window.start, window.end, width)
            for one in series
        )
        return Observation(
            self.key,
            plan.window_start,
            plan.end,
            buckets=buckets,
            declared=series,
            newest_bucket=max((b.start for b in buckets), default=None),
            read_from=plan.read_from,
            bucket_width=width,
        )


class TaskPerTargetScheduler(Scheduler):
    """The exporter's scheduler as it was: one long-lived task per target, sleeping between
    polls. Only here, to measure what the heap saves."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tasks: dict[TargetKey, asyncio.Task[None]] = {}

    def update(self, collectors: Sequence[Collector]) -> None:
        """Start one task per collector (this benchmark only starts, never updates)."""
        wanted = {c.key: c for c in collectors}
        self.store.set_targets(wanted)
        new: dict[str, list[Collector]] = {}
        for collector in collectors:
            new.setdefault(collector.key.collector, []).append(collector)
        for kind, group in new.items():
            spread = min(self.interval_of(kind), self.interval)
            for i, collector in enumerate(group):
                offset = spread * i / len(group)
                task = asyncio.create_task(self._run(collector, offset), name=str(collector.key))
                self._tasks[collector.key] = task

    async def stop(self) -> None:
        """Cancel every task and wait for them to end."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, collector: Collector, offset: float) -> None:
        interval = self.interval_of(collector.key.collector)
        await self.clock.sleep(offset)
        next_at = self.clock.now()
        while True:
            await self.poll_once(collector)
            next_at += interval
            now = self.clock.now()
            if next_at < now:
                next_at += math.ceil((now - next_at) / interval) * interval
            await self.clock.sleep(next_at - now)


SCHEDULERS: dict[str, type[Scheduler]] = {"tasks": TaskPerTargetScheduler, "heap": Scheduler}


def collectors_for(apps: int, events: int) -> list[Collector]:
    """The targets of ``apps`` apps, as discovery builds them: app by app."""
    found: list[Collector] = []
    for i in range(apps):
        code, name = f"{i:05d}-{i * 7919 % 100000:05d}", f"app-{i}"
        found.append(AnsweredCollector(APP_STATS.name, code, name))
        found.append(AnsweredCollector(SUBSCRIBERS.name, code, name))
        found.extend(
            AnsweredCollector(EVENTS.name, code, name, f"Event{e + 1}") for e in range(events)
        )
    return found


async def measure(variant: str, apps: int, events: int, traced: bool) -> dict[str, Any]:
    """One variant in this process: see the module docstring."""
    collectors = collectors_for(apps, events)
    gc.collect()
    objects0 = Counter(type(o).__name__ for o in gc.get_objects())
    if traced:
        tracemalloc.start()
    rss0 = rss_kib()
    store = Store()
    publisher = Publisher(store)
    exposition = Exposition(publisher.load, SelfMetrics())
    scheduler = SCHEDULERS[variant](
        store=store,
        client=None,  # the collectors answer in-process
        clock=SystemClock(),
        interval=2.0,
        intervals={kind: 600.0 for kind in KINDS},
        lookback=LOOKBACK,
        max_catchup=HOUR,
        after_poll=publisher.changed,
    )
    began = time.monotonic()
    scheduler.start(collectors)
    await publisher.changed()  # as the exporter does: the targets are published unpolled
    deadline = began + 600.0
    while not publisher.load().ready:
        if time.monotonic() > deadline:
            raise RuntimeError("the targets were not all polled within 10 minutes")
        await asyncio.sleep(0.2)
    polled_s = time.monotonic() - began
    exposition.render(PROMETHEUS_ACCEPT, "gzip")
    gc.collect()
    targets = len(collectors)
    out: dict[str, Any] = {"variant": variant, "targets": targets, "polled_s": polled_s}
    if traced:
        snapshot = tracemalloc.take_snapshot()
        tracemalloc.stop()
        lines = snapshot.statistics("lineno")
        out["traced_b"] = sum(s.size for s in lines) / targets
        out["sites"] = [
            (f"{s.traceback[0].filename.rpartition('/')[2]}:{s.traceback[0].lineno}", s.size)
            for s in lines[:12]
        ]
    else:
        out["rss_b"] = (rss_kib() - rss0) * 1024 / targets
        objects = Counter(type(o).__name__ for o in gc.get_objects())
        objects.subtract(objects0)
        out["objects"] = {name: n / targets for name, n in objects.most_common(12)}
    await scheduler.stop()
    return out


def run(apps: int = 1000, events: int = 5) -> dict[str, dict[str, Any]]:
    """Each variant twice in a fresh process (RSS, then tracemalloc); results by variant."""
    results: dict[str, dict[str, Any]] = {}
    for variant in SCHEDULERS:
        merged: dict[str, Any] = {}
        for traced in (False, True):
            args = [f"--apps={apps}", f"--events={events}", f"--variant={variant}"]
            done = subprocess.run(
                [sys.executable, "-m", "bench.targets", *args, *(["--traced"] if traced else [])],
                check=True,
                capture_output=True,
                text=True,
            )
            merged |= json.loads(done.stdout)
        results[variant] = merged
    return results


def table(results: dict[str, dict[str, Any]]) -> str:
    """A markdown table of :func:`run`'s results, one row per variant."""
    rows = [
        "| scheduler | targets | RSS growth per target | traced per target "
        "| GC objects per target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        objects = sum(r["objects"].values())
        rows.append(
            f"| {name} | {r['targets']} | {r['rss_b']:.0f} B | {r['traced_b']:.0f} B "
            f"| {objects:.1f} (of the 12 commonest types) |"
        )
    return "\n".join(rows)


def main() -> None:
    """Both variants side by side, or (``--variant``) one, as JSON, in this process."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--variant", choices=sorted(SCHEDULERS), help="measure one, print JSON")
    parser.add_argument("--traced", action="store_true", help="with --variant: tracemalloc")
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(asyncio.run(measure(args.variant, args.apps, args.events, args.traced))))
        return
    results = run(args.apps, args.events)
    print(table(results))
    for name, r in results.items():
        print(f"\n{name}: polled once in {r['polled_s']:.1f} s; biggest allocation sites:")
        for site, size in r["sites"]:
            print(f"  {site}: {size / r['targets']:.0f} B per target")
        print("  objects per target:", ", ".join(f"{k} {v:.2f}" for k, v in r["objects"].items()))


if __name__ == "__main__":
    main()

"""Cost growth: scrape latency, memory and poll CPU from 100 to 100,000 series.

Each size runs in a fresh process (so memory is measured alone): a store with apps of six
getAppStats counters each, fed polls of 15 minutely buckets per series as the collectors
do, then rendered. Reports per-series costs: they should stay flat as the size grows.
Run: ``python -m bench.growth [--sizes 100,10000,100000]``.
"""

import argparse
import json
import resource
import subprocess
import sys
import time

from exporter.families import APP_STATS_FAMILIES
from exporter.metrics import Exposition, SelfMetrics
from exporter.store import BucketCount, Observation, Series, Store, TargetKey

BUCKETS = 15


def rss_kib() -> int:
    """Resident memory of this process now, KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(series: int) -> dict[str, float]:
    """Build, poll twice and render a store of ``series`` counters."""
    base = rss_kib()
    store = Store()
    apps = max(1, series // len(APP_STATS_FAMILIES))
    keys = [TargetKey("app_stats", f"APP{i:06d}") for i in range(apps)]
    store.set_targets(keys)
    names = [f.name for f in APP_STATS_FAMILIES.values()]

    def poll(round_: int) -> float:
        started = time.process_time()
        for i, key in enumerate(keys):
            buckets = tuple(
                BucketCount(
                    Series.of(name, app=key.target, app_name=f"app-{i}"), 60 * b, 10 + b + round_
                )
                for name in names
                for b in range(BUCKETS)
            )
            store.apply(
                Observation(key, 0, 900 + round_, buckets=buckets), started=0.0, finished=0.0
            )
        return time.process_time() - started

    poll(0)
    poll_cpu = poll(1)
    exposition = Exposition(store.snapshot, SelfMetrics())
    started = time.perf_counter()
    body = exposition.render(None, None)[0]
    first_render = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(20):
        exposition.render(None, None)
    cached = (time.perf_counter() - started) / 20
    exported = apps * len(names)
    return {
        "series": float(exported),
        "bytes": float(len(body)),
        "rss_kib_per_series": (rss_kib() - base) / exported,
        "poll_cpu_us_per_series": poll_cpu / exported * 1e6,
        "render_us_per_series": first_render / exported * 1e6,
        "cached_scrape_ms": cached * 1000,
    }


def run(sizes: list[int]) -> list[dict[str, float]]:
    """Measure each size in a fresh interpreter."""
    rows = []
    for size in sizes:
        out = subprocess.run(
            [sys.executable, "-m", "bench.growth", "--one", str(size)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows.append(json.loads(out))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    print(
        "| series | exposition KiB | RSS KiB/series | poll CPU µs/series "
        "| render µs/series | cached scrape ms |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for row in run([int(s) for s in args.sizes.split(",")]):
        print(
            f"| {int(row['series'])} | {row['bytes'] / 1024:.0f} | {row['rss_kib_per_series']:.2f} "
            f"| {row['poll_cpu_us_per_series']:.1f} | {row['render_us_per_series']:.2f} "
            f"| {row['cached_scrape_ms']:.3f} |"
        )


if __name__ == "__main__":
    main()

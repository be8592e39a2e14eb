"""Cost growth: scrape latency, memory and poll CPU from 100 to 100,000 series.

Each size is measured in a fresh process (so memory is measured alone): a store with apps
of six getAppStats counters each, fed polls of 15 minutely buckets per series as the
collectors do, then rendered. Per size it reports:

- RSS growth per series, and the marginal growth between two sizes (the slope, free of
  the interpreter's fixed costs), which is what "memory per series" means at scale;
- poll CPU per series (building the buckets as a collector does, and counting them), the
  least of three polls;
- the first full rendering, and the re-rendering after one target's poll (the steady
  state: polls are spread over the interval, each changes one target);
- the median HTTP ``/metrics`` latency of the exporter's web app next to a bare aiohttp
  server returning the same bytes (``bench.scrape``, side by side in one run).

Run: ``python -m bench.growth [--sizes 100,10000,100000]``.
"""

import argparse
import json
import subprocess
import sys
import time

from bench import scrape
from bench.proc import rss_kib
from exporter.families import APP_STATS_FAMILIES
from exporter.metrics import Exposition, SelfMetrics
from exporter.store import BucketCount, Observation, Store, TargetKey

BUCKETS = 15


def measure(series: int) -> dict[str, float]:
    """Build, poll twice and render a store of ``series`` counters; then poll one target."""
    base = rss_kib()
    store = Store()
    apps = max(1, series // len(APP_STATS_FAMILIES))
    keys = [TargetKey("app_stats", f"APP{i:06d}") for i in range(apps)]
    store.set_targets(keys)

    def poll_one(i: int, key: TargetKey, round_: int) -> None:
        # As the app-stats collector builds them: once per poll, through each family.
        counters = [
            f.series(app=key.target, app_name=f"app-{i}") for f in APP_STATS_FAMILIES.values()
        ]
        buckets = tuple(
            BucketCount(series, 60 * b, 10 + b + round_)
            for series in counters
            for b in range(BUCKETS)
        )
        store.apply(Observation(key, 0, 900 + round_, buckets=buckets), started=0.0, finished=0.0)

    def poll(round_: int) -> float:
        started = time.process_time()
        for i, key in enumerate(keys):
            poll_one(i, key, round_)
        return time.process_time() - started

    poll(0)
    # The least of three polls: CPU time on a shared VM is inflated by neighbours, never
    # deflated, so the minimum is the best estimate of what a poll costs.
    poll_cpu = min(poll(round_) for round_ in (1, 2, 3))
    exposition = Exposition(store.snapshot, SelfMetrics())
    started = time.perf_counter()
    body = exposition.render(None, None)[0]
    first_render = time.perf_counter() - started
    rerenders = []
    for n in range(5):
        poll_one(n, keys[n * 7919 % apps], 4 + n)
        started = time.perf_counter()
        exposition.render(None, None)
        rerenders.append(time.perf_counter() - started)
    exported = apps * len(APP_STATS_FAMILIES)
    grown = rss_kib() - base
    return {
        "series": float(exported),
        "bytes": float(len(body)),
        "rss_kib": float(grown),
        "rss_kib_per_series": grown / exported,
        "poll_cpu_us_per_series": poll_cpu / exported * 1e6,
        "first_render_ms": first_render * 1000,
        "rerender_ms": sorted(rerenders)[len(rerenders) // 2] * 1000,
    }


def run(sizes: list[int], scrape_rounds: int = 60) -> list[dict[str, float]]:
    """Measure each size in a fresh interpreter, then its HTTP scrape latency."""
    rows: list[dict[str, float]] = []
    for size in sizes:
        out = subprocess.run(
            [sys.executable, "-m", "bench.growth", "--one", str(size)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        row = json.loads(out)
        if rows:
            previous = rows[-1]
            row["marginal_kib_per_series"] = (row["rss_kib"] - previous["rss_kib"]) / (
                row["series"] - previous["series"]
            )
        served = scrape.run(size, scrape_rounds, kinds=("exporter", "bytes"))
        row["scrape_ms"] = served["exporter_ms"]
        row["scrape_vs_bytes"] = served["exporter_vs_bytes"]
        rows.append(row)
    return rows


def table(rows: list[dict[str, float]]) -> str:
    """The rows as a markdown table."""
    lines = [
        "| series | exposition KiB | RSS KiB/series (marginal) | poll CPU µs/series "
        "| first render ms | re-render after one poll ms | /metrics median ms (vs bare) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        marginal = row.get("marginal_kib_per_series")
        slope = f" ({marginal:.2f})" if marginal is not None else ""
        lines.append(
            f"| {int(row['series'])} | {row['bytes'] / 1024:.0f} "
            f"| {row['rss_kib_per_series']:.2f}{slope} | {row['poll_cpu_us_per_series']:.1f} "
            f"| {row['first_render_ms']:.1f} | {row['rerender_ms']:.2f} "
            f"| {row['scrape_ms']:.2f} ({row['scrape_vs_bytes']:.2f}x) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,10000,100000")
    parser.add_argument("--rounds", type=int, default=60, help="HTTP scrapes per server and size")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    print(table(run([int(s) for s in args.sizes.split(",")], args.rounds)))


if __name__ == "__main__":
    main()

"""``make bench``: every benchmark, side by side in one run, as markdown tables.

Ratios, not absolute times, are the results: the machines are shared and noisy.
"""

import asyncio
import math
import platform
import time

from bench import api_calls, growth, load, scale, scrape, tags
from exporter.logsetup import configure_logging


def main() -> None:
    """Run the benchmarks and print the tables."""
    configure_logging("error")
    started = time.monotonic()
    rows: list[tuple[str, str, str]] = []
    s = scrape.run(series=10_000, rounds=200)
    rows.append(
        (
            "/metrics median latency vs bare aiohttp serving the same bytes (10k series)",
            f"{s['exporter_vs_bytes']:.2f}x",
            "<= 1.5x",
        )
    )
    rows.append(
        (
            "prometheus-client generate_latest vs /metrics (10k series)",
            f"{s['client_vs_exporter']:.1f}x slower",
            ">= 5x",
        )
    )
    a = asyncio.run(api_calls.run(cycles=8, interval=5.0))
    rows.append(
        (
            "API calls per scheduled poll, steady state (demo config)",
            f"{a['steady_calls_per_scheduled_poll']:.2f}",
            "<= 2.2",
        )
    )
    rows.append(
        (
            "API calls per scheduled poll, including the first two cycles",
            f"{a['calls_per_scheduled_poll']:.2f}",
            "<= 2.2",
        )
    )
    loaded = asyncio.run(load.run(scrapers=50, seconds=15.0, targets=100))
    rows.append(
        (
            "50 scrapers for 15 s while polling 100 targets: errors",
            f"{int(loaded['errors'])} of {int(loaded['scrapes'])}",
            "0",
        )
    )
    rows.append(
        ("... scrape latency p50 / p99", f"{loaded['p50_ms']:.1f} / {loaded['p99_ms']:.1f} ms", "")
    )
    big = asyncio.run(scale.run(apps=1000, events=5, seconds=60.0, limit=6000, cap=0.0))
    rows.append(
        (
            "1000 apps x 5 events (7000 targets), 6000 req/min: targets polled in the 60 s "
            "interval",
            f"{int(big['attempted'])} of {int(big['targets'])} ({int(big['calls'])} calls)",
            "7000",
        )
    )
    rows.append(
        (
            "... shortest possible cycle at that limit (calls / limit)",
            f"{big['cycle_s_min']:.0f} s",
            "<= 60 s",
        )
    )
    rows.append(("... exporter CPU during the interval", f"{big['cores']:.2f} cores", "< 1 core"))
    per_series = big["rss_kib_per_series"] * 1024
    rows.append(
        (
            "... RSS growth per exported series at the end of the interval",
            f"{per_series:.0f} B" if not math.isnan(per_series) else "n/a",
            "< 2048 B",
        )
    )
    tag_runs = [(1_000_000, True), (1_000_000, False), (10_000_000, False)]
    tagged = [(n, whole, asyncio.run(tags.run(n, whole))) for n, whole in tag_runs]
    old, new, huge = (r for _, _, r in tagged)
    rows.append(
        (
            "1,000,000-value tag polled once (less the job's wait): streamed vs whole file",
            f"{new['poll_without_job_s']:.2f} s vs {old['poll_without_job_s']:.2f} s",
            "< 2 s",
        )
    )
    rows.append(
        (
            "... peak RSS growth during the poll: streamed vs whole file",
            f"{new['peak_mib']:.1f} MiB vs {old['peak_mib']:.0f} MiB",
            "< 20 MiB",
        )
    )
    rows.append(
        (
            "10,000,000-value tag polled once (less the job's wait) / peak RSS growth",
            f"{huge['poll_without_job_s']:.1f} s / {huge['peak_mib']:.1f} MiB",
            "RSS as for 1,000,000",
        )
    )
    grown = growth.run([100, 10_000, 100_000], scrape_rounds=40)
    print(
        f"Run on {platform.node()} ({platform.machine()}, Python {platform.python_version()}), "
        f"{time.strftime('%Y-%m-%d')}, {time.monotonic() - started:.0f} s\n"
    )
    print("| benchmark | measured | goal |")
    print("| --- | --- | --- |")
    for name, measured, goal in rows:
        print(f"| {name} | {measured} | {goal} |")
    print("\nCost growth (bench.growth):\n")
    print(growth.table(grown))
    print("\nHigh-cardinality tags (bench.tags):\n")
    print(tags.table(tagged))


if __name__ == "__main__":
    main()

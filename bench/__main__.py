"""``make bench``: every benchmark, side by side in one run, as markdown tables.

Ratios, not absolute times, are the results: the machines are shared and noisy.
"""

import asyncio
import platform
import time

from bench import api_calls, growth, load, scale, scrape, tags, targets
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
    per_target = targets.run(apps=1000, events=5)
    rows.append(
        (
            "Memory per target in-process, 7000 targets polled once (bench.targets): RSS growth,"
            " one task per target vs the heap scheduler",
            " vs ".join(f"{r['rss_b']:.0f} B" for r in per_target.values()),
            "",
        )
    )
    big = asyncio.run(scale.run(apps=1000, events=5, limit=6000, intervals=3))
    for kind, row in big["kinds"].items():
        rows.append(
            (
                f"1000 discovered apps x 5 events, example intervals, 6000 req/min: {kind} "
                f"targets polled within {row['interval']:g} s + 5 s over three 5-minute intervals",
                f"{row['within']:.0f} of {row['targets']:.0f} (longest gap {row['max_gap']:.1f} s)",
                f"{row['targets']:.0f}",
            )
        )
    rows.append(
        ("... first cycle, every target attempted once", f"{big['first_cycle_s']:.0f} s", "")
    )
    rows.append(
        ("... exporter CPU, /-/healthy to the end", f"{big['cores']:.3f} cores", "< 0.25 core")
    )
    rows.append(
        (
            "... RSS growth per target, /-/healthy to the end",
            f"{big['rss_b_per_target']:.0f} B",
            "<= 4096 B",
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

"""``make bench``: every benchmark, side by side in one run, as one markdown table.

Ratios, not absolute times, are the results: the machines are shared and noisy.
"""

import asyncio
import platform
import time

from bench import api_calls, growth, load, scrape
from exporter.logsetup import configure_logging


def main() -> None:
    """Run the benchmarks and print the table."""
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
    a = asyncio.run(api_calls.run(cycles=10, interval=5.0))
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
    loaded = asyncio.run(load.run(scrapers=50, seconds=20.0, targets=100))
    rows.append(
        (
            "50 scrapers for 20 s while polling 100 targets: errors",
            f"{int(loaded['errors'])} of {int(loaded['scrapes'])}",
            "0",
        )
    )
    rows.append(
        ("... scrape latency p50 / p99", f"{loaded['p50_ms']:.1f} / {loaded['p99_ms']:.1f} ms", "")
    )
    for row in growth.run([100, 10_000, 100_000]):
        n = int(row["series"])
        rows.append(
            (
                f"{n} series: RSS per series / poll CPU per series / render per series",
                f"{row['rss_kib_per_series']:.2f} KiB / {row['poll_cpu_us_per_series']:.0f} µs"
                f" / {row['render_us_per_series']:.1f} µs",
                "< 2 KiB, flat",
            )
        )
    print(
        f"Run on {platform.node()} ({platform.machine()}, Python {platform.python_version()}), "
        f"{time.strftime('%Y-%m-%d')}, {time.monotonic() - started:.0f} s\n"
    )
    print("| benchmark | measured | goal |")
    print("| --- | --- | --- |")
    for name, measured, goal in rows:
        print(f"| {name} | {measured} | {goal} |")


if __name__ == "__main__":
    main()

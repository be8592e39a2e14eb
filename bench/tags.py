"""High-cardinality tags: one tag of 1,000,000 (and 10,000,000) values polled once.

The exporter reads a tag file as it downloads and keeps only the top ``max_values`` rows
and the sum of the rest (``exporter/pushwoosh/tagfile.py``). This measures what that costs
against the way it was done before, side by side in one run: the whole body read into
memory, every row parsed into a list, the list sorted. That old way lives only here: run
as ``python -m bench.tags --whole-file-exporter ARGS``, this module puts it back into the
client and the tag collector and starts the exporter with ``ARGS``.

Each run starts the simulator with ``--tag-values=UserId=N`` (the file generated as it is
sent) and ``--pending=3-3``, and the exporter exactly as users start it, with one
account-wide tag ``UserId`` (``max_values: 20``) polled once. The job's 3 s leave the
exporter idle between start-up and the download, so its resident memory then is the
baseline; the kernel's high-water mark (``VmHWM``, reset then through
``/proc/PID/clear_refs``) is the peak during the download. Measured:

- ``download_s``: the ``tagFile`` request (download, parse, top values), from
  ``pushwoosh_api_request_duration_seconds``;
- ``poll_s``: the whole poll (getTagStats, the job's 3 s, its getResults, the download);
- ``poll_without_job_s``: the poll less the time from scheduling the job to seeing it
  done (the exporter's ``pushwoosh_job_done`` debug line): what the tag's size costs, the
  same for every way of reading the file;
- ``peak_mib``: peak resident memory minus the baseline;
- ``after_mib``: resident memory once the poll is done, minus the baseline;
- ``cpu_s``: the exporter's CPU seconds from the baseline to the end of the poll.

Run: ``python -m bench.tags [--values 1000000,10000000] [--whole-file 1000000]``.
"""

import argparse
import asyncio
import csv
import io
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urljoin

import aiohttp
import yaml
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from bench.load import TOKEN, free_port, wait_http
from bench.proc import cpu_seconds, rss_kib, status_kib

TAG = "UserId"
MAX_VALUES = 20
PENDING_S = 3.0
WHOLE_FILE_FLAG = "--whole-file-exporter"


def samples(text: str) -> list[Sample]:
    """Every sample of a text exposition, as prometheus-client parses it."""
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def sample_sums(found: list[Sample], name: str, **labels: str) -> float:
    """Sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(s.value for s in found if s.name == name and labels.items() <= s.labels.items())


def _reset_peak(pid: int) -> bool:
    """Restart the kernel's peak resident memory of ``pid`` from now (Linux 4.0+)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def config_for(api_url: str) -> dict[str, object]:
    """One account-wide tag, polled once in the measured time."""
    return {
        "pushwoosh": {"api_url": api_url, "request_timeout": "60s", "results_timeout": "60s"},
        "collection": {"interval": "1h"},
        "tags": [{"name": TAG, "max_values": MAX_VALUES}],
    }


async def run(values: int, whole_file: bool = False) -> dict[str, float]:
    """Poll a tag of ``values`` values once; ``whole_file``: the old way. Both processes
    are stopped before it returns."""
    sim_port, exp_port = free_port(), free_port()
    sim: asyncio.subprocess.Process | None = None
    exporter: asyncio.subprocess.Process | None = None
    with tempfile.TemporaryDirectory() as tmp:
        config_path, log_path = Path(tmp) / "config.yaml", Path(tmp) / "exporter.log"
        try:
            sim = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "exporter.simulator",
                f"--listen=127.0.0.1:{sim_port}",
                f"--token={TOKEN}",
                f"--pending={PENDING_S:g}-{PENDING_S:g}",
                f"--tag-values={TAG}={values}",
                "--apps=1",
                "--log-level=warning",
                stdout=asyncio.subprocess.DEVNULL,
            )
            sim_url = f"http://127.0.0.1:{sim_port}"
            config_path.write_text(yaml.safe_dump(config_for(sim_url)))
            command = ["bench.tags", WHOLE_FILE_FLAG] if whole_file else ["exporter.cli"]
            async with aiohttp.ClientSession() as session:
                await wait_http(session, f"{sim_url}/_sim/world")
                with log_path.open("wb") as log:
                    exporter = await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        *command,
                        f"--config.file={config_path}",
                        f"--web.listen-address=127.0.0.1:{exp_port}",
                        "--log.level=debug",
                        "--log.format=json",
                        env={**os.environ, "PUSHWOOSH_API_TOKEN": TOKEN},
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=log,
                    )
                result = await _measure(session, f"http://127.0.0.1:{exp_port}", exporter.pid)
                result["poll_without_job_s"] = result["poll_s"] - _job_seconds(log_path)
                return result
        finally:
            for process in (exporter, sim):
                if process is not None and process.returncode is None:
                    process.terminate()
                    await process.wait()


async def _measure(session: aiohttp.ClientSession, url: str, pid: int) -> dict[str, float]:
    started = time.monotonic()
    await wait_http(session, f"{url}/-/healthy", within=60.0, every=0.05)
    # Settle after start-up, well before the job is done and the download starts.
    await asyncio.sleep(min(1.0, max(0.0, PENDING_S - 1.0 - (time.monotonic() - started))))
    baseline, cpu = rss_kib(pid), cpu_seconds(pid)
    reset = _reset_peak(pid)
    await wait_http(session, f"{url}/-/ready", within=600.0, every=0.1)
    peak, after, cpu = status_kib(pid, "VmHWM"), rss_kib(pid), cpu_seconds(pid) - cpu
    async with session.get(f"{url}/metrics") as r:
        found = samples(await r.text())
    failures = sample_sums(found, "pushwoosh_api_request_failures_total")
    series = sum(1 for s in found if s.name == "pushwoosh_tag_devices")
    if failures or series != MAX_VALUES + 1:
        raise RuntimeError(f"the tag poll failed: {failures:g} failed calls, {series} series")
    download = sample_sums(found, "pushwoosh_api_request_duration_seconds_sum", method="tagFile")
    return {
        "download_s": download,
        "poll_s": sample_sums(found, "pushwoosh_collector_duration_seconds"),
        "baseline_mib": baseline / 1024,
        "peak_mib": (peak - baseline) / 1024 if reset else math.nan,
        "after_mib": (after - baseline) / 1024,
        "cpu_s": cpu,
    }


def _job_seconds(log_path: Path) -> float:
    """How long the getTagStats job took to be seen done, from the exporter's log."""
    for line in log_path.read_text().splitlines():
        entry = json.loads(line) if line.startswith("{") else {}
        if entry.get("event") == "pushwoosh_job_done" and entry.get("method") == "getTagStats":
            return float(entry["seconds"])
    raise RuntimeError("the exporter's log has no pushwoosh_job_done line for getTagStats")


def table(results: Sequence[tuple[int, bool, dict[str, float]]]) -> str:
    """The runs as a markdown table."""
    lines = [
        "| tag values | reading | poll without the job's wait | tagFile download + read "
        "| exporter CPU | peak RSS growth | RSS growth after |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for values, whole_file, r in results:
        how = "whole file, sorted (before)" if whole_file else "streamed, top values"
        lines.append(
            f"| {values:,} | {how} | {r['poll_without_job_s']:.2f} s | {r['download_s']:.2f} s "
            f"| {r['cpu_s']:.2f} s | {r['peak_mib']:.1f} MiB | {r['after_mib']:.1f} MiB |"
        )
    return "\n".join(lines)


def main() -> None:
    """Run the sizes and print the table (or, with the flag, be the old exporter)."""
    if sys.argv[1:2] == [WHOLE_FILE_FLAG]:
        sys.exit(_whole_file_exporter(sys.argv[2:]))
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--values", default="1000000,10000000", help="streamed sizes")
    parser.add_argument("--whole-file", default="1000000", help="sizes read the old way")
    args = parser.parse_args()
    runs = [(int(n), True) for n in args.whole_file.split(",") if n]
    runs += [(int(n), False) for n in args.values.split(",") if n]
    results = [(n, whole, asyncio.run(run(n, whole))) for n, whole in runs]
    print(table(results))
    print(
        f"\nmax_values {MAX_VALUES}; memory growth is over the exporter's resident memory just "
        "before the download; the poll is less the simulated job's 3 s (plus getResults' "
        "polling granularity), which is the same whatever the file's size."
    )


def _whole_file_exporter(argv: list[str]) -> int:
    """The exporter with the tag path as it was before streaming: the whole file read,
    parsed into rows, sorted."""
    from exporter import cli, families
    from exporter.collection.collectors import PollContext, TagCollector
    from exporter.pushwoosh import parse
    from exporter.pushwoosh.client import PushwooshClient
    from exporter.pushwoosh.errors import MalformedResponse
    from exporter.pushwoosh.models import TagValueCount
    from exporter.store import Observation

    def parse_tag_csv(body: bytes) -> tuple[TagValueCount, ...]:
        method = "tagFile"
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise MalformedResponse("tag file is not UTF-8", method=method) from None
        try:
            rows = [row for row in csv.reader(io.StringIO(text), delimiter=";") if row]
        except csv.Error:
            raise MalformedResponse("tag file is not CSV", method=method) from None
        counts = []
        for number, row in enumerate(rows, start=1):
            if len(row) != 2:
                raise MalformedResponse(f"line {number} has {len(row)} fields", method=method)
            value, count = row
            if number == 1 and not parse.DIGITS.fullmatch(count):
                continue
            counts.append(
                TagValueCount(value, parse.parse_count(method, count, f"line {number} count"))
            )
        return tuple(counts)

    async def get_tag_stats(
        self: PushwooshClient, tag: str, applications: Sequence[str] = ()
    ) -> tuple[TagValueCount, ...]:
        args: dict[str, object] = {"tag": tag}
        if applications:
            args["applications"] = list(applications)
        url = await self._scheduled("getTagStats", args, parse.parse_tag_url)
        return await self._transport.send(
            "tagFile", urljoin(self._api_url + "/", url), parse_tag_csv
        )

    async def collect(self: TagCollector, ctx: PollContext) -> Observation:
        applications: Sequence[str] = (self.app,) if self.app else ()
        counts = await get_tag_stats(ctx.client, self.tag, applications)
        ranked = sorted(counts, key=lambda c: (-c.count, c.value))
        kept, rest = ranked[: self.max_values], ranked[self.max_values :]
        values: dict[str, float] = {}
        for item in kept:
            values[item.value] = values.get(item.value, 0.0) + item.count
        if rest:
            values["other"] = values.get("other", 0.0) + sum(item.count for item in rest)
        gauges = tuple(
            (families.TAG_DEVICES.series(app=self.app, tag=self.tag, value=v), n)
            for v, n in sorted(values.items())
        )
        now = int(ctx.now)
        return Observation(self.key, now, now, gauges=gauges)

    TagCollector.collect = collect  # type: ignore[method-assign]
    return cli.main(argv)


if __name__ == "__main__":
    main()

"""getTagStats and the download of its file over real HTTP: a file of many values read as
it arrives, and a download that fails (a 5xx, a cut connection, a malformed line) retried,
explained and dumped like any other call, the token removed."""

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from observers import Attempts

from exporter.pushwoosh.client import PushwooshClient
from exporter.pushwoosh.download import PIECE_BYTES
from exporter.pushwoosh.dump import DumpWriter
from exporter.pushwoosh.errors import ApiTimeout, MalformedResponse, ServerError
from exporter.pushwoosh.exchange import ExchangeRecorder
from exporter.pushwoosh.models import TagSummary, TagValueCount
from exporter.pushwoosh.redact import TOKEN_MARK, TokenScrubber
from exporter.pushwoosh.timing import PollPolicy, RetryPolicy
from exporter.simulator.audience import GeneratedTagFile
from exporter.simulator.server import RunningSimulator, start_simulator
from exporter.simulator.settings import Faults, SimulatorSettings

TOKEN = "tag-download-token/7c8d9e"
SEED = 4

Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FileServer:
    """Serves the tag files the simulator points to, one scripted answer per download."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.downloads = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.downloads += 1
        return await self.answers.pop(0)(request)


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    settings = SimulatorSettings(
        seed=SEED, apps=1, token=TOKEN, faults=Faults(pending_min=0.0, pending_max=0.0)
    )
    async with await start_simulator(settings) as running:
        yield running


@pytest.fixture
async def files(sim: RunningSimulator) -> AsyncIterator[FileServer]:
    server = FileServer()
    app = web.Application()
    app.router.add_get("/_sim/files/{name}.csv", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    server.url = f"http://{host}:{port}"
    sim.state.settings.public_url = server.url
    yield server
    await runner.cleanup()


def client(
    sim: RunningSimulator, observer: Attempts, recorder: ExchangeRecorder | None = None
) -> PushwooshClient:
    return PushwooshClient(
        api_url=sim.url,
        token=TOKEN,
        observer=observer,
        request_timeout=5.0,
        results_timeout=5.0,
        retry_policy=RetryPolicy(base_delay=0.02, max_delay=0.05),
        poll_policy=PollPolicy(initial_wait=0.02, interval=0.02, max_interval=0.1),
        recorder=recorder,
    )


def csv_answer(body: bytes, status: int = 200) -> Answer:
    async def answer(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, status=status, content_type="text/csv")

    return answer


def cut_answer(body: bytes) -> Answer:
    """Promises more than it sends, then drops the connection."""

    async def answer(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/csv"})
        response.content_length = len(body) * 2
        await response.prepare(request)
        await response.write(body)
        assert request.transport is not None
        request.transport.close()
        return response

    return answer


def rows_of(count: int, token_every: int = 0) -> bytes:
    lines = ["value;count"]
    for i in range(count):
        value = f"{TOKEN}-{i}" if token_every and i % token_every == 0 else f"value-{i}"
        lines.append(f"{value};{i % 1000}")
    return ("\n".join(lines) + "\n").encode()


async def test_a_file_of_many_values_gives_the_top_values_and_the_rest(
    sim: RunningSimulator,
) -> None:
    sim.state.settings.faults.tag_values = {"UserId": 30_000}
    observer = Attempts()
    async with client(sim, observer) as api:
        summary = await api.get_tag_stats("UserId", max_values=7)
    rows = sorted(GeneratedTagFile("UserId", 30_000, SEED).rows(), key=lambda r: (-r[1], r[0]))
    assert summary == TagSummary(
        top=tuple(TagValueCount(v, n) for v, n in rows[:7]),
        rest_rows=len(rows) - 7,
        rest_sum=sum(n for _, n in rows[7:]),
    )
    assert observer.seen[-1] == ("tagFile", None)


async def test_a_failed_download_is_retried_from_the_start(
    sim: RunningSimulator, files: FileServer
) -> None:
    body = rows_of(50_000)
    files.answers = [csv_answer(b"upstream down", 503), cut_answer(body[:100_000])]
    files.answers.append(csv_answer(body))
    observer = Attempts()
    async with client(sim, observer) as api:
        summary = await api.get_tag_stats("Language", max_values=3)
    assert files.downloads == 3
    downloads = [failure for method, failure in observer.seen if method == "tagFile"]
    assert downloads == ["http_5xx", "timeout", None]
    assert [row.count for row in summary.top] == [999, 999, 999]
    assert summary.rest_rows == 50_000 - 3


async def test_a_download_that_keeps_failing_raises_its_last_error(
    sim: RunningSimulator, files: FileServer
) -> None:
    files.answers = [csv_answer(b"down", 502)] * 3 + [cut_answer(rows_of(10))]
    async with client(sim, Attempts()) as api:
        with pytest.raises(ApiTimeout, match="tagFile: connection failed"):
            await api.get_tag_stats("Language", max_values=3)
    files.answers = [csv_answer(b"down", 500)] * 4
    async with client(sim, Attempts()) as api:
        with pytest.raises(ServerError, match="tagFile: HTTP 500"):
            await api.get_tag_stats("Language", max_values=3)


async def test_a_malformed_line_fails_once_with_its_number_and_the_start_of_the_body(
    sim: RunningSimulator, files: FileServer
) -> None:
    body = rows_of(100_000, token_every=7) + b"last;not-a-count\n"
    files.answers = [csv_answer(body)]
    async with client(sim, Attempts()) as api:
        with pytest.raises(MalformedResponse) as caught:
            await api.get_tag_stats("Language", max_values=3)
    assert files.downloads == 1
    assert str(caught.value) == "tagFile: tag file line 100002 count is not a count"
    assert caught.value.body_start == TokenScrubber(TOKEN).body_start(body)
    assert caught.value.body_start is not None
    assert caught.value.body_start.startswith(f"value;count\n{TOKEN_MARK}-0;0\nvalue-1;1\n")
    assert TOKEN not in caught.value.body_start


async def test_the_dump_gets_the_streamed_file_whole_and_without_the_token(
    sim: RunningSimulator, files: FileServer, tmp_path: Path
) -> None:
    good = rows_of(60_000, token_every=997)
    # A token cut by every piece border, and a bad line at the end.
    bad = (
        b"".join(
            good[i : i + PIECE_BYTES - 5] + TOKEN.encode() + b";1\n"
            for i in range(0, len(good), PIECE_BYTES - 5)
        ).replace(b"\n", b"\r\n")
        + b"x;y;z\r\n"
    )
    files.answers = [csv_answer(good), csv_answer(bad)]
    dump = DumpWriter.create(tmp_path / "dump")
    async with client(sim, Attempts(), dump) as api:
        await api.get_tag_stats("Language", max_values=3)
        with pytest.raises(MalformedResponse, match="has 3 fields"):
            await api.get_tag_stats("Language", max_values=3)
    names = sorted(p.name for p in dump.directory.iterdir())
    assert not [name for name in names if name.startswith(".")]
    downloads = [
        json.loads((dump.directory / name).read_text())
        for name in names
        if name.endswith("-tagFile.json")
    ]
    scrubber = TokenScrubber(TOKEN)
    for document, body in zip(downloads, [good, bad], strict=True):
        saved = (dump.directory / document["response"]["file"]).read_bytes()
        assert saved == scrubber.clean_bytes(body)
        assert document["response"]["bytes"] == len(saved)
    assert downloads[1]["failure"] == "malformed"
    everything = b"".join((dump.directory / name).read_bytes() for name in names)
    assert TOKEN.encode() not in everything
    assert everything.count(TOKEN_MARK.encode()) >= 2 * (60_000 // 997)

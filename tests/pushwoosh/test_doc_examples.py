"""Pushwoosh's own documentation examples, read by our parsers and compared with our requests.

The examples live in ``tests/fixtures/api`` verbatim, each with its source page (see the
README there). Every expected value below was read off the example by hand, not taken from
running the code.
"""

import json
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from exporter.pushwoosh import parse
from exporter.pushwoosh.client import PushwooshClient
from exporter.pushwoosh.envelope import OK, Envelope, check_status, read_envelope
from exporter.pushwoosh.errors import ArgumentError
from exporter.pushwoosh.models import Conversion, EventAttribute, StatRow
from exporter.pushwoosh.timing import PollPolicy, RetryPolicy

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "api"
SOURCE_SUFFIX = ".source.json"
TOKEN = "doc-examples-token-5c1d2e3f"


def example_files() -> list[Path]:
    """Every example (``.json`` or ``.txt``), without the source files."""
    return sorted(
        path
        for path in FIXTURES.iterdir()
        if path.suffix in {".json", ".txt"} and not path.name.endswith(SOURCE_SUFFIX)
    )


def source_of(stem: str) -> dict[str, Any]:
    """The ``<stem>.source.json`` beside an example."""
    document: dict[str, Any] = json.loads((FIXTURES / f"{stem}{SOURCE_SUFFIX}").read_text("utf-8"))
    return document


def example(stem: str) -> Any:
    """The example as JSON: verbatim, after the documented ``remove`` repair for a ``.txt``."""
    (path,) = [p for p in example_files() if p.name.rsplit(".", 1)[0] == stem]
    text = path.read_text("utf-8")
    for piece in source_of(stem).get("remove", []):
        assert piece in text, f"{path.name}: {piece!r} is not in the example"
        text = text.replace(piece, "", 1)
    return json.loads(text)


def answer(stem: str) -> Envelope:
    """An example answer through our envelope reader, checked to be a success."""
    envelope = read_envelope(source_of(stem)["method"], example(stem))
    assert envelope.status_code == OK
    assert envelope.message == "OK"
    assert check_status(source_of(stem)["method"], envelope) is False
    return envelope


def at(text: str) -> datetime:
    """A UTC time written the way the examples write it."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def totals(rows: Iterable[StatRow]) -> dict[tuple[str, datetime, int | None], int]:
    """Counts per (action, bucket start, platform); repeated rows of one bucket add."""
    summed: Counter[tuple[str, datetime, int | None]] = Counter()
    for row in rows:
        summed[(row.action, row.start, row.platform)] += row.count
    return dict(summed)


# -- the fixtures themselves ------------------------------------------------------------------


def test_every_example_has_a_public_source_and_every_source_an_example() -> None:
    stems = [path.name.rsplit(".", 1)[0] for path in example_files()]
    assert len(stems) == len(set(stems)), "one example per stem: .json or .txt, not both"
    sources = sorted(p.name[: -len(SOURCE_SUFFIX)] for p in FIXTURES.glob(f"*{SOURCE_SUFFIX}"))
    assert sorted(stems) == sources
    for stem in stems:
        source = source_of(stem)
        assert source["url"].startswith("https://"), stem
        assert "pushwoosh" in source["url"], stem
        assert source["title"], stem
        assert source["section"], stem
        assert stem.startswith(source["method"] + "."), stem
        assert source["part"] in {"request", "scheduled", "results"}, stem


@pytest.mark.parametrize("path", example_files(), ids=lambda path: path.name)
def test_an_example_is_verbatim_json_or_repaired_only_by_its_remove_list(path: Path) -> None:
    stem = path.name.rsplit(".", 1)[0]
    removals = source_of(stem).get("remove", [])
    if path.suffix == ".json":
        assert removals == []
        json.loads(path.read_text("utf-8"))
    else:
        assert removals, f"{path.name} is kept as text, so the page's JSON must be invalid"
        with pytest.raises(json.JSONDecodeError):
            json.loads(path.read_text("utf-8"))
    assert isinstance(example(stem), dict)


# -- the first answer of every scheduled method: a request id ---------------------------------


@pytest.mark.parametrize(
    ("stem", "request_id"),
    [
        ("getAppStats.scheduled", "c93a202f439235f9adaaa06d651548ab"),
        ("getMsgStats.scheduled", "b3337d8ec78f67280a40a5b89050c0c0"),
        ("getCampaignStats.scheduled", "a3ef436445abfdef6255cc2f65ce7614"),
        ("getEventStatistics.scheduled", "DC1_bc63f00c736696d75cea17aa6855ba19"),
    ],
)
def test_a_scheduled_method_answers_a_request_id(stem: str, request_id: str) -> None:
    method = source_of(stem)["method"]
    assert parse.parse_request_id(method, answer(stem).response) == request_id


# -- getResults answers -----------------------------------------------------------------------


def test_the_legacy_app_stats_answer_reads_its_one_scope_and_no_rows_for_the_others() -> None:
    envelope = answer("getAppStats.results-legacy")  # error.code 0 / json_data
    stats = parse.parse_app_stats(envelope.response)
    assert stats.applications.formatter == "hourly"
    assert stats.applications.rows == (StatRow("open", at("2013-06-06 00:00:00"), 0),)
    assert stats.devices.rows == ()
    assert stats.messages.rows == ()


def test_message_stats_add_the_repeated_rows_of_one_minute_and_read_counts_as_strings() -> None:
    stats = parse.parse_message_stats(
        "getMsgStats", answer("getMsgStats.results-repeated-rows").response
    )
    assert stats.table.formatter == "minutely"
    minute = at("2024-09-30 12:54:00")
    # "send" 3 and "send" 59 are one bucket; every count is a string on the page.
    assert totals(stats.table.rows) == {("send", minute, None): 62, ("open", minute, None): 2}
    # conversion has no "delivery" on the page: it reads as 0.
    assert stats.conversion == Conversion(send=10, delivery=0, open=5)


def test_message_stats_of_the_get_results_page_read_hourly_rows_and_all_four_actions() -> None:
    stats = parse.parse_message_stats("getMsgStats", answer("getMsgStats.results").response)
    assert stats.table.formatter == "hourly"
    hour = at("2020-05-13 08:00:00")
    assert totals(stats.table.rows) == {
        ("send", hour, None): 6,
        ("inboxopen", hour, None): 0,
        ("delivery", hour, None): 1,
        ("open", hour, None): 0,
    }
    assert stats.conversion == Conversion(send=6, delivery=1, open=0)


def test_campaign_stats_read_hourly_rows_per_platform_and_conversion_without_delivery() -> None:
    stats = parse.parse_campaign_stats(answer("getCampaignStats.results").response)
    # A 10-day window answered hourly: the bucket width is what "formatter" says.
    assert stats.table.formatter == "hourly"
    assert totals(stats.table.rows) == {
        ("open", at("2024-05-09 00:00:00"), 14): 0,
        ("send", at("2024-05-09 00:00:00"), 14): 0,
        ("send", at("2024-05-11 00:00:00"), 14): 0,
    }
    assert stats.conversion == Conversion(send=10, delivery=0, open=5)


# -- our requests against the documented requests ---------------------------------------------


class RecordingApi:
    """A loopback HTTP server standing in for the API: it records every request body and
    answers each method from a script; a method without a script gets a 210, which ends the
    client's call with an ArgumentError once the request of interest has been recorded."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.bodies: dict[str, Any] = {}
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Serve on a free loopback port; the base URL of the API."""
        app = web.Application()
        app.router.add_post("/json/1.3/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Close the server."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.bodies[method] = await request.json()
        stop = {"status_code": 210, "status_message": "recorded, stop here", "response": None}
        return web.json_response(self.answers.get(method, stop))


@pytest.fixture
async def recording() -> AsyncIterator[RecordingApi]:
    api = RecordingApi({})
    yield api
    await api.stop()


def documented_request(stem: str, **replace: str) -> Any:
    """The documented request, its token (and any placeholder) replaced by ours."""
    body = example(stem)
    body["request"]["auth"] = TOKEN
    body["request"].update(replace)
    return body


def client(url: str) -> PushwooshClient:
    return PushwooshClient(
        api_url=url,
        token=TOKEN,
        request_timeout=5.0,
        results_timeout=5.0,
        retry_policy=RetryPolicy(base_delay=0.01, max_delay=0.05),
        poll_policy=PollPolicy(initial_wait=0.01, interval=0.01, max_interval=0.05),
    )


async def test_our_app_stats_request_is_the_documented_one(recording: RecordingApi) -> None:
    async with client(await recording.start()) as api:
        with pytest.raises(ArgumentError):
            await api.get_app_stats(
                "XXXXX-XXXXX", at("2013-06-04 00:00:00"), at("2013-06-07 00:00:00")
            )
    assert recording.bodies["getAppStats"] == documented_request("getAppStats.request")


async def test_our_campaign_stats_request_is_the_documented_one(recording: RecordingApi) -> None:
    async with client(await recording.start()) as api:
        with pytest.raises(ArgumentError):
            await api.get_campaign_stats(
                "XXXXX-XXXXX", at("2024-05-01 00:00:00"), at("2024-05-10 23:59:59")
            )
    assert recording.bodies["getCampaignStats"] == documented_request("getCampaignStats.request")


async def test_our_get_results_request_carries_the_documented_request_id(
    recording: RecordingApi,
) -> None:
    recording.answers["getAppStats"] = example("getAppStats.scheduled")
    async with client(await recording.start()) as api:
        with pytest.raises(ArgumentError):
            await api.get_app_stats(
                "XXXXX-XXXXX", at("2013-06-04 00:00:00"), at("2013-06-07 00:00:00")
            )
    assert recording.bodies["getResults"] == documented_request(
        "getResults.request", request_id="c93a202f439235f9adaaa06d651548ab"
    )


async def test_our_event_statistics_request_is_the_documented_one(
    recording: RecordingApi,
) -> None:
    async with client(await recording.start()) as api:
        with pytest.raises(ArgumentError):
            await api.get_event_statistics(
                "XXXXX-XXXXX",
                "Event name",
                at("2024-09-12 10:00:00"),
                at("2024-09-12 11:00:00"),
                [EventAttribute("attributeName", "EQ", ("val",))],
            )
    assert recording.bodies["getEventStatistics"] == documented_request(
        "getEventStatistics.request"
    )

"""The dump's files: JSON answers embedded as parsed, anything else kept byte for byte."""

import asyncio
import json
from pathlib import Path

import pytest

from exporter.pushwoosh.dump import DumpError, DumpWriter, render_exchange
from exporter.pushwoosh.exchange import Exchange


def exchange(body: bytes | None, content_type: str = "application/json", **kw: object) -> Exchange:
    fields: dict[str, object] = {
        "method": "getResults",
        "attempt": 1,
        "http_method": "POST",
        "url": "https://api.pushwoosh.com/json/1.3/getResults",
        "request_headers": {},
        "request_body": {"request": {"auth": "<token>", "request_id": "DC1_ab"}},
        "started": 1_764_324_000.25,
        "seconds": 0.5,
    }
    if body is not None:
        fields.update(status=200, response_headers={"Content-Type": content_type}, body=body)
    fields.update(kw)
    return Exchange(**fields)  # type: ignore[arg-type]


def test_a_json_answer_is_embedded_with_its_request() -> None:
    body = b'{"status_code": 200, "response": {"rows": [{"count": "3"}]}}'
    files = render_exchange(7, exchange(body), "app_stats:A")
    assert list(files) == ["0007-getResults.json"]
    document = json.loads(files["0007-getResults.json"])
    assert document["response"]["json"] == json.loads(body)
    assert document["response"]["bytes"] == len(body)
    assert document["request"]["body"]["request"]["auth"] == "<token>"
    assert (document["call"], document["target"]) == (7, "app_stats:A")
    assert document["started"] == "2025-11-28T10:00:00.250Z"


@pytest.mark.parametrize(
    ("body", "content_type", "name"),
    [
        (b"value;count\nen;3\n", "text/csv", "0003-getResults.body.csv"),
        (b"<html>upstream error</html>", "text/html; charset=utf-8", "0003-getResults.body.html"),
        (b'{"status_code": 200, "status_code": 210}', "", "0003-getResults.body.bin"),
        (b'{"count": NaN}', "application/json", "0003-getResults.body.json"),
        (b"\xff\xfe\x00", "", "0003-getResults.body.bin"),
    ],
)
def test_any_other_answer_is_kept_byte_for_byte_beside_it(
    body: bytes, content_type: str, name: str
) -> None:
    files = render_exchange(3, exchange(body, content_type), None)
    assert files[name] == body
    assert json.loads(files["0003-getResults.json"])["response"]["file"] == name


def test_an_attempt_without_an_answer_says_why() -> None:
    files = render_exchange(
        1, exchange(None, failure="timeout", error="getResults: request timed out"), None
    )
    document = json.loads(files["0001-getResults.json"])
    assert document["response"] is None
    assert (document["failure"], document["error"]) == ("timeout", "getResults: request timed out")


def test_the_writer_numbers_calls_and_never_overwrites(tmp_path: Path) -> None:
    writer = DumpWriter.create(tmp_path / "new" / "dump")

    async def record_two() -> None:
        await writer.record(exchange(b"{}"))
        await writer.record(exchange(b"a;1\n", "text/csv"), "tag:Country")

    asyncio.run(record_two())
    assert sorted(p.name for p in writer.directory.iterdir()) == [
        "0001-getResults.json",
        "0002-getResults.body.csv",
        "0002-getResults.json",
    ]
    with pytest.raises(DumpError, match="is not empty"):
        DumpWriter.create(writer.directory)


def test_a_dump_path_that_is_a_file_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(DumpError, match="cannot use") as caught:
        DumpWriter.create(tmp_path / "file")
    assert "\n" not in str(caught.value)


def test_a_streamed_body_is_written_as_it_arrives_and_named_when_recorded(
    tmp_path: Path,
) -> None:
    writer = DumpWriter.create(tmp_path / "dump")

    async def stream_two() -> None:
        first, empty = await writer.open_body(), await writer.open_body()
        await first.write(b"value;count\n")
        await first.write(b"en;3\n")
        assert sorted(p.name for p in writer.directory.iterdir()) == [".0001.part", ".0002.part"]
        await writer.record(exchange(None, method="getResults"))
        csv_headers = {"Content-Type": "text/csv"}
        await writer.record(
            exchange(None, status=200, response_headers=csv_headers, body_file=first)
        )
        await writer.record(
            exchange(None, status=200, response_headers=csv_headers, body_file=empty)
        )

    asyncio.run(stream_two())
    assert sorted(p.name for p in writer.directory.iterdir()) == [
        "0001-getResults.json",
        "0002-getResults.body.csv",
        "0002-getResults.json",
        "0003-getResults.json",
    ]
    assert (writer.directory / "0002-getResults.body.csv").read_bytes() == b"value;count\nen;3\n"
    streamed = json.loads((writer.directory / "0002-getResults.json").read_text())["response"]
    assert streamed == {
        "status": 200,
        "headers": {"Content-Type": "text/csv"},
        "bytes": 17,
        "file": "0002-getResults.body.csv",
    }
    empty = json.loads((writer.directory / "0003-getResults.json").read_text())["response"]
    assert empty == {"status": 200, "headers": {"Content-Type": "text/csv"}, "bytes": 0}

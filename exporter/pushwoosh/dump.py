"""``--probe.dump=DIR``: every HTTP attempt of the client written to a file, for a bug report.

One file per call, numbered in the order the calls finished and named after the API method:
``0001-getAppStats.json``, ``0002-getResults.json``, ... ``0009-tagFile.json``. Each holds
the request (URL, headers, JSON body) and the answer's metadata (status, the headers that
matter, size, timing, the failure if any). An answer that is JSON is embedded as parsed
(same values, same key order) under ``response.json``; any other answer (a tag CSV, an
HTML error page, JSON with repeated keys) is saved byte for byte beside it, as
``0009-tagFile.body.csv``, and ``response.file`` names that file. A streamed answer (a tag
file) is written as it arrives to a hidden ``.NNNN.part`` file, renamed so when its call is
recorded. The token was already removed by the transport, wherever it appeared.
"""

import asyncio
import itertools
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from exporter.pushwoosh.exchange import BodyFile, Exchange

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_EXTENSIONS = {"text/csv": "csv", "text/html": "html", "application/json": "json"}


class DumpError(Exception):
    """The dump directory cannot be used; the message is one line naming it and the fix."""


class _NotStrictJson(ValueError):
    """A body that parses only leniently (repeated keys, NaN): keep its bytes instead."""


class DumpWriter:
    """Writes each recorded exchange to its own file in ``directory`` (see the module)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._numbers = itertools.count(1)
        self._parts = itertools.count(1)
        self.calls = 0

    @classmethod
    def create(cls, directory: Path) -> "DumpWriter":
        """A writer into ``directory``, created if missing; refuses one that holds files,
        so one dump is never mixed with another."""
        try:
            directory.mkdir(parents=True, exist_ok=True)
            if any(directory.iterdir()):
                raise DumpError(
                    f"--probe.dump: {directory} is not empty; give a new or empty directory"
                )
        except OSError as exc:
            raise DumpError(
                f"--probe.dump: cannot use {directory}: {exc.strerror or exc}"
            ) from None
        return cls(directory)

    async def open_body(self) -> BodyFile:
        """A hidden file of the dump for a streamed body; :meth:`record` names it."""
        path = self.directory / f".{next(self._parts):04d}.part"
        return _PartFile(path, await asyncio.to_thread(path.open, "xb"))

    async def record(self, exchange: Exchange, target: str | None = None) -> None:
        """Write one exchange (off the event loop); ``target`` names who made the call."""
        number = next(self._numbers)
        self.calls += 1
        files = render_exchange(number, exchange, target)
        part = exchange.body_file if isinstance(exchange.body_file, _PartFile) else None
        if part is not None:
            await part.close()
        await asyncio.to_thread(self._write, files, part, body_name(number, exchange))

    def _write(self, files: dict[str, bytes], part: "_PartFile | None", part_name: str) -> None:
        for name, content in files.items():
            with (self.directory / name).open("xb") as out:
                out.write(content)
        if part is not None:
            if part.size:
                part.path.rename(self.directory / part_name)
            else:
                part.path.unlink()


class _PartFile:
    """A streamed body being written to the dump (see the module)."""

    def __init__(self, path: Path, out: BinaryIO) -> None:
        self.path = path
        self.size = 0
        self._out: BinaryIO | None = out

    async def write(self, data: bytes) -> None:
        """Append ``data`` (off the event loop)."""
        if data and self._out is not None:
            await asyncio.to_thread(self._out.write, data)
            self.size += len(data)

    async def close(self) -> None:
        """Flush and close the file; later calls do nothing."""
        out, self._out = self._out, None
        if out is not None:
            await asyncio.to_thread(out.close)


def _stem(number: int, exchange: Exchange) -> str:
    return f"{number:04d}-{_UNSAFE.sub('_', exchange.method)}"


def body_name(number: int, exchange: Exchange) -> str:
    """The name of call ``number``'s raw body file, if it has one."""
    return f"{_stem(number, exchange)}.body.{_extension(exchange.response_headers)}"


def render_exchange(number: int, exchange: Exchange, target: str | None) -> dict[str, bytes]:
    """The files of one exchange: its JSON description and, if needed, its raw body (a
    streamed body is already in its own file, which the description names)."""
    stem = _stem(number, exchange)
    response: dict[str, Any] | None = None
    files: dict[str, bytes] = {}
    if exchange.status is not None:
        body = exchange.body or b""
        response = {
            "status": exchange.status,
            "headers": dict(exchange.response_headers),
            "bytes": len(body),
        }
        if exchange.body_file is not None:
            response["bytes"] = exchange.body_file.size
            if exchange.body_file.size:
                response["file"] = body_name(number, exchange)
        elif body:
            try:
                response["json"] = _strict_json(body)
            except (ValueError, RecursionError):
                name = body_name(number, exchange)
                files[name] = body
                response["file"] = name
    document = {
        "call": number,
        "method": exchange.method,
        "target": target,
        "attempt": exchange.attempt,
        "started": datetime.fromtimestamp(exchange.started, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "seconds": round(exchange.seconds, 6),
        "request": {
            "method": exchange.http_method,
            "url": exchange.url,
            "headers": dict(exchange.request_headers),
            "body": exchange.request_body,
        },
        "response": response,
        "failure": exchange.failure,
        "error": exchange.error,
    }
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return {f"{stem}.json": text.encode(), **files}


def _strict_json(body: bytes) -> object:
    """``body`` parsed as JSON that re-encodes to the same values; ValueError otherwise."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        document = dict(items)
        if len(document) != len(items):
            raise _NotStrictJson("repeated key")
        return document

    def constant(name: str) -> None:
        raise _NotStrictJson(name)

    return json.loads(body, object_pairs_hook=pairs, parse_constant=constant)


def _extension(headers: Mapping[str, str]) -> str:
    """The raw body's file extension, from its Content-Type."""
    kind = headers.get("Content-Type", "").split(";")[0].strip().lower()
    if kind in _EXTENSIONS:
        return _EXTENSIONS[kind]
    return "txt" if kind.startswith("text/") else "bin"

"""A streamed answer body: read piece by piece as it arrives, never held whole.

:func:`read_streamed` hands each piece to a :class:`BodyReader` (the tag file's reader),
keeps the first bytes of the body for the start of a malformed one, and copies the body,
token removed, to the recorder's :class:`~exporter.pushwoosh.exchange.BodyFile` if there is
one (``--probe.dump``). The transport owns the request, the retries and the error mapping.
"""

from typing import Final, Protocol, TypeVar

import aiohttp

from exporter.pushwoosh.errors import MalformedResponse
from exporter.pushwoosh.exchange import BodyFile
from exporter.pushwoosh.redact import TokenScrubber

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

PIECE_BYTES: Final = 1 << 16
"""The most of a body read at once."""


class BodyReader(Protocol[T_co]):
    """Reads a 2xx body piece by piece; raises a typed error (MalformedResponse) as soon
    as it cannot."""

    def feed(self, data: bytes) -> None:
        """The next piece of the body."""
        ...

    def finish(self) -> T_co:
        """The body ended: its value."""
        ...


async def read_streamed(
    content: aiohttp.StreamReader,
    reader: BodyReader[T],
    scrubber: TokenScrubber,
    head: bytearray,
    body_file: BodyFile | None,
) -> T:
    """Read ``content`` into ``reader``; its first bytes go to ``head``, all of it,
    scrubbed, to ``body_file``.

    When the reader gives up, reading goes on until ``head`` holds what the error's start
    of the body needs, and, with a body file, to the end, so that the dump has it all.
    """
    wanted = scrubber.head_bytes()
    scrubbed = scrubber.stream()

    async def keep(data: bytes) -> None:
        if len(head) < wanted:
            head.extend(data[: wanted - len(head)])
        if body_file is not None:
            await body_file.write(scrubbed.feed(data))

    try:
        async for data in content.iter_chunked(PIECE_BYTES):
            await keep(data)
            reader.feed(data)
        return reader.finish()
    except MalformedResponse:
        try:
            async for data in content.iter_chunked(PIECE_BYTES):
                await keep(data)
                if body_file is None and len(head) >= wanted:
                    break
        except (aiohttp.ClientError, TimeoutError):
            pass  # the body's own error is the one to report
        raise
    finally:
        if body_file is not None:
            await body_file.write(scrubbed.finish())

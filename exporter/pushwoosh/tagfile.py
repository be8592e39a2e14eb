"""The tag file, read as it is downloaded: its top values and the sum of the rest.

A getTagStats file has one ``value;count`` row per value (``;`` separators, CSV quoting,
a header row, UTF-8 with or without a byte order mark), and a tag such as a user id has
millions of them. :class:`TagFileReader` takes the download piece by piece and keeps only
what the exporter publishes, in memory bounded by ``max_values``, whatever the file's size:

- the ``max_values`` rows with the most devices, ties broken by value (the smaller
  first), in a bounded heap;
- the sum and number of all the other rows, for ``value="other"``.

Each row is ranked on its own. The API writes one row per value, so a value is ranked by
its count; a file that repeats a value is ranked row by row, and two rows of one value
that both make the top are added up by the collector, while a row outside it counts to
``other``. Ranking values rather than rows would need every value seen so far, which is
what this reader exists not to keep.

The text goes through :func:`csv.reader` line by line, exactly as it would over the whole
file; a row that is not two fields, or whose count is not a count, fails the read with its
line number.
"""

import codecs
import csv
import heapq
import io
import itertools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from exporter.pushwoosh.errors import MalformedResponse
from exporter.pushwoosh.models import TagSummary, TagValueCount
from exporter.pushwoosh.parse import DIGITS as _DIGITS
from exporter.pushwoosh.parse import parse_count

if TYPE_CHECKING:
    from _csv import Reader

METHOD: Final = "tagFile"
"""The name a tag file download goes by in errors, metrics and dumps."""
MAX_UNREAD: Final = 1 << 20
"""Characters a row may take. A longer one cannot be a valid row (the csv module refuses
fields over 131,072 characters), and holding it would grow without bound."""


class _NeedMore(Exception):
    """The text read so far ends inside a row: wait for the next piece."""


class _PieceEnd:
    """Follows a piece's lines: the csv module must not take their end for the file's."""

    def __iter__(self) -> "_PieceEnd":
        return self

    def __next__(self) -> str:
        raise _NeedMore


class _Ranked:
    """A kept row in the heap, whose root is the row that ranks lowest: fewest devices,
    then the greatest value."""

    __slots__ = ("count", "value")

    def __init__(self, count: int, value: str) -> None:
        self.count = count
        self.value = value

    def __lt__(self, other: "_Ranked") -> bool:
        if self.count != other.count:
            return self.count < other.count
        return self.value > other.value


class TopValues:
    """The ``size`` rows that rank highest by (most devices, smallest value), and the
    number and sum of the rest."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("keep at least one value")
        self.size = size
        self.rest_rows = 0
        self.rest_sum = 0
        self._heap: list[_Ranked] = []

    def add(self, value: str, count: int) -> None:
        """Rank one row: keep it (perhaps pushing the lowest kept row out) or count it to
        the rest."""
        heap = self._heap
        if len(heap) < self.size:
            heapq.heappush(heap, _Ranked(count, value))
            return
        lowest = heap[0]
        if count < lowest.count or (count == lowest.count and value >= lowest.value):
            self.rest_rows += 1
            self.rest_sum += count
            return
        heapq.heapreplace(heap, _Ranked(count, value))
        self.rest_rows += 1
        self.rest_sum += lowest.count

    def floor(self) -> tuple[int, str]:
        """Count and value of the lowest kept row once ``size`` are kept: a row ranking
        at or below it goes to the rest. (-1, "") before."""
        if len(self._heap) < self.size:
            return -1, ""
        lowest = self._heap[0]
        return lowest.count, lowest.value

    def add_rest(self, rows: int, devices: int) -> None:
        """Count rows known to rank below the :meth:`floor` to the rest."""
        self.rest_rows += rows
        self.rest_sum += devices

    def summary(self) -> TagSummary:
        """The kept rows, highest first, and the rest."""
        ranked = sorted(self._heap, key=lambda row: (-row.count, row.value))
        return TagSummary(
            top=tuple(TagValueCount(row.value, row.count) for row in ranked),
            rest_rows=self.rest_rows,
            rest_sum=self.rest_sum,
        )


class TagFileReader:
    """Reads one tag file from the pieces of its download (see the module).

    :meth:`feed` each piece as it arrives, then :meth:`finish`; both raise
    :class:`MalformedResponse` for a file that is not UTF-8, not CSV, or not
    ``value;count`` rows. Holds one piece, the lines of an unfinished row and
    ``max_values`` rows.
    """

    def __init__(self, max_values: int) -> None:
        self._top = TopValues(max_values)
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self._unread: list[str] = []
        """Text received after the last complete row: its lines and the partial line."""
        self._unread_length = 0
        self._lines_read = 0
        """Lines of the file up to the end of the last complete row."""
        self._header_pending = True
        """No non-empty row yet: the next one may be the header."""
        self._row_end = 0
        """Lines of the text being read up to the end of its last complete row."""

    def feed(self, data: bytes) -> None:
        """Read one piece of the file."""
        try:
            text = self._decoder.decode(data)
        except UnicodeDecodeError:
            raise MalformedResponse("tag file is not UTF-8", method=METHOD) from None
        end = text.rfind("\n") + 1
        if end:
            whole = "".join([*self._unread, text[:end]])
            self._unread, self._unread_length = [], 0
            self._read(whole, final=False)
        if end < len(text):
            self._unread.append(text[end:])
            self._unread_length += len(text) - end
            if self._unread_length > MAX_UNREAD:
                raise MalformedResponse(
                    f"tag file line {self._lines_read + 1} is not CSV"
                    f" (over {MAX_UNREAD} characters without a complete row)",
                    method=METHOD,
                )

    def finish(self) -> TagSummary:
        """Read what is left of the file; the summary of all its rows."""
        try:
            rest = "".join(self._unread) + self._decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise MalformedResponse("tag file is not UTF-8", method=METHOD) from None
        if self._decoder.getstate()[0]:
            # A file of one or two bytes that begin a byte order mark: the "utf-8-sig"
            # decoder waits for more even when told the file ended.
            raise MalformedResponse("tag file is not UTF-8", method=METHOD)
        self._unread, self._unread_length = [], 0
        self._read(rest, final=True)
        return self._top.summary()

    def _read(self, text: str, *, final: bool) -> None:
        """Read the rows of ``text`` (whole lines unless ``final``) as :func:`csv.reader`
        reads them over the whole file; the lines of a row left unfinished wait in
        ``_unread`` for the next piece."""
        # Split after each "\n" only, as over the whole text: a lone "\r" stays inside its
        # line for the csv module to judge.
        lines: Iterator[str] = io.StringIO(text)
        if not final:
            lines = itertools.chain(lines, _PieceEnd())
        reader = csv.reader(lines, delimiter=";")
        # Without a quote every line is a row of its own; in ASCII text, a count of digits
        # only is a count if there are at most 30 of them.
        plain = '"' not in text and text.isascii()
        self._row_end = 0
        try:
            if plain:
                self._plain_rows(reader)
            else:
                self._checked_rows(reader)
            done = reader.line_num
        except _NeedMore:
            # The csv module dropped the row it had begun: hand it its lines again.
            done = reader.line_num if plain else self._row_end
            start = len(text)
            for _ in range(reader.line_num - done):
                start = text.rfind("\n", 0, start - 1) + 1
            self._unread, self._unread_length = [text[start:]], len(text) - start
        except csv.Error as error:
            line = self._lines_read + reader.line_num
            raise MalformedResponse(
                f"tag file line {line} is not CSV ({error})", method=METHOD
            ) from None
        self._lines_read += done

    def _plain_rows(self, reader: "Reader") -> None:
        """Rows of a text in which every line is a row: most rank below the kept ones and
        are only added to the rest, here, without a call per row."""
        top = self._top
        floor_count, floor_value = top.floor()
        rest_rows = rest_sum = 0
        try:
            for row in reader:
                if len(row) == 2:
                    value, count_text = row
                    if count_text.isdigit() and len(count_text) <= 30:
                        count = int(count_text)
                        if count < floor_count or (count == floor_count and value >= floor_value):
                            rest_rows += 1
                            rest_sum += count
                            continue
                if row:
                    self._row(row, self._lines_read + reader.line_num)
                    floor_count, floor_value = top.floor()
        finally:
            top.add_rest(rest_rows, rest_sum)

    def _checked_rows(self, reader: "Reader") -> None:
        """Rows of any text, each checked in full; ``_row_end`` follows the last one."""
        for row in reader:
            self._row_end = reader.line_num
            if row:
                self._row(row, self._lines_read + self._row_end)

    def _row(self, row: list[str], line: int) -> None:
        """One non-empty row, checked in full: the header row, or a value and its count."""
        if len(row) != 2:
            raise MalformedResponse(f"tag file line {line} has {len(row)} fields", method=METHOD)
        value, count_text = row
        header, self._header_pending = self._header_pending, False
        if header and not _DIGITS.fullmatch(count_text):
            return
        self._top.add(value, parse_count(METHOD, count_text, f"tag file line {line} count"))

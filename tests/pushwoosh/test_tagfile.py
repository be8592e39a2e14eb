"""The tag file read as it downloads: the same result as sorting the whole file, for any
file cut anywhere, in memory that does not grow with the file."""

import csv
import io
import tracemalloc

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from exporter.collection.collectors import tag_devices
from exporter.pushwoosh.errors import MalformedResponse
from exporter.pushwoosh.models import TagSummary, TagValueCount
from exporter.pushwoosh.parse import DIGITS
from exporter.pushwoosh.tagfile import MAX_UNREAD, TagFileReader, TopValues
from exporter.simulator.audience import GeneratedTagFile


class NotATagFile(Exception):
    """The whole-file reading refused the file."""


def whole_file_rows(body: bytes) -> list[tuple[str, int]]:
    """The rows of a tag file read the simple way: decode it all, parse it all."""
    try:
        text = body.decode("utf-8-sig")
        rows = [row for row in csv.reader(io.StringIO(text), delimiter=";") if row]
    except (UnicodeDecodeError, csv.Error):
        raise NotATagFile from None
    counts = []
    for number, row in enumerate(rows, start=1):
        if len(row) != 2:
            raise NotATagFile
        value, count = row
        if not DIGITS.fullmatch(count):
            if number == 1:
                continue  # the header row
            raise NotATagFile
        counts.append((value, int(count.strip(" \t"))))
    return counts


def sorted_summary(rows: list[tuple[str, int]], max_values: int) -> TagSummary:
    """Every row sorted by (most devices, smallest value); the first ``max_values`` kept."""
    ranked = sorted(rows, key=lambda row: (-row[1], row[0]))
    kept, rest = ranked[:max_values], ranked[max_values:]
    return TagSummary(
        top=tuple(TagValueCount(value, count) for value, count in kept),
        rest_rows=len(rest),
        rest_sum=sum(count for _, count in rest),
    )


def sorted_devices(rows: list[tuple[str, int]], max_values: int) -> dict[str, float]:
    """What the tag collector published when it sorted the whole file."""
    ranked = sorted(rows, key=lambda row: (-row[1], row[0]))
    kept, rest = ranked[:max_values], ranked[max_values:]
    values: dict[str, float] = {}
    for value, count in kept:
        values[value] = values.get(value, 0.0) + count
    if rest:
        values["other"] = values.get("other", 0.0) + sum(count for _, count in rest)
    return values


def read_in_pieces(body: bytes, cuts: list[int], max_values: int) -> TagSummary:
    reader = TagFileReader(max_values)
    start = 0
    for cut in sorted(set(cuts)):
        reader.feed(body[start:cut])
        start = cut
    reader.feed(body[start:])
    return reader.finish()


def render(rows: list[tuple[str, str]], header: bool, bom: bool, crlf: bool) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n" if crlf else "\n")
    if header:
        writer.writerow(["value", "count"])
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode()


VALUES = st.sampled_from(["en", "de", "other", "de;at", 'say "hi"', "two\nlines", "é", " ", ""])
"""Few values, so that they repeat; some need quoting, one is named like the rest."""
COUNT_TEXTS = st.one_of(
    st.integers(0, 12).map(str),
    st.sampled_from([" 3", "4\t", "0007", "99999999999999999999"]),
)


@st.composite
def tag_files(draw: st.DrawFn) -> tuple[bytes, list[int]]:
    rows = draw(st.lists(st.tuples(VALUES, COUNT_TEXTS), max_size=40))
    body = render(rows, draw(st.booleans()), draw(st.booleans()), draw(st.booleans()))
    cuts = draw(st.lists(st.integers(0, len(body)), max_size=8))
    return body, cuts


@settings(max_examples=400, deadline=None)
@given(file=tag_files(), max_values=st.integers(1, 8))
@example(file=(b"value;count\na;5\nb;4\na;3\n", []), max_values=1)
def test_reading_as_it_arrives_equals_sorting_the_whole_file(
    file: tuple[bytes, list[int]], max_values: int
) -> None:
    body, cuts = file
    rows = whole_file_rows(body)
    summary = read_in_pieces(body, cuts, max_values)
    assert summary == sorted_summary(rows, max_values)
    assert tag_devices(summary) == sorted_devices(rows, max_values)


@settings(max_examples=400, deadline=None)
@given(
    body=st.binary(max_size=80)
    | st.text(alphabet='ab;"\n\r09 \t\ufeff\x00é', max_size=60).map(str.encode),
    cuts=st.lists(st.integers(0, 80), max_size=6),
    max_values=st.integers(1, 4),
)
@example(body=b"\xef", cuts=[], max_values=1)
def test_any_bytes_are_refused_or_read_exactly_as_the_whole_file_would_be(
    body: bytes, cuts: list[int], max_values: int
) -> None:
    try:
        rows = whole_file_rows(body)
    except NotATagFile:
        with pytest.raises(MalformedResponse, match="tag file"):
            read_in_pieces(body, [c for c in cuts if c <= len(body)], max_values)
        return
    summary = read_in_pieces(body, [c for c in cuts if c <= len(body)], max_values)
    assert summary == sorted_summary(rows, max_values)


def test_a_repeated_value_is_ranked_row_by_row_and_its_kept_rows_add_up() -> None:
    body = b"value;count\na;5\nb;4\na;3\nc;1\na;2\n"
    assert tag_devices(read_in_pieces(body, [], 1)) == {"a": 5.0, "other": 10.0}
    assert tag_devices(read_in_pieces(body, [], 3)) == {"a": 8.0, "b": 4.0, "other": 3.0}


def test_ties_keep_the_smaller_values_and_a_value_named_other_takes_the_rest() -> None:
    body = b"value;count\nz;2\nother;2\nb;2\na;2\n"
    summary = read_in_pieces(body, [], 2)
    assert summary.top == (TagValueCount("a", 2), TagValueCount("b", 2))
    assert tag_devices(read_in_pieces(body, [], 3)) == {"a": 2.0, "b": 2.0, "other": 4.0}


def test_a_file_without_more_values_than_kept_has_no_other() -> None:
    summary = read_in_pieces(b"value;count\nen;3\nde;0\n", [], 2)
    assert summary == TagSummary(top=(TagValueCount("en", 3), TagValueCount("de", 0)))
    assert tag_devices(summary) == {"en": 3.0, "de": 0.0}


def test_quoted_values_header_byte_order_mark_and_blank_lines() -> None:
    body = '\ufeffvalue;count\nen;120\n"de;at";"7"\n\n"two\nlines";2\nfr;0\n'.encode()
    for cuts in ([], list(range(len(body)))):
        assert read_in_pieces(body, cuts, 10).top == (
            TagValueCount("en", 120),
            TagValueCount("de;at", 7),
            TagValueCount("two\nlines", 2),
            TagValueCount("fr", 0),
        )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"value;count\nen;1\n\nfr;many\n", "tagFile: tag file line 4 count is not a count"),
        (b"value;count\nen;1;2\n", "tagFile: tag file line 2 has 3 fields"),
        (b'value;count\n"a\nb";1\nc;2;3\n', "tagFile: tag file line 4 has 3 fields"),
        (b"value;count\nen\rx;1\n", "tagFile: tag file line 2 is not CSV"),
        (b"value;count\nen;1\n\xff\xfe\n", "tagFile: tag file is not UTF-8"),
        (b"value;count\nen;1\n\xc3", "tagFile: tag file is not UTF-8"),
        (b"\xef", "tagFile: tag file is not UTF-8"),
        (b"\xef\xbb", "tagFile: tag file is not UTF-8"),
    ],
)
def test_a_malformed_file_names_its_line(body: bytes, message: str) -> None:
    for cuts in ([], [len(body) // 2], list(range(len(body)))):
        with pytest.raises(MalformedResponse) as caught:
            read_in_pieces(body, cuts, 3)
        assert str(caught.value).startswith(message)


def test_a_row_that_never_ends_is_refused_before_it_fills_memory() -> None:
    reader = TagFileReader(3)
    reader.feed(b"value;count\nen;1\n")
    for _ in range(MAX_UNREAD // 1024):
        reader.feed(b"x" * 1024)
    with pytest.raises(MalformedResponse, match="line 3 is not CSV"):
        reader.feed(b"x")


def test_top_values_needs_room_for_one() -> None:
    with pytest.raises(ValueError, match="at least one"):
        TopValues(0)


def test_reading_a_large_file_holds_a_piece_and_the_kept_rows_only() -> None:
    generated = GeneratedTagFile("UserId", 400_000, seed=3)
    expected = sorted_summary(list(generated.rows()), 20)
    size = sum(len(piece) for piece in generated.pieces())  # the simulator's tables, made
    tracemalloc.start()
    try:
        reader = TagFileReader(20)
        for piece in generated.pieces():
            reader.feed(piece)
        summary = reader.finish()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * 1024 * 1024 < size / 2.5, f"peak {peak / 1024:.0f} KiB of {size} bytes"
    assert summary == expected

"""The CSV layer: records, their physical line numbers, ragged rows, blank
lines, quoting and chunking. Feed-agnostic: every column is kept."""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storemon.ingest import reader
from storemon.ingest.errors import IngestError
from storemon.ingest.reader import read_records


def keep_all(header: list[str]) -> Mapping[str, int]:
    return {f"c{i}": i for i in range(len(header))}


@dataclass
class Read:
    rows: list[tuple[object, ...]]  # fields..., line
    rejects: list[tuple[int, str, str]]
    lines: int


def read(data: bytes, *, chunk_bytes: int = 1 << 20) -> Read:
    chunks = list(read_records(io.BytesIO(data), keep_all, chunk_bytes=chunk_bytes))
    return Read(
        rows=[row for chunk in chunks for row in chunk.fields.rows()],
        rejects=[row for chunk in chunks for row in chunk.rejects.rows()],
        lines=sum(chunk.lines for chunk in chunks),
    )


def test_lf_and_crlf_files_read_the_same() -> None:
    lf = read(b"a,b\n1,2\n3,4\n")
    crlf = read(b"a,b\r\n1,2\r\n3,4\r\n")
    assert lf == crlf
    assert lf.rows == [("1", "2", 2), ("3", "4", 3)]
    assert lf.lines == 3


def test_a_last_line_without_newline_is_read_and_counted() -> None:
    result = read(b"a,b\n1,2\n3,4")
    assert result.rows == [("1", "2", 2), ("3", "4", 3)]
    assert result.lines == 3


def test_blank_lines_are_skipped_but_still_counted() -> None:
    result = read(b"\na,b\n\n1,2\n   \n\t\r\n3,4\n\n")
    assert result.rows == [("1", "2", 4), ("3", "4", 7)]
    assert result.rejects == []
    assert result.lines == 8


def test_short_rows_become_rejects_with_their_line() -> None:
    result = read(b"a,b,c\n1,2,3\n1,2\nonly\n4,5,6\n")
    assert result.rows == [("1", "2", "3", 2), ("4", "5", "6", 5)]
    assert result.rejects == [
        (3, "expected 3 fields, found 2", "1,2"),
        (4, "expected 3 fields, found 1", "only"),
    ]


def test_extra_trailing_fields_are_ignored_like_extra_columns() -> None:
    result = read(b"a,b,c\n1,2,3\n1,2,3,4\n5,6,7,\n")
    assert result.rows == [("1", "2", "3", 2), ("1", "2", "3", 3), ("5", "6", "7", 4)]
    assert result.rejects == []


def test_a_row_may_lack_fields_of_columns_that_are_not_read() -> None:
    data = io.BytesIO(b"a,b,extra\n1,2\n3,4,x\n")
    chunks = list(read_records(data, lambda _: {"a": 0, "b": 1}))
    rows = [row for chunk in chunks for row in chunk.fields.rows()]
    assert rows == [("1", "2", 2), ("3", "4", 3)]


def test_empty_fields_are_empty_strings() -> None:
    assert read(b"a,b,c\n,,\n").rows == [("", "", "", 2)]


def test_quoted_fields_keep_commas_quotes_and_newlines() -> None:
    data = b'a,b\n"x,1","say ""hi"""\n"multi\nline",2\r\n"crlf\r\ninside",3\n4,5\n'
    result = read(data)
    assert result.rows == [
        ("x,1", 'say "hi"', 2),
        ("multi\nline", "2", 3),
        ("crlf\r\ninside", "3", 5),
        ("4", "5", 7),
    ]
    assert result.lines == 7


def test_stray_quotes_inside_fields_are_read_like_the_csv_module_does() -> None:
    # Not RFC 4180; polars refuses these, so the block falls back to ``csv``.
    result = read(b'a,b\n"x"y,1\nq"u"o,2\n3,4\n')
    assert result.rows == [("xy", "1", 2), ('q"u"o', "2", 3), ("3", "4", 4)]
    assert result.rejects == []


def test_a_quoted_header_is_read() -> None:
    result = read(b'"a","b,c"\n1,2\n')
    assert result.rows == [("1", "2", 2)]


def test_an_unterminated_quote_rejects_its_line_and_reading_goes_on() -> None:
    result = read(b'a,b\n1,2\n"oops,3\n4,5\n')
    assert result.rows == [("1", "2", 2), ("4", "5", 4)]
    assert result.rejects == [(3, "unterminated quoted field", '"oops,3')]
    assert result.lines == 4


def test_an_unterminated_quote_on_the_last_line_without_newline() -> None:
    result = read(b'a,b\n1,2\n3,"4')
    assert result.rows == [("1", "2", 2)]
    assert result.rejects == [(3, "unterminated quoted field", '3,"4')]
    assert result.lines == 3


def test_a_bom_before_the_header_is_dropped() -> None:
    headers: list[list[str]] = []

    def select(header: list[str]) -> Mapping[str, int]:
        headers.append(header)
        return keep_all(header)

    list(read_records(io.BytesIO(b"\xef\xbb\xbfa,b\n1,2\n"), select))
    assert headers == [["a", "b"]]


def test_invalid_utf8_rejects_its_record_and_the_file_goes_on() -> None:
    result = read(b"a,b\n\xff\xfe,2\n3,4\n")
    assert result.rows == [("3", "4", 3)]
    assert result.rejects == [(2, "not valid UTF-8 text", "\ufffd\ufffd,2")]


def test_selected_columns_are_taken_by_position_and_named() -> None:
    chunks = list(
        read_records(io.BytesIO(b"x,y,z\n1,2,3\n"), lambda header: {"last": 2, "first": 0})
    )
    assert chunks[0].fields.columns == ["last", "first", "line"]
    assert chunks[0].fields.rows() == [("3", "1", 2)]
    assert chunks[0].fields.schema["line"] == pl.Int64


def test_an_empty_file_has_no_header() -> None:
    with pytest.raises(IngestError, match="no header"):
        read(b"")
    with pytest.raises(IngestError, match="no header"):
        read(b"\n \r\n\n")


def test_cr_only_line_endings_are_refused_rather_than_misread() -> None:
    with pytest.raises(IngestError, match="LF or CRLF"):
        read(b"a,b\r1,2\r3,4\r")


def test_a_header_only_file_has_no_rows() -> None:
    result = read(b"a,b\n")
    assert result.rows == [] and result.rejects == [] and result.lines == 1


def test_a_text_stream_is_refused() -> None:
    stream = io.StringIO("a,b\n1,2\n")
    with pytest.raises(IngestError, match="binary"):
        list(read_records(stream, keep_all))  # type: ignore[arg-type]


def test_a_path_and_a_file_object_read_the_same(tmp_path: Path) -> None:
    data = b"a,b\n1,2\n3,4\n"
    path = tmp_path / "feed.csv"
    path.write_bytes(data)
    from_path = [c.fields.rows() for c in read_records(path, keep_all)]
    from_str = [c.fields.rows() for c in read_records(str(path), keep_all)]
    from_stream = [c.fields.rows() for c in read_records(io.BytesIO(data), keep_all)]
    assert from_path == from_str == from_stream


class Trickle(io.BytesIO):
    """A stream that returns at most 3 bytes per read, like a slow socket."""

    def read(self, size: int | None = -1) -> bytes:
        return super().read(3 if size is None or size < 0 else min(size, 3))


def test_short_reads_do_not_end_the_stream_early() -> None:
    data = b"a,b\n" + b"".join(b"%d,x\n" % i for i in range(100))
    rows = [
        r for c in read_records(Trickle(data), keep_all, chunk_bytes=64) for r in c.fields.rows()
    ]
    assert len(rows) == 100
    assert rows[-1] == ("99", "x", 101)


def test_a_line_longer_than_the_record_limit_is_rejected_and_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reader, "MAX_RECORD_BYTES", 64)
    data = b"a,b\n1,2\n" + b"x" * 500 + b"\n3,4\n"
    result = read(data, chunk_bytes=16)
    assert result.rows == [("1", "2", 2), ("3", "4", 4)]
    assert [(line, reason) for line, reason, _ in result.rejects] == [
        (3, "line is longer than 64 bytes")
    ]
    assert result.lines == 4


def test_a_chunk_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="chunk_bytes"):
        list(read_records(io.BytesIO(b"a,b\n"), keep_all, chunk_bytes=0))


# --- property: any file, any chunk size -------------------------------------

_FIELD_TEXT = st.lists(st.sampled_from([*"ab1 é", ",", '"', "\n", "\r\n"]), max_size=6).map("".join)


@dataclass(frozen=True)
class Item:
    kind: str  # "row" | "ragged" | "blank"
    fields: tuple[str, ...]
    quote_all: bool
    ending: str


def _render_field(field: str, quote: bool) -> str:
    if quote or any(c in field for c in ',"\r\n'):
        return '"' + field.replace('"', '""') + '"'
    return field


def _render(item: Item) -> str:
    if item.kind == "blank":
        return item.fields[0]
    return ",".join(_render_field(f, item.quote_all) for f in item.fields)


#: bytes, width, expected rows, expected rejects, physical lines
File = tuple[bytes, int, list[tuple[object, ...]], list[tuple[int, str, str]], int]


@st.composite
def files(draw: st.DrawFn) -> File:
    width = draw(st.integers(2, 4))
    items: list[Item] = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["row", "row", "row", "ragged", "blank"]))
        ending = draw(st.sampled_from(["\n", "\r\n"]))
        quote_all = draw(st.booleans())
        if kind == "row":
            extra = draw(st.sampled_from([0, 0, 0, 1, 2]))
            fields = tuple(
                draw(st.lists(_FIELD_TEXT, min_size=width + extra, max_size=width + extra))
            )
        elif kind == "ragged":  # too short: extra fields are a "row"
            count = draw(st.sampled_from(range(1, width)))
            fields = tuple(draw(st.lists(_FIELD_TEXT, min_size=count, max_size=count)))
            if count == 1:
                fields = ("x" + fields[0],)
        else:
            fields = (draw(st.sampled_from(["", " ", "\t", "  "])),)
        items.append(Item(kind, fields, quote_all, ending))
    bom = draw(st.booleans())
    final_newline = draw(st.booleans())

    header = ",".join(f"h{i}" for i in range(width))
    text = header + "\n"
    line = 2
    rows: list[tuple[object, ...]] = []
    rejects: list[tuple[int, str, str]] = []
    for index, item in enumerate(items):
        rendered = _render(item)
        if item.kind == "row":
            rows.append((*item.fields[:width], line))
        elif item.kind == "ragged":
            reason = f"expected {width} fields, found {len(item.fields)}"
            rejects.append((line, reason, rendered))
        last = index == len(items) - 1
        text += rendered + ("" if last and not final_newline else item.ending)
        line += rendered.count("\n") + 1
    data = ("\ufeff" if bom else "").encode() + text.encode()
    lines = text.count("\n") + (not text.endswith("\n"))
    return data, width, rows, rejects, lines


# Many tiny chunks per example: no per-example deadline on a busy machine.
@settings(max_examples=300, deadline=None)
@given(file=files(), chunk_bytes=st.integers(1, 48))
def test_every_chunk_size_reads_every_record_at_its_line(file: File, chunk_bytes: int) -> None:
    data, _, rows, rejects, lines = file
    whole = read(data)
    assert whole.rows == rows
    assert whole.rejects == rejects
    assert whole.lines == lines
    assert read(data, chunk_bytes=chunk_bytes) == whole


def test_a_file_is_streamed_in_chunks_of_about_chunk_bytes() -> None:
    line = b"1234567,abcdefgh\n"  # 17 bytes
    data = b"a,b\n" + line * 2000
    chunks = list(read_records(io.BytesIO(data), keep_all, chunk_bytes=1024))
    assert len(chunks) >= len(data) // 1024
    assert max(chunk.fields.height for chunk in chunks) <= 1024 // len(line) + 1
    assert sum(chunk.fields.height for chunk in chunks) == 2000

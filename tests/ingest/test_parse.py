"""The whole road: file in, typed chunks out."""

from __future__ import annotations

import io
from dataclasses import FrozenInstanceError
from importlib import resources
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storemon.ingest import Feed, ParsedChunk, parse_feed, source_size

from .helpers import chunks_of, parse

SAMPLES = {
    Feed.STATUS: "store_status_sample.csv",
    Feed.HOURS: "menu_hours.csv",
    Feed.TIMEZONES: "timezones.csv",
}


def sample_path(feed: Feed) -> Path:
    return Path(str(resources.files("storemon").joinpath("sample_data", SAMPLES[feed])))


@pytest.mark.parametrize("feed", list(SAMPLES))
def test_the_sample_files_parse_without_rejects(feed: Feed) -> None:
    path = sample_path(feed)
    chunks = list(parse_feed(feed, path))
    valid = pl.concat([chunk.valid for chunk in chunks])
    rejects = pl.concat([chunk.rejects for chunk in chunks])
    data = path.read_bytes()
    physical_lines = data.count(b"\n") + (not data.endswith(b"\n"))
    assert rejects.height == 0
    assert valid.height == physical_lines - 1
    assert sum(chunk.lines for chunk in chunks) == physical_lines
    assert valid["line"].to_list() == list(range(2, physical_lines + 1))


def test_the_sample_status_file_reads_the_same_in_small_chunks() -> None:
    path = sample_path(Feed.STATUS)
    whole = pl.concat([c.valid for c in parse_feed(Feed.STATUS, path)])
    chunks = list(parse_feed(Feed.STATUS, path, chunk_bytes=4096))
    assert len(chunks) > 10
    assert pl.concat([c.valid for c in chunks]).equals(whole)


STATUS_TEXT = (
    "store_id,status,timestamp_utc\r\n"
    "1,active,2023-01-25 18:00:00.123 UTC\r\n"
    "\r\n"
    '"2",inactive,"2023-01-25T18:00:00Z"\r\n'
    "3,paused,2023-01-25 18:00:00\r\n"
    "4,active\r\n"
    '"5\r\nfive",active,2023-01-25T23:30:00+05:30\r\n'
    "6,active,2023-01-25T18:00:00.5-0100\r\n"
    "7,active,2023-02-29 00:00:00\r\n"
)


# Many tiny chunks per example: no per-example deadline on a busy machine.
@settings(max_examples=60, deadline=None)
@given(chunk_bytes=st.integers(1, 80))
def test_records_straddling_chunks_keep_their_line_numbers(chunk_bytes: int) -> None:
    valid, rejects = parse(Feed.STATUS, STATUS_TEXT, chunk_bytes=chunk_bytes)
    assert valid.select("store_id", "line").rows() == [
        ("1", 2),
        ("2", 4),
        ("5\r\nfive", 7),
        ("6", 9),
    ]
    assert rejects.rows() == [
        (5, "status 'paused' is not active/inactive", "3,paused,2023-01-25 18:00:00"),
        (6, "expected 3 fields, found 2", "4,active"),
        (10, "timestamp '2023-02-29 00:00:00' does not parse", "7,active,2023-02-29 00:00:00"),
    ]


def test_chunks_report_the_lines_they_consumed() -> None:
    chunks = chunks_of(Feed.STATUS, STATUS_TEXT, chunk_bytes=40)
    assert sum(chunk.lines for chunk in chunks) == STATUS_TEXT.count("\n")
    assert all(chunk.lines >= 0 for chunk in chunks)


def test_each_chunks_rejects_are_sorted_by_line() -> None:
    chunk = chunks_of(Feed.STATUS, STATUS_TEXT)[0]
    assert chunk.rejects["line"].is_sorted()
    assert chunk.rejects.schema == pl.Schema(
        {"line": pl.Int64(), "reason": pl.String(), "raw": pl.String()}
    )


def test_a_parsed_chunk_is_frozen() -> None:
    chunk = chunks_of(Feed.STATUS, STATUS_TEXT)[0]
    assert isinstance(chunk, ParsedChunk)
    with pytest.raises(FrozenInstanceError):
        chunk.lines = 0  # type: ignore[misc]


def test_source_size_of_a_path_and_of_a_stream(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"x" * 1234)
    assert source_size(path) == 1234
    assert source_size(str(path)) == 1234
    stream = io.BytesIO(b"y" * 100)
    stream.seek(30)
    assert source_size(stream) == 70
    assert stream.tell() == 30


def test_source_size_of_an_unseekable_stream_is_unknown() -> None:
    class Pipe(io.BytesIO):
        def seekable(self) -> bool:
            return False

    assert source_size(Pipe()) is None


def test_a_stream_is_read_from_where_it_stands_and_left_open() -> None:
    stream = io.BytesIO(b"junk\nstore_id,timezone_str\n1,UTC\n")
    stream.readline()
    [chunk] = list(parse_feed(Feed.TIMEZONES, stream))
    assert chunk.valid.rows() == [("1", "UTC", 2)]
    assert not stream.closed

"""A feed file to typed chunks: the entry point of the ingest layer.

Pure: a file goes in, typed columns and rejects come out; no database.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import polars as pl

from storemon.ingest.feeds import Feed, Layout, locate_columns
from storemon.ingest.reader import DEFAULT_CHUNK_BYTES, Source, read_records
from storemon.ingest.validate import validate


@dataclass(frozen=True)
class ParsedChunk:
    """``valid``: typed rows in file order (schema ``VALID_SCHEMAS[feed]``).
    ``rejects``: ``line``, ``reason``, ``raw``, sorted by line.
    ``lines``: physical lines this chunk consumed (header included)."""

    valid: pl.DataFrame
    rejects: pl.DataFrame
    lines: int


def parse_feed(
    feed: Feed, source: Source, *, chunk_bytes: int = DEFAULT_CHUNK_BYTES
) -> Iterator[ParsedChunk]:
    """Read ``source`` (a path or a binary file object) as ``feed``, one
    chunk of about ``chunk_bytes`` at a time.

    Raises ``IngestError`` (before yielding anything) when the file has no
    header or lacks a required column.

    >>> import io
    >>> data = b"store_id,timezone_str\\n1,Asia/Tokyo\\n2,Mars/Base\\n"
    >>> [chunk] = parse_feed(Feed.TIMEZONES, io.BytesIO(data))
    >>> chunk.valid.rows(), chunk.rejects.rows(), chunk.lines
    ([('1', 'Asia/Tokyo', 2)], [(3, "unknown timezone 'Mars/Base'", '2,Mars/Base')], 3)
    """
    layout: Layout | None = None

    def select(header: list[str]) -> Mapping[str, int]:
        nonlocal layout
        layout = locate_columns(feed, header)
        return layout.positions

    for chunk in read_records(source, select, chunk_bytes=chunk_bytes):
        assert layout is not None  # select ran before the first chunk
        valid, rejects = validate(feed, chunk.fields, labels=layout.labels)
        if rejects.height:
            raw = chunk.record_text(rejects["line"])
            rejects = rejects.with_columns(pl.Series("raw", raw, dtype=pl.String))
        if chunk.rejects.height:
            rejects = pl.concat([chunk.rejects, rejects]).sort("line")
        parsed = ParsedChunk(valid=valid, rejects=rejects, lines=chunk.lines)
        del chunk, valid, rejects  # the block's bytes go before the next is read
        yield parsed


def source_size(source: Source) -> int | None:
    """Bytes left to read from ``source``, when known (for progress bars)."""
    if isinstance(source, str | os.PathLike):
        return os.path.getsize(source)
    try:
        if not source.seekable():
            return None
        here = source.tell()
        end = source.seek(0, io.SEEK_END)
        source.seek(here)
    except (OSError, ValueError, AttributeError):
        return None
    return max(end - here, 0)

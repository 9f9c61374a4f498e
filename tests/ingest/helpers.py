"""Parse small CSV texts in tests."""

from __future__ import annotations

import io

import polars as pl

from storemon.ingest.feeds import Feed
from storemon.ingest.parse import ParsedChunk, parse_feed


def chunks_of(feed: Feed, text: str | bytes, *, chunk_bytes: int = 1 << 20) -> list[ParsedChunk]:
    data = text.encode() if isinstance(text, str) else text
    return list(parse_feed(feed, io.BytesIO(data), chunk_bytes=chunk_bytes))


def parse(
    feed: Feed, text: str | bytes, *, chunk_bytes: int = 1 << 20
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All valid rows and all rejects of ``text`` read as ``feed``."""
    chunks = chunks_of(feed, text, chunk_bytes=chunk_bytes)
    return pl.concat([c.valid for c in chunks]), pl.concat([c.rejects for c in chunks])


def reasons(rejects: pl.DataFrame) -> list[tuple[int, str]]:
    return list(zip(rejects["line"].to_list(), rejects["reason"].to_list(), strict=True))

"""Ingest layer: feed files to typed, validated columns (no database here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from storemon.ingest.errors import IngestError
from storemon.ingest.feeds import Feed

if TYPE_CHECKING:
    from storemon.ingest.parse import ParsedChunk, parse_feed, source_size

__all__ = ["Feed", "IngestError", "ParsedChunk", "parse_feed", "source_size"]


def __getattr__(name: str) -> Any:
    # The parser needs polars, which a command that only reads a timestamp
    # (``storemon report --as-of``, through ``storemon.ingest.timestamps``)
    # should not import.
    if name in ("ParsedChunk", "parse_feed", "source_size"):
        from storemon.ingest import parse

        return getattr(parse, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

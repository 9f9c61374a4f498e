"""Ingest layer: feed files to typed, validated columns (no database here)."""

from storemon.ingest.errors import IngestError
from storemon.ingest.feeds import Feed
from storemon.ingest.parse import ParsedChunk, parse_feed, source_size

__all__ = ["Feed", "IngestError", "ParsedChunk", "parse_feed", "source_size"]

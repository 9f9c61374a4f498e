"""Parsed chunks built by hand, shaped like ``storemon.ingest.parse`` output."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import polars as pl

from storemon.ingest.parse import ParsedChunk

REJECT_SCHEMA = {"line": pl.Int64, "reason": pl.Utf8, "raw": pl.Utf8}


def us(text: str) -> int:
    """Epoch microseconds of a UTC ``YYYY-MM-DD HH:MM[:SS]`` time."""
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def reject_rows(rejects: Sequence[tuple[int, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(list(rejects), schema=REJECT_SCHEMA, orient="row")


def _lines(first_line: int, rows: int, rejects: Sequence[tuple[int, str, str]]) -> list[int]:
    taken = {line for line, _, _ in rejects}
    lines: list[int] = []
    line = first_line
    while len(lines) < rows:
        if line not in taken:
            lines.append(line)
        line += 1
    return lines


def status_chunk(
    rows: Sequence[tuple[str, int, bool]],
    first_line: int = 2,
    rejects: Sequence[tuple[int, str, str]] = (),
) -> ParsedChunk:
    """Polls ``(store_id, ts_us, active)`` on consecutive lines from ``first_line``
    (skipping the lines of ``rejects``)."""
    lines = _lines(first_line, len(rows), rejects)
    valid = pl.DataFrame(
        {
            "store_id": [r[0] for r in rows],
            "ts_us": [r[1] for r in rows],
            "active": [r[2] for r in rows],
            "line": lines,
        },
        schema={"store_id": pl.Utf8, "ts_us": pl.Int64, "active": pl.Boolean, "line": pl.Int64},
    )
    return ParsedChunk(valid, reject_rows(rejects), len(rows) + len(rejects))


def hours_chunk(
    rows: Sequence[tuple[str, int, int, int]],
    first_line: int = 2,
    rejects: Sequence[tuple[int, str, str]] = (),
) -> ParsedChunk:
    """Business hours ``(store_id, day, start_s, end_s)``."""
    lines = _lines(first_line, len(rows), rejects)
    valid = pl.DataFrame(
        {
            "store_id": [r[0] for r in rows],
            "day": [r[1] for r in rows],
            "start_s": [r[2] for r in rows],
            "end_s": [r[3] for r in rows],
            "line": lines,
        },
        schema={
            "store_id": pl.Utf8,
            "day": pl.Int8,
            "start_s": pl.Int32,
            "end_s": pl.Int32,
            "line": pl.Int64,
        },
    )
    return ParsedChunk(valid, reject_rows(rejects), len(rows) + len(rejects))


def timezones_chunk(
    rows: Sequence[tuple[str, str]],
    first_line: int = 2,
    rejects: Sequence[tuple[int, str, str]] = (),
) -> ParsedChunk:
    """Timezones ``(store_id, timezone)``."""
    lines = _lines(first_line, len(rows), rejects)
    valid = pl.DataFrame(
        {"store_id": [r[0] for r in rows], "timezone": [r[1] for r in rows], "line": lines},
        schema={"store_id": pl.Utf8, "timezone": pl.Utf8, "line": pl.Int64},
    )
    return ParsedChunk(valid, reject_rows(rejects), len(rows) + len(rejects))

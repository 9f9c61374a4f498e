"""Rejected feed rows, kept per ingest so the user can read every one back."""

from __future__ import annotations

from typing import NamedTuple

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from storemon.data.dataset import insert_rows
from storemon.data.schema import rejects


class Reject(NamedTuple):
    line: int
    reason: str
    raw: str


def record_rejects(conn: Connection, ingest_id: int, frame: pl.DataFrame) -> None:
    """Keep the rejected rows (``line``, ``reason``, ``raw``) of an ingest;
    runs in the caller's transaction. A NUL character (which PostgreSQL
    cannot store in text) is kept as U+FFFD."""
    insert_rows(
        conn,
        "rejects",
        ("ingest_id", "line", "reason", "raw"),
        frame.select(
            pl.lit(ingest_id, dtype=pl.Int64).alias("ingest_id"),
            pl.col("line").cast(pl.Int64),
            pl.col("reason").cast(pl.Utf8).str.replace_all("\x00", "\ufffd", literal=True),
            pl.col("raw")
            .cast(pl.Utf8)
            .fill_null("")
            .str.replace_all("\x00", "\ufffd", literal=True),
        ),
    )


def list_rejects(
    conn: Connection, ingest_id: int, *, after_line: int = 0, limit: int | None = None
) -> list[Reject]:
    """Rejected rows of an ingest in line order, those after ``after_line``
    (pass the last line seen to page through)."""
    query = (
        sa.select(rejects.c.line, rejects.c.reason, rejects.c.raw)
        .where(rejects.c.ingest_id == ingest_id, rejects.c.line > after_line)
        .order_by(rejects.c.line)
        .limit(limit)
    )
    return [Reject(int(line), reason, raw) for line, reason, raw in conn.execute(query)]


def read_rejects(engine: Engine, ingest_id: int) -> list[Reject]:
    """Every rejected row of an ingest, in line order."""
    with engine.connect() as conn:
        return list_rejects(conn, ingest_id)

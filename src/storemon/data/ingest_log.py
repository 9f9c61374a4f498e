"""The ingest log: one ``ingests`` row per load (its rejected rows are in
:mod:`storemon.data.rejects`).

Writers run inside the caller's transaction and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storemon.data.schema import ingests
from storemon.data.types import as_utc

RUNNING, COMPLETE, FAILED = "running", "complete", "failed"
#: ``ingests.source`` holds this many characters; a longer name is cut.
SOURCE_LENGTH = 1024


@dataclass(frozen=True)
class IngestRecord:
    id: int
    feed: str
    source: str
    strict: bool
    status: str
    started_at: datetime
    finished_at: datetime | None
    rows_loaded: int
    rows_rejected: int
    error: str | None


def start_ingest(conn: Connection, feed: str, source: str, *, strict: bool) -> int:
    """Add a ``running`` ingest; returns its id."""
    result = conn.execute(
        sa.insert(ingests).values(
            feed=feed,
            source=source[:SOURCE_LENGTH],
            strict=strict,
            status=RUNNING,
            started_at=datetime.now(UTC),
            rows_loaded=0,
            rows_rejected=0,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def update_counts(conn: Connection, ingest_id: int, *, loaded: int, rejected: int) -> None:
    conn.execute(
        sa.update(ingests)
        .where(ingests.c.id == ingest_id)
        .values(rows_loaded=loaded, rows_rejected=rejected)
    )


def finish_ingest(
    conn: Connection,
    ingest_id: int,
    status: str,
    *,
    loaded: int,
    rejected: int,
    error: str | None = None,
) -> None:
    conn.execute(
        sa.update(ingests)
        .where(ingests.c.id == ingest_id)
        .values(
            status=status,
            finished_at=datetime.now(UTC),
            rows_loaded=loaded,
            rows_rejected=rejected,
            error=error,
        )
    )


def get_ingest(conn: Connection, ingest_id: int) -> IngestRecord | None:
    row = conn.execute(sa.select(ingests).where(ingests.c.id == ingest_id)).one_or_none()
    if row is None:
        return None
    return IngestRecord(
        id=int(row.id),
        feed=row.feed,
        source=row.source,
        strict=bool(row.strict),
        status=row.status,
        started_at=as_utc(row.started_at),
        finished_at=None if row.finished_at is None else as_utc(row.finished_at),
        rows_loaded=int(row.rows_loaded),
        rows_rejected=int(row.rows_rejected),
        error=row.error,
    )

"""Concurrent uploads that share new store ids, on every backend: every row
is loaded and no upload fails (MySQL deadlocked on the stores upsert)."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storemon.data.database import make_engine
from storemon.data.schema import business_hours, polls, stores
from storemon.ingest.service import IngestResult, ingest_feed

UPLOADS = 20
STORES = 30


def _files(tmp_path: Path) -> list[tuple[str, Path]]:
    """Half status, half hours uploads; each names every store, in its own
    order, so any two uploads insert the same new stores concurrently."""
    files = []
    ids = [f"shared-{n}" for n in range(STORES)]
    for upload in range(UPLOADS):
        order = random.Random(upload).sample(ids, len(ids))
        path = tmp_path / f"upload-{upload}.csv"
        if upload % 2:
            lines = ["store_id,dayOfWeek,start_time_local,end_time_local"]
            lines += [f"{i},{upload % 7},09:00:00,17:00:00" for i in order]
            files.append(("hours", path))
        else:
            lines = ["store_id,status,timestamp_utc"]
            lines += [f"{i},active,2026-01-01 00:{upload:02d}:00 UTC" for i in order]
            files.append(("status", path))
        path.write_text("\n".join(lines) + "\n")
    return files


def test_concurrent_uploads_with_shared_new_stores_all_load(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    files = _files(tmp_path)
    writer = make_engine(database_url, pool_size=UPLOADS, max_overflow=0)

    def upload(item: tuple[str, Path]) -> IngestResult:
        return ingest_feed(writer, item[0], item[1])

    try:
        with ThreadPoolExecutor(UPLOADS) as threads:
            results = list(threads.map(upload, files))
    finally:
        writer.dispose()

    assert [r.rejected for r in results] == [0] * UPLOADS
    with engine.connect() as connection:
        count = connection.execute(sa.select(sa.func.count()).select_from(stores)).scalar()
        polled = connection.execute(sa.select(sa.func.count()).select_from(polls)).scalar()
        hours = connection.execute(sa.select(sa.func.count()).select_from(business_hours)).scalar()
    assert count == STORES
    assert polled == STORES * (UPLOADS // 2)
    # Each hours upload replaces every store's week, so the last one wins.
    assert hours == STORES

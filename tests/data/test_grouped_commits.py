"""A big status load commits several chunks at a time, with the same result
as one commit per chunk; SQLite's write settings are the ingest's own."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storemon.data.database import checkpoint_in_background, make_engine, sqlite_bulk_writes
from storemon.data.migrate import migrate
from storemon.data.schema import rejects
from storemon.data.snapshot import reader_for
from storemon.ingest import service
from storemon.ingest.parse import ParsedChunk
from storemon.ingest.service import load_chunks

from .builders import status_chunk, us

BASE = us("2023-01-01 00:00:00")
SETTINGS = ("cache_size", "wal_autocheckpoint")
CHUNK_ROWS, CHUNKS = 20, 10


def _feed() -> Iterator[ParsedChunk]:
    """Chunks of a feed in time order: each polls every store once, and the
    last chunk repeats the first chunk's polls of store s0 with the other status."""
    line = 2
    for k in range(CHUNKS - 1):
        rows = [(f"s{i}", BASE + k * 3_600_000_000 + i, i % 2 == 0) for i in range(CHUNK_ROWS)]
        rejects = [(line + CHUNK_ROWS, "empty store_id", ",active,x")]
        yield status_chunk(rows, first_line=line, rejects=rejects)
        line += CHUNK_ROWS + 1
    yield status_chunk([("s0", BASE, False)], first_line=line)


def _state(database_url: str) -> tuple[dict[tuple[str, int], bool], int, int | None]:
    snapshot, state = reader_for(database_url).read_snapshot()
    ids = dict(zip(snapshot.stores.key.tolist(), snapshot.stores.store_id.tolist(), strict=True))
    polls = {
        (ids[key], ts): active
        for key, ts, active in zip(
            snapshot.polls.store_key.tolist(),
            snapshot.polls.ts_us.tolist(),
            snapshot.polls.active.tolist(),
            strict=True,
        )
    }
    return polls, state.version, snapshot.newest_poll_us()


def test_grouped_commits_load_what_chunk_commits_load(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    version = reader_for(database_url).read_snapshot()[1].version
    # Two chunks one by one, then groups of three chunks (60 polls).
    monkeypatch.setattr(service, "GROUP_AFTER_POLLS", 2 * CHUNK_ROWS)
    monkeypatch.setattr(service, "GROUP_POLLS", 3 * CHUNK_ROWS)

    result = load_chunks(engine, "status", _feed())

    polls, after, newest = _state(database_url)
    assert result.loaded == (CHUNKS - 1) * CHUNK_ROWS + 1
    assert result.rejected == CHUNKS - 1
    assert len(polls) == (CHUNKS - 1) * CHUNK_ROWS
    # The later row wins across the chunks of one commit.
    assert polls[("s0", BASE)] is False
    assert newest == BASE + (CHUNKS - 2) * 3_600_000_000 + CHUNK_ROWS - 1
    # Commits: chunks 1 and 2 alone, 3-5, 6-8, then 9 and 10 at the end.
    assert after == version + 5
    with engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count())
            .select_from(rejects)
            .where(rejects.c.ingest_id == result.ingest_id)
        ).scalar()
    assert count == CHUNKS - 1


def test_a_reload_in_groups_keeps_the_same_polls(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_chunks(engine, "status", _feed())
    before = _state(database_url)
    monkeypatch.setattr(service, "GROUP_AFTER_POLLS", 0)
    monkeypatch.setattr(service, "GROUP_POLLS", 4 * CHUNK_ROWS)

    again = load_chunks(engine, "status", _feed())

    polls, _, newest = _state(database_url)
    # The same polls (the first chunk's s0 poll is replaced again by the last).
    assert (polls, newest) == (before[0], before[2])
    assert again.loaded == (CHUNKS - 1) * CHUNK_ROWS + 1


def test_sqlite_bulk_settings_are_put_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bulk.db'}"
    migrate(url)
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None

            def settings() -> list[int]:
                return [raw.execute(f"PRAGMA {name}").fetchone()[0] for name in SETTINGS]

            before = settings()
            with sqlite_bulk_writes(conn):
                during = settings()
            after = settings()
        assert during != before
        assert after == before
    finally:
        engine.dispose()


def test_a_background_checkpoint_empties_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    url = f"sqlite:///{path}"
    migrate(url)
    engine = make_engine(url)
    try:
        load_chunks(engine, "status", [status_chunk([("a", BASE, True)])])
        checkpoint_in_background(engine)
        # A passive checkpoint leaves the WAL file but writes every frame back:
        # a second one finds nothing left to copy.
        deadline = time.monotonic() + 30
        while any(t.name == "storemon-checkpoint" for t in threading.enumerate()):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            busy, frames, copied = raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert busy == 0 and frames == copied
    finally:
        engine.dispose()

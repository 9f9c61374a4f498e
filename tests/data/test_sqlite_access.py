"""Two copies of SQLite never hold the same file open at once in one process."""

from __future__ import annotations

from pathlib import Path

import pytest

from storemon.data import snapshot
from storemon.data.database import make_engine
from storemon.data.migrate import migrate
from storemon.data.snapshot import read_snapshot
from storemon.ingest.service import load_chunks

from .builders import status_chunk, us

pytestmark = pytest.mark.sqlite


def _arrays(url: str) -> list[list[object]]:
    shot, state = read_snapshot(url)
    return [
        shot.stores.key.tolist(),
        shot.stores.store_id.tolist(),
        shot.stores.timezone.tolist(),
        shot.polls.store_key.tolist(),
        shot.polls.ts_us.tolist(),
        shot.polls.active.tolist(),
        [state.version, state.newest_poll_us],
    ]


def test_a_read_while_this_process_holds_a_sqlite_connection_uses_sqlite3_and_agrees(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    migrate(url)
    engine = make_engine(url)
    rows = [(f"s{i}", us("2023-01-24 10:00:00") + i, i % 2 == 0) for i in range(2000)]
    load_chunks(engine, "status", [status_chunk(rows)])
    through_adbc = _arrays(url)

    def no_adbc(*_: object) -> None:
        raise AssertionError("ADBC opened the file while sqlite3 had it open")

    monkeypatch.setattr(snapshot, "_adbc_transaction", no_adbc)
    try:
        with engine.connect():
            through_sqlite3 = _arrays(url)
    finally:
        engine.dispose()

    assert through_sqlite3 == through_adbc

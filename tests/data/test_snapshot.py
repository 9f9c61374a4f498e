"""Reading the engine's input back: complete, typed, and from one consistent state."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from storemon.data import snapshot as snapshot_module
from storemon.data.database import DatabaseError, SchemaNotCurrentError
from storemon.data.migrate import migrate
from storemon.data.snapshot import DatasetState, reader_for
from storemon.engine.model import END_OF_DAY, Snapshot
from storemon.ingest.parse import ParsedChunk
from storemon.ingest.service import load_chunks

from .builders import hours_chunk, status_chunk, timezones_chunk, us

T1, T2 = us("2023-01-24 10:00:00.000001"), us("2023-01-24 11:00:00")


def _load_example(engine: Engine) -> None:
    load_chunks(engine, "timezones", [timezones_chunk([("a", "Asia/Tokyo")])])
    load_chunks(engine, "hours", [hours_chunk([("a", 0, 0, END_OF_DAY), ("b", 6, 3600, 60)])])
    load_chunks(
        engine,
        "status",
        [status_chunk([("a", T1, True), ("b", T1, False), ("a", T2, False), ("c", T2, True)])],
    )


def test_a_snapshot_returns_everything_loaded_as_engine_arrays(
    engine: Engine, database_url: str
) -> None:
    _load_example(engine)

    snapshot, state = reader_for(database_url).read_snapshot()

    stores = snapshot.stores
    assert stores.key.dtype == np.int64 and stores.store_id.dtype == object
    by_key = dict(zip(stores.key.tolist(), stores.store_id.tolist(), strict=True))
    assert sorted(by_key.values()) == ["a", "b", "c"]
    zones = dict(zip(stores.store_id.tolist(), stores.timezone.tolist(), strict=True))
    assert zones == {"a": "Asia/Tokyo", "b": None, "c": None}

    polls = snapshot.polls
    assert polls.ts_us.dtype == np.int64 and polls.active.dtype == np.bool_
    assert sorted(
        zip(
            [by_key[k] for k in polls.store_key.tolist()],
            polls.ts_us.tolist(),
            polls.active.tolist(),
            strict=True,
        )
    ) == [("a", T1, True), ("a", T2, False), ("b", T1, False), ("c", T2, True)]

    hours = snapshot.hours
    assert hours.day.dtype == np.int64
    assert sorted(
        zip(
            [by_key[k] for k in hours.store_key.tolist()],
            hours.day.tolist(),
            hours.start_s.tolist(),
            hours.end_s.tolist(),
            strict=True,
        )
    ) == [("a", 0, 0, END_OF_DAY), ("b", 6, 3600, 60)]

    assert state.newest_poll_us == T2 == snapshot.newest_poll_us()
    assert state.version > 0


def test_a_snapshot_of_some_stores_has_only_their_rows(engine: Engine, database_url: str) -> None:
    _load_example(engine)

    snapshot, _ = reader_for(database_url).read_snapshot(["a", "unknown"])

    assert snapshot.stores.store_id.tolist() == ["a"]
    key = snapshot.stores.key[0]
    assert set(snapshot.polls.store_key.tolist()) == {key}
    assert len(snapshot.polls) == 2
    assert snapshot.hours.store_key.tolist() == [key]


def test_a_filter_over_many_stores_gives_the_same_rows_as_one_in_sql(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load_example(engine)
    in_sql, _ = reader_for(database_url).read_snapshot(["b", "c"])

    monkeypatch.setattr("storemon.data.snapshot.STORE_FILTER_IN_SQL", 1)
    in_memory, _ = reader_for(database_url).read_snapshot(["b", "c"])

    def rows(snapshot: Snapshot) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]]]:
        polls, hours = snapshot.polls, snapshot.hours
        return sorted(
            zip(polls.store_key.tolist(), polls.ts_us.tolist(), polls.active.tolist(), strict=True)
        ), sorted(
            zip(hours.store_key.tolist(), hours.day.tolist(), hours.start_s.tolist(), strict=True)
        )

    assert rows(in_sql) == rows(in_memory)
    assert len(in_sql.polls) == 2 and len(in_sql.hours) == 1


def test_an_empty_database_gives_an_empty_snapshot(database_url: str) -> None:
    snapshot, state = reader_for(database_url).read_snapshot()

    assert (len(snapshot.stores), len(snapshot.polls), len(snapshot.hours)) == (0, 0, 0)
    assert state == DatasetState(version=0, newest_poll_us=None)


def test_a_database_without_the_schema_asks_for_a_migration(blank_database_url: str) -> None:
    with pytest.raises(SchemaNotCurrentError, match="migrate"):
        reader_for(blank_database_url).read_snapshot()


@pytest.mark.postgresql
def test_an_unreachable_server_is_one_clear_error() -> None:
    with pytest.raises(
        DatabaseError, match=r"^cannot open database postgresql\+psycopg://u:\*\*\*@"
    ):
        reader_for("postgresql://u:pw@127.0.0.1:1/nothing?connect_timeout=2").read_snapshot()


def _counts(snapshot: Snapshot, state: DatasetState) -> tuple[int, int | None, int]:
    return len(snapshot.polls), snapshot.newest_poll_us(), state.version


def test_a_snapshot_does_not_see_an_open_load_transaction(
    engine: Engine, database_url: str
) -> None:
    load_chunks(engine, "status", [status_chunk([("a", T1, True)])])
    before = reader_for(database_url).read_snapshot()
    seen: list[tuple[Snapshot, DatasetState]] = []

    def feed() -> Iterator[ParsedChunk]:
        yield status_chunk([("a", T2, False), ("b", T2, True)], 2)
        # The strict load's transaction has written the first chunk by now.
        seen.append(reader_for(database_url).read_snapshot())
        yield status_chunk([("c", T2, True)], 4)

    load_chunks(engine, "status", feed(), strict=True)

    assert _counts(*seen[0]) == _counts(*before) == (1, T1, before[1].version)
    assert _counts(*reader_for(database_url).read_snapshot()) == (4, T2, before[1].version + 1)


def test_snapshots_taken_during_a_load_always_see_whole_chunks(
    engine: Engine, database_url: str
) -> None:
    chunk_rows, chunks = 200, 30
    base = us("2023-01-01 00:00:00")
    start_version = reader_for(database_url).read_snapshot()[1].version
    # After k committed chunks: k * chunk_rows polls, the newest poll of
    # chunk k, and k more versions. Any other combination is a torn read.
    valid_states = {(0, None, start_version)} | {
        (k * chunk_rows, base + k * chunk_rows - 1, start_version + k) for k in range(1, chunks + 1)
    }

    def feed() -> Iterator[ParsedChunk]:
        for k in range(chunks):
            rows = [
                (f"s{i % 17}", base + k * chunk_rows + i, i % 3 == 0) for i in range(chunk_rows)
            ]
            yield status_chunk(rows, first_line=2 + k * chunk_rows)

    loader = threading.Thread(target=load_chunks, args=(engine, "status", feed()))
    loader.start()
    observed = []
    while loader.is_alive():
        observed.append(_counts(*reader_for(database_url).read_snapshot()))
    loader.join()
    observed.append(_counts(*reader_for(database_url).read_snapshot()))

    assert set(observed) <= valid_states
    assert observed[-1] == (
        chunks * chunk_rows,
        base + chunks * chunk_rows - 1,
        start_version + chunks,
    )


def test_a_sqlite_read_waits_for_a_writer_that_holds_the_file(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    migrate(f"sqlite:///{path}")
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('pragma journal_mode=delete')\n"  # a lock readers must wait out
            "c.execute('begin exclusive')\n"
            "print('locked', flush=True)\n"
            "time.sleep(0.5)\n"
            "c.execute('commit')\n",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        started = time.monotonic()
        snapshot, _ = reader_for(f"sqlite:///{path}").read_snapshot()
        assert time.monotonic() - started >= 0.3  # it waited instead of failing
        assert len(snapshot.polls) == 0


@pytest.mark.parametrize("database_url", ["mysql"], indirect=True)
def test_a_mysql_read_cut_short_by_the_server_falls_back_to_plain_rows(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _load_example(engine)
    grouped, _ = reader_for(database_url).read_snapshot()
    # The server cuts every group's text at 10 bytes: the counts disagree.
    monkeypatch.setattr(snapshot_module._MySQLTransaction, "GROUP_TEXT_LIMIT", 10)
    plain, _ = reader_for(database_url).read_snapshot()

    for got in (grouped, plain):
        assert got.polls.ts_us.tolist() == [T1, T2, T1, T2]
        assert got.polls.active.tolist() == [True, False, False, True]
        assert len(got.hours) == 2


def _sorted_polls(shot: Snapshot) -> list[tuple[int, int, bool]]:
    polls = shot.polls
    return sorted(
        zip(polls.store_key.tolist(), polls.ts_us.tolist(), polls.active.tolist(), strict=True)
    )


def _hour_rows(shot: Snapshot) -> list[tuple[int, ...]]:
    hours = shot.hours
    columns = (hours.store_key, hours.day, hours.start_s, hours.end_s)
    return sorted(zip(*(column.tolist() for column in columns), strict=True))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_both_sqlite_readers_read_the_same_snapshot(engine: Engine, database_url: str) -> None:
    _load_example(engine)
    before_1970 = us("1969-12-31 23:59:59.999999")
    load_chunks(engine, "status", [status_chunk([("d", before_1970, True)])])

    packed, packed_state = reader_for(database_url).read_snapshot()
    adbc, adbc_state = reader_for(database_url, sqlite_adbc=True).read_snapshot()

    assert _sorted_polls(packed) == _sorted_polls(adbc)
    assert (before_1970, True) in [(ts, active) for _, ts, active in _sorted_polls(packed)]
    assert _hour_rows(packed) == _hour_rows(adbc)
    assert packed_state == adbc_state
    assert reader_for(database_url, sqlite_adbc=True).revision() == (
        reader_for(database_url).revision()
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_server_reads_sqlite_while_its_pool_holds_connections_open(
    engine: Engine, database_url: str
) -> None:
    """The server's reader uses the same SQLite library as its pool, so reads
    and open pooled connections coexist in one process."""
    from storemon.bootstrap import bootstrap
    from storemon.data.snapshot import SQLiteReader
    from storemon.settings import Settings

    _load_example(engine)
    services = bootstrap(Settings(database_url=database_url), server=True)
    try:
        assert isinstance(services.reader, SQLiteReader) and not services.reader.adbc
        with services.engine.connect() as held:
            shot, _ = services.reader.read_snapshot()
            assert len(shot.polls) == 4
            held.exec_driver_sql("select count(*) from polls").scalar()
    finally:
        services.close()

"""A snapshot read in store-key ranges at once (``storemon.data.parts``)
equals the one read in a single transaction, and parts that saw different
versions of the data are read again in one."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from sqlalchemy.engine import Engine

from storemon.data.parts import key_ranges, merge_parts, read_in_parts
from storemon.data.snapshot import (
    DatasetState,
    SnapshotColumns,
    SnapshotReader,
    Span,
    Transaction,
    reader_for,
)
from storemon.engine import Snapshot
from storemon.engine.model import END_OF_DAY
from storemon.engine.report import HOUR_US, WEEK_US
from storemon.ingest.feeds import Feed
from storemon.ingest.service import ingest_feed, load_chunks
from storemon.reports.frames import report_frame_of
from storemon.reports.rendering import render_csv
from storemon.reports.service import ReportRequest, build_report

from .builders import hours_chunk, status_chunk, timezones_chunk, us

START = us("2023-01-01 00:00")
STORES = [f"s{i:02d}" for i in range(30)]


def _load(engine: Engine) -> None:
    """Thirty stores with a week and a half of polls at random gaps, some
    with hours, a timezone, special hours and groups."""
    rng = np.random.default_rng(7)
    rows = []
    for i, store in enumerate(STORES):
        ts = START + int(rng.integers(0, 2 * HOUR_US))
        while ts < START + WEEK_US + 4 * 24 * HOUR_US:
            rows.append((store, ts, bool(rng.random() < 0.7)))
            ts += int(rng.integers(HOUR_US // 3, 9 * HOUR_US)) * (1 + i % 3)
    zones = [
        (store, "Asia/Tokyo" if i % 2 else "America/Chicago") for i, store in enumerate(STORES)
    ]
    load_chunks(engine, "timezones", [timezones_chunk(zones[::3])])
    hours = [(store, i % 7, 3_600 * (i % 5), END_OF_DAY) for i, store in enumerate(STORES)]
    load_chunks(engine, "hours", [hours_chunk(hours[::2])])
    load_chunks(engine, "status", [status_chunk(rows)])
    special = "".join(f"{store},2023-01-05,,\n" for store in STORES[1::4])
    ingest_feed(
        engine,
        Feed.SPECIAL_HOURS,
        io.BytesIO(f"store_id,date,start_time_local,end_time_local\n{special}".encode()),
    )
    groups = "".join(f"{store},g{i % 3}\n" for i, store in enumerate(STORES[::2]))
    ingest_feed(engine, Feed.GROUPS, io.BytesIO(f"store_id,group\n{groups}".encode()))


def _in_parts(reader: SnapshotReader, parts: int) -> SnapshotReader:
    reader.read_parts, reader.part_min_stores = parts, 1
    return reader


def _readers(url: str) -> list[SnapshotReader]:
    readers = [reader_for(url)]
    if url.startswith("sqlite"):
        readers.append(reader_for(url, sqlite_adbc=True))
    return readers


def _rows(snapshot: Snapshot) -> dict[str, list[tuple[object, ...]]]:
    """Every table of the snapshot as sorted rows (PostgreSQL returns rows
    in no set order)."""

    def rows(*columns: np.ndarray) -> list[tuple[object, ...]]:
        return sorted(zip(*(column.tolist() for column in columns), strict=True))

    s = snapshot
    return {
        "stores": rows(s.stores.key, s.stores.store_id, s.stores.timezone.astype(str)),
        "polls": rows(s.polls.store_key, s.polls.ts_us, s.polls.active),
        "hours": rows(s.hours.store_key, s.hours.day, s.hours.start_s, s.hours.end_s),
        "special": rows(s.special.store_key, s.special.date, s.special.start_s, s.special.end_s),
        "groups": rows(s.groups.store_id, s.groups.group),
    }


def test_key_ranges_cover_every_key_once() -> None:
    ranges = key_ranges(1, 14_442, 4, 2_000)
    assert len(ranges) == 4
    # Open-ended: a store added after the bounds were read is in a part too.
    assert (ranges[0][0], ranges[-1][1]) == (-(1 << 63), (1 << 63) - 1)
    assert all(ranges[i][1] + 1 == ranges[i + 1][0] for i in range(3))
    assert len(key_ranges(1, 3_000, 4, 2_000)) == 1  # too few stores to split
    assert len(key_ranges(5, 5, 4, 1)) == 1


def test_a_read_in_parts_equals_the_read_in_one(engine: Engine, database_url: str) -> None:
    _load(engine)
    for reader in _readers(database_url):
        whole, state = reader.read_snapshot(groups=True)
        assert len(whole.polls) > 1_000
        for parts in (2, 3, 7):
            parted = read_in_parts(_in_parts(reader, parts), None, groups=True)
            assert parted is not None
            snapshot, parted_state = parted
            assert parted_state == state
            assert _rows(snapshot) == _rows(whole)
            assert snapshot.stores.key.tolist() == whole.stores.key.tolist()

        # The report read (a span, chosen from the state) gives the same CSV.
        for as_of in (None, START + WEEK_US + 30 * HOUR_US + 17):
            request = ReportRequest(as_of)
            _in_parts(reader, 1)
            one = build_report(reader, request)
            _in_parts(reader, 3)
            three = build_report(reader, request)
            assert render_csv(report_frame_of(three.report, request)) == render_csv(
                report_frame_of(one.report, request)
            )
        # The span read, in three parts and in one.
        now = state.newest_poll_us
        assert now is not None
        week, _ = reader.read_snapshot(span=Span(now - WEEK_US, now))
        _in_parts(reader, 1)
        assert _rows(reader.read_snapshot(span=Span(now - WEEK_US, now))[0]) == _rows(week)


def test_a_small_or_empty_database_is_read_in_one(database_url: str) -> None:
    for reader in _readers(database_url):
        reader.read_parts = 4  # part_min_stores keeps its default
        assert read_in_parts(reader, None) is None
        snapshot, _ = reader.read_snapshot()
        assert len(snapshot.stores) == 0


def _columns(keys: list[int], version: int) -> tuple[SnapshotColumns, DatasetState]:
    ints = np.asarray(keys, dtype=np.int64)
    ids = np.asarray([f"s{key}" for key in keys], dtype=object)
    empty = np.zeros(0, dtype=np.int64)
    columns = SnapshotColumns(
        keys=ints,
        ids=ids,
        zones=np.full(len(keys), None, dtype=object),
        polls=[ints, ints * 10, np.ones(len(keys), dtype=np.int64)],
        hours=[empty] * 4,
        special=[empty] * 4,
        member_ids=np.zeros(0, dtype=object),
        member_groups=np.zeros(0, dtype=object),
        groups=False,
    )
    return columns, DatasetState(version, 30)


def test_merged_parts_keep_key_order_and_need_one_version() -> None:
    merged = merge_parts([_columns([1, 2], 5), _columns([3], 5)])
    assert merged is not None
    snapshot, state = merged
    assert snapshot.stores.key.tolist() == [1, 2, 3]
    assert snapshot.polls.ts_us.tolist() == [10, 20, 30]
    assert state == DatasetState(5, 30)
    assert merge_parts([_columns([1, 2], 5), _columns([3], 6)]) is None


class _WriteAfterFirstPart:
    """Wraps a reader's transactions: once the first part has begun reading
    (its snapshot taken), a poll is committed, and the other parts start only
    then, so they see a newer version than the first."""

    def __init__(self, reader: SnapshotReader, engine: Engine) -> None:
        self.reader, self.engine = reader, engine
        self.opened = 0
        self.written = threading.Event()
        self._lock = threading.Lock()
        self._plain = reader.transaction

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        with self._lock:
            self.opened += 1
            index = self.opened
        if index > 2:  # the other parts (1 is the bounds query)
            assert self.written.wait(30)
        with self._plain() as read:
            if index == 2:
                read.query("select version from dataset_state")
                load_chunks(self.engine, "status", [status_chunk([("s00", START + 5, True)])])
                self.written.set()
            yield read


def test_parts_that_saw_different_versions_are_read_again_in_one(
    engine: Engine, database_url: str
) -> None:
    _load(engine)
    # SQLite: the sqlite3 reader, the copy of SQLite the writer uses (ADBC's
    # own copy must not have the file open while another copy writes).
    reader = _in_parts(reader_for(database_url), 2)
    before, _ = reader.read_snapshot()
    hook = _WriteAfterFirstPart(reader, engine)
    reader.transaction = hook.transaction  # type: ignore[method-assign]

    snapshot, state = reader.read_snapshot()

    assert hook.opened == 4  # bounds, two parts, then the whole read again
    assert len(snapshot.polls) == len(before.polls) + 1
    _in_parts(reader, 1)
    reader.transaction = hook._plain  # type: ignore[method-assign]
    again, again_state = reader.read_snapshot()
    assert again_state == state
    assert _rows(snapshot) == _rows(again)


@pytest.mark.parametrize("adbc", [False, True])
def test_parts_of_a_database_without_the_schema_fail_as_one_read(
    blank_database_url: str, adbc: bool
) -> None:
    from storemon.data.database import SchemaNotCurrentError

    if adbc and not blank_database_url.startswith("sqlite"):
        pytest.skip("ADBC is chosen for SQLite only")
    reader = _in_parts(reader_for(blank_database_url, sqlite_adbc=adbc), 2)
    with pytest.raises(SchemaNotCurrentError):
        reader.read_snapshot()

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

from storemon.data.parts import key_ranges, merge_snapshots, read_in_parts
from storemon.data.snapshot import SnapshotReader, Span, Transaction, reader_for
from storemon.engine import Hours, Polls, Snapshot, Stores
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

        # The span read, in three parts and in one.
        now = state.newest_poll_us
        assert now is not None
        week = read_in_parts(reader, Span(now - WEEK_US, now))
        assert week is not None
        assert _rows(week[0]) == _rows(reader.read_snapshot(span=Span(now - WEEK_US, now))[0])

        # Reports (each part computed on its own for the section 5 report,
        # on the parts joined for the others) give the same CSV.
        day = START // (24 * HOUR_US)
        requests = [
            ReportRequest(as_of, kind=kind, **dates)  # type: ignore[arg-type]
            for as_of in (None, START + WEEK_US + 30 * HOUR_US + 17)
            for kind, dates in (
                ("stores", {}),
                ("groups", {}),
                ("daily", {"first_date": day + 2, "last_date": day + 9}),
            )
        ]
        requests.append(ReportRequest(max_gap_us=3 * HOUR_US, interpolation="previous"))
        for request in requests:
            one = build_report(_in_parts(reader, 1), request)
            three = build_report(_in_parts(reader, 3), request)
            assert render_csv(report_frame_of(three.report, request)) == render_csv(
                report_frame_of(one.report, request)
            )
            assert (three.state, three.first_poll_us) == (one.state, one.first_poll_us)


class _CountedTransactions:
    """Wraps a reader: counts the transactions opened through it."""

    def __init__(self, reader: SnapshotReader) -> None:
        self.reader, self.opened = reader, 0

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        self.opened += 1
        with self.reader.__class__.transaction(self.reader) as read:
            yield read


def test_a_small_or_empty_database_is_read_in_one_part_in_one_transaction(
    engine: Engine, database_url: str
) -> None:
    for loaded in (False, True):
        if loaded:
            _load(engine)  # 30 stores: under part_min_stores
        for reader in _readers(database_url):
            reader.read_parts = 4  # part_min_stores keeps its default
            counted = _CountedTransactions(reader)
            reader.transaction = counted.transaction  # type: ignore[method-assign]
            parted = read_in_parts(reader, None)
            assert parted is not None
            assert counted.opened == 1
            snapshot, state = parted
            whole, whole_state = reader.read_snapshot()
            assert state == whole_state
            assert len(snapshot.stores) == len(whole.stores) == (30 if loaded else 0)
            assert snapshot.polls.ts_us.tolist() == whole.polls.ts_us.tolist()


def test_merged_snapshots_keep_store_key_order() -> None:
    def part(keys: list[int]) -> Snapshot:
        return Snapshot(
            Stores.build(keys, [f"s{key}" for key in keys]),
            Polls.build(keys, [key * 10 for key in keys], [True] * len(keys)),
            Hours.build(keys, [0] * len(keys), [0] * len(keys), [60] * len(keys)),
        )

    merged = merge_snapshots([part([2, 1]), part([3])])
    assert merged.stores.key.tolist() == [1, 2, 3]
    assert merged.stores.store_id.tolist() == ["s1", "s2", "s3"]
    assert merged.polls.ts_us.tolist() == [20, 10, 30]
    assert merged.hours.store_key.tolist() == [2, 1, 3]


class _WriteAfterFirstPart:
    """Wraps a reader's transactions: once the first part has begun reading
    (its snapshot taken), a poll is committed, and the other parts start only
    then, so they see a newer version than the first."""

    def __init__(self, reader: SnapshotReader, engine: Engine, poll_us: int) -> None:
        self.reader, self.engine, self.poll_us = reader, engine, poll_us
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
                load_chunks(self.engine, "status", [status_chunk([("s00", self.poll_us, True)])])
                self.written.set()
            yield read


@pytest.mark.parametrize("kind", ["stores", "groups"])
def test_parts_that_saw_different_versions_are_read_again_in_one(
    engine: Engine, database_url: str, kind: str
) -> None:
    _load(engine)
    # SQLite: the sqlite3 reader, the copy of SQLite the writer uses (ADBC's
    # own copy must not have the file open while another copy writes).
    reader = _in_parts(reader_for(database_url), 2)
    before, _ = reader.read_snapshot()
    plain = reader.transaction
    hook = _WriteAfterFirstPart(reader, engine, START + 5)
    reader.transaction = hook.transaction  # type: ignore[method-assign]
    assert read_in_parts(reader, None) is None  # the parts disagree
    assert hook.opened == 3  # the bounds, then two parts

    # A report then reads in one transaction, which sees the new poll.
    reader.transaction = plain  # type: ignore[method-assign]
    hook = _WriteAfterFirstPart(reader, engine, START + 6)
    reader.transaction = hook.transaction  # type: ignore[method-assign]
    request = ReportRequest(kind=kind)  # type: ignore[arg-type]
    built = build_report(reader, request)
    assert hook.opened == 4
    reader.transaction = plain  # type: ignore[method-assign]
    after, state = reader.read_snapshot(groups=True)
    assert len(after.polls) == len(before.polls) + 2
    assert built.state == state
    expected = build_report(_in_parts(reader, 1), request)
    assert render_csv(report_frame_of(built.report, request)) == render_csv(
        report_frame_of(expected.report, request)
    )


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

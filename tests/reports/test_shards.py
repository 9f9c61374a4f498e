"""Sharded reports, one shard job after another in this process, on every
database: the assembled report is the whole report byte for byte, a
failing shard is tried again, data that changes between shards restarts
the report, and an expired shard is taken over."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storemon.data import reports, shards
from storemon.data.reports import ReportRecord, ReportStatus
from storemon.data.schema import report_shards
from storemon.data.snapshot import DatasetState, SnapshotReader, Transaction, reader_for
from storemon.engine import Snapshot
from storemon.ingest.service import ingest_feed
from storemon.reports.frame import decode_frame
from storemon.reports.job import run_report
from storemon.reports.rendering import render_csv
from storemon.reports.shards import recover_shards, run_shard, split

from .shard_data import REQUESTS, load_shard_data, new_report, whole

LEASE = timedelta(seconds=30)
PER_SHARD = 4
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


class Queue:
    """Collects what the jobs send, to run it here."""

    def __init__(self) -> None:
        self.reports: list[str] = []
        self.shards: list[tuple[str, int]] = []

    def submit(self, report_id: str) -> None:
        self.reports.append(report_id)

    def submit_shards(self, report_id: str, numbers: Sequence[int]) -> None:
        self.shards.extend((report_id, n) for n in numbers)


class FailingReader(SnapshotReader):
    """The real reader, except that its first ``failures`` reads of the
    first shard (the one from store key 0) raise."""

    def __init__(self, url: str, failures: int) -> None:
        self._real = reader_for(url)
        super().__init__(self._real.url)
        self.failures = failures

    def transaction(self) -> AbstractContextManager[Transaction]:
        return self._real.transaction()

    def read_snapshot(  # type: ignore[override]
        self, *args: Any, key_range: tuple[int, int] | None = None, **kwargs: Any
    ) -> tuple[Snapshot, DatasetState]:
        if key_range is not None and key_range[0] == 0 and self.failures > 0:
            self.failures -= 1
            raise RuntimeError("the disk is on fire")
        return self._real.read_snapshot(*args, key_range=key_range, **kwargs)


def start(
    engine: Engine, reader: SnapshotReader, report_id: str, queue: Queue, attempts: int = 3
) -> str:
    def in_shards(record: ReportRecord, owner: str) -> bool:
        return split(engine, record, owner, PER_SHARD, LEASE, queue, attempts)

    return run_report(engine, reader, report_id, LEASE, in_shards)


def drain(engine: Engine, reader: SnapshotReader, queue: Queue, attempts: int = 3) -> list[str]:
    outcomes = []
    while queue.shards or queue.reports:
        if queue.reports:
            outcomes.append(start(engine, reader, queue.reports.pop(0), queue, attempts))
            continue
        report_id, number = queue.shards.pop(0)
        outcomes.append(run_shard(engine, reader, report_id, number, LEASE, attempts, queue))
    return outcomes


def stored_frame(engine: Engine, report_id: str) -> bytes:
    with engine.connect() as connection:
        record = reports.get(connection, report_id)
        frame = reports.read_frame(connection, report_id)
    assert record is not None and record.status is ReportStatus.complete, record
    assert frame is not None
    return frame


@pytest.fixture
def loaded(database_url: str, tmp_path: Path) -> str:
    load_shard_data(database_url, tmp_path)
    return database_url


def test_every_kind_assembled_from_shards_is_the_whole_report_byte_for_byte(
    loaded: str, engine: Engine
) -> None:
    reader = reader_for(loaded)
    for name, request in REQUESTS.items():
        queue = Queue()
        report_id = new_report(loaded, request)
        first = start(engine, reader, report_id, queue)
        sharded = request.store_ids is None
        assert first == ("Split" if sharded else "Complete"), name
        if sharded:
            assert len(queue.shards) == 8  # 30 stores with polls, 4 per shard
        outcomes = drain(engine, reader, queue)

        frame = stored_frame(engine, report_id)
        expected_frame, expected_csv = whole(loaded, request)
        assert render_csv(decode_frame(frame)) == expected_csv, name
        assert frame == expected_frame, name
        if sharded:
            assert outcomes.count("Assembled") == 1
            assert outcomes.count("Staged") == 7
    with engine.connect() as connection:
        left = connection.execute(sa.select(sa.func.count()).select_from(report_shards))
        assert left.scalar() == 0


def test_a_failing_shard_is_tried_again_and_the_report_still_completes(
    loaded: str, engine: Engine
) -> None:
    request = REQUESTS["stores"]
    queue = Queue()
    report_id = new_report(loaded, request)
    assert start(engine, reader_for(loaded), report_id, queue) == "Split"

    failing = FailingReader(loaded, failures=2)
    outcomes = drain(engine, failing, queue, attempts=3)

    assert outcomes.count("Retried") == 2
    assert outcomes[-1] == "Assembled"
    assert render_csv(decode_frame(stored_frame(engine, report_id))) == whole(loaded, request)[1]


def test_a_shard_failing_on_its_last_attempt_fails_the_report_with_a_short_reason(
    loaded: str, engine: Engine
) -> None:
    queue = Queue()
    report_id = new_report(loaded, REQUESTS["stores"])
    assert start(engine, reader_for(loaded), report_id, queue) == "Split"

    outcomes = drain(engine, FailingReader(loaded, failures=2), queue, attempts=2)

    assert outcomes == ["Retried"] + ["Staged"] * 7 + ["Failed"]
    with engine.connect() as connection:
        record = reports.get(connection, report_id)
        assert shards.count(connection, report_id) == 0
    assert record is not None and record.status is ReportStatus.failed
    assert record.error == "shard 1 of 8 failed 2 times: RuntimeError: the disk is on fire"


def test_data_that_changes_between_shards_restarts_the_report_on_the_new_data(
    loaded: str, engine: Engine, tmp_path: Path
) -> None:
    request = REQUESTS["stores"]
    reader = reader_for(loaded)
    queue = Queue()
    report_id = new_report(loaded, request)
    assert start(engine, reader, report_id, queue) == "Split"
    report_of, number = queue.shards.pop(0)
    assert run_shard(engine, reader, report_of, number, LEASE, 3, queue) == "Staged"
    late = tmp_path / "late.csv"
    late.write_text("store_id,status,timestamp_utc\nsilent-1,active,2023-01-25 18:30:00 UTC\n")
    assert ingest_feed(engine, "status", late).rejected == 0

    report_of, number = queue.shards.pop(0)
    assert run_shard(engine, reader, report_of, number, LEASE, 3, queue) == "Restarted"
    assert queue.reports == [report_id]
    outcomes = drain(engine, reader, queue)

    assert outcomes[0] == "Split"
    assert "Assembled" in outcomes
    frame = stored_frame(engine, report_id)
    assert render_csv(decode_frame(frame)) == whole(loaded, request)[1]
    assert b"silent-1" in render_csv(decode_frame(frame))
    with engine.connect() as connection:
        record = reports.get(connection, report_id)
    assert record is not None and record.attempts == 2


def test_data_that_keeps_changing_gets_the_report_computed_whole_on_its_last_attempt(
    loaded: str, engine: Engine, tmp_path: Path
) -> None:
    request = REQUESTS["stores"]
    reader = reader_for(loaded)
    queue = Queue()
    report_id = new_report(loaded, request)
    late = tmp_path / "late.csv"
    outcomes = []
    for minute in (30, 40):  # an ingest lands while each sharded attempt runs
        assert start(engine, reader, report_id, queue) == "Split"
        outcomes.append(run_shard(engine, reader, *queue.shards.pop(0), LEASE, 3, queue))
        late.write_text(
            f"store_id,status,timestamp_utc\nsilent-1,active,2023-01-25 18:{minute}:00 UTC\n"
        )
        assert ingest_feed(engine, "status", late).rejected == 0
        outcomes.append(run_shard(engine, reader, *queue.shards.pop(0), LEASE, 3, queue))
        assert queue.reports == [report_id]
        queue = Queue()

    assert outcomes == ["Staged", "Restarted"] * 2
    assert start(engine, reader, report_id, queue) == "Complete"
    assert queue.shards == []
    with engine.connect() as connection:
        record = reports.get(connection, report_id)
        assert shards.count(connection, report_id) == 0
    assert record is not None and record.attempts == 3
    assert render_csv(decode_frame(stored_frame(engine, report_id))) == whole(loaded, request)[1]


def test_pending_shards_behind_a_running_one_are_not_sent_again(
    loaded: str, engine: Engine
) -> None:
    queue = Queue()
    report_id = new_report(loaded, REQUESTS["stores"])
    assert start(engine, reader_for(loaded), report_id, queue) == "Split"
    with engine.begin() as connection:  # a worker is on shard 0; the rest wait past their lease
        assert shards.claim(connection, report_id, 0, "alive:2:b", timedelta(hours=1))
        connection.execute(
            report_shards.update()
            .where(report_shards.c.status == shards.PENDING)
            .values(lease_expires_at=LONG_AGO)
        )

    waiting = Queue()
    assert recover_shards(engine, 3, waiting, LEASE) == 0
    assert waiting.shards == []
    with engine.connect() as connection:
        pending = [s for s in shards.of_report(connection, report_id) if s.shard > 0]
    assert {s.status for s in pending} == {shards.PENDING}
    assert all(s.lease_expires_at is not None for s in pending)
    assert min(s.lease_expires_at for s in pending if s.lease_expires_at) > datetime.now(UTC)

    with engine.begin() as connection:  # its worker is gone too: the report has stalled
        connection.execute(
            report_shards.update()
            .where(report_shards.c.report_id == report_id)
            .values(lease_expires_at=LONG_AGO)
        )
    stalled = Queue()
    assert recover_shards(engine, 3, stalled, LEASE) == 8
    assert sorted(stalled.shards) == [(report_id, n) for n in range(8)]


def test_a_shard_whose_holder_stopped_is_taken_over_after_its_lease(
    loaded: str, engine: Engine
) -> None:
    reader = reader_for(loaded)
    queue = Queue()
    report_id = new_report(loaded, REQUESTS["groups"])
    assert start(engine, reader, report_id, queue) == "Split"
    report_of, number = queue.shards.pop(0)
    with engine.begin() as connection:  # a worker claims it and dies
        assert shards.claim(connection, report_of, number, "dead:1:a", timedelta(0))
        assert reports.get(connection, report_id) is not None
    still_alive = Queue()
    with engine.begin() as connection:
        assert shards.claim(connection, report_id, 1, "alive:2:b", timedelta(hours=1))
    queue.shards.remove((report_id, 1))

    assert recover_shards(engine, 3, still_alive, LEASE) >= 1

    assert (report_id, 0) in still_alive.shards
    assert (report_id, 1) not in still_alive.shards
    with engine.connect() as connection:
        taken = shards.get(connection, report_id, 0)
    assert taken is not None and taken.status == shards.PENDING and taken.attempts == 1


def test_a_report_running_in_shards_is_not_swept_as_a_whole(loaded: str, engine: Engine) -> None:
    queue = Queue()
    report_id = new_report(loaded, REQUESTS["stores"])
    assert start(engine, reader_for(loaded), report_id, queue) == "Split"

    with engine.connect() as connection:
        record = reports.get(connection, report_id)
        expired = reports.expired(connection)

    assert record is not None and record.status is ReportStatus.running
    assert record.lease_owner is None
    assert report_id not in [r.id for r in expired]


def test_a_deleted_report_takes_its_shards_with_it(loaded: str, engine: Engine) -> None:
    queue = Queue()
    report_id = new_report(loaded, REQUESTS["daily"])
    assert start(engine, reader_for(loaded), report_id, queue) == "Split"
    with engine.begin() as connection:
        assert reports.delete(connection, [report_id]) == 1

    assert set(drain(engine, reader_for(loaded), queue)) == {"Missing"}

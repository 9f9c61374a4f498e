"""Report jobs as rows: the repository for ``reports`` and ``report_frames``.

Every state change is one conditional UPDATE, so two workers (or a restarted
server and a worker) can never both run or both finish the same report.
Callers own the transaction: these functions never commit.

An unfinished report carries a lease: the process holding it (the server
whose pool queued it, or the process running it) and until when. The holder
renews it while alive; a report whose lease expired is taken over by any
server's sweeper. Lease times are the clocks of the processes: keep the
hosts' clocks in step (NTP), well within the lease.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from storemon.data.database import SQLITE_BEGIN
from storemon.data.schema import (
    DATASET_STATE_ID,
    REPORT_QUEUE_LOCK,
    dataset_state,
    locks,
    report_frames,
    report_shards,
    reports,
)
from storemon.data.types import as_utc, in_batches


class ReportStatus(StrEnum):
    pending = "Pending"
    running = "Running"
    complete = "Complete"
    failed = "Failed"


UNFINISHED = (ReportStatus.pending, ReportStatus.running)


@dataclass(frozen=True)
class ReportParams:
    as_of_us: int | None = None
    interpolation: str = "nearest"
    store_ids: tuple[str, ...] | None = None
    #: ``stores``, ``daily`` or ``groups`` (SPEC 5, 8.3, 8.4).
    kind: str = "stores"
    max_gap_us: int | None = None
    #: The daily report's local dates, as days since 1970-01-01.
    first_date: int | None = None
    last_date: int | None = None

    def options(self) -> dict[str, int | str] | None:
        """The section 8 parameters that are set (None: none is): what the
        ``options`` column holds."""
        given = {
            "kind": None if self.kind == "stores" else self.kind,
            "max_gap_us": self.max_gap_us,
            "first_date": self.first_date,
            "last_date": self.last_date,
        }
        options = {name: value for name, value in given.items() if value is not None}
        return options or None

    @classmethod
    def with_options(
        cls,
        as_of_us: int | None,
        interpolation: str,
        store_ids: tuple[str, ...] | None,
        options: dict[str, Any] | None,
    ) -> ReportParams:
        return cls(as_of_us, interpolation, store_ids, **(options or {}))

    def key(self) -> str:
        """Equal for equal parameters (store order and repeats do not matter).
        Without section 8 parameters it is what it always was, so reports
        stored before them are still found."""
        ids = sorted(set(self.store_ids)) if self.store_ids is not None else None
        values: list[Any] = [self.as_of_us, self.interpolation, ids]
        options = self.options()
        if options is not None:
            values.append(options)
        text = json.dumps(values, separators=(",", ":"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ReportRecord:
    id: str
    status: ReportStatus
    params: ReportParams
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    row_count: int | None
    now_us: int | None
    data_version: int | None
    attempts: int
    #: Size of the stored frame.
    frame_bytes: int | None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def new_report_id() -> str:
    """32 hex digits: the creation time in microseconds, then 72 random bits.
    Ids sort by creation even where ``created_at`` keeps only whole seconds
    (MySQL's DATETIME)."""
    return f"{time.time_ns() // 1000:014x}{secrets.token_hex(9)}"


@contextmanager
def read_then_write(engine: Engine) -> Iterator[Connection]:
    """A transaction that reads, then writes on what it read. On SQLite it
    takes the write lock at BEGIN: a deferred transaction that has read
    cannot upgrade once another writer committed (it fails at once, without
    waiting). Elsewhere it is READ COMMITTED, so that after taking a lock
    row it reads what the previous holder committed (MySQL's default
    REPEATABLE READ could read an older snapshot)."""
    options: dict[str, str] = {SQLITE_BEGIN: "IMMEDIATE"}
    if engine.dialect.name != "sqlite":
        options["isolation_level"] = "READ COMMITTED"
    with engine.connect().execution_options(**options) as connection, connection.begin():
        yield connection


def lock_report_queue(connection: Connection) -> None:
    """Wait for, and hold until the transaction ends, the lock of the report
    queue: triggers run one at a time, so the check for an equal report and
    the count against the queue limit stay true until the insert commits.
    (SQLite needs no row lock: :func:`read_then_write` holds the database's
    write lock.)"""
    connection.execute(
        sa.select(locks.c.name).where(locks.c.name == REPORT_QUEUE_LOCK).with_for_update()
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


_COLUMNS = (
    reports.c.id,
    reports.c.status,
    reports.c.as_of_us,
    reports.c.interpolation,
    reports.c.store_ids,
    reports.c.options,
    reports.c.created_at,
    reports.c.started_at,
    reports.c.finished_at,
    reports.c.error,
    reports.c.row_count,
    reports.c.now_us,
    reports.c.data_version,
    reports.c.attempts,
    reports.c.frame_bytes,
    reports.c.lease_owner,
    reports.c.lease_expires_at,
)


def _record(row: sa.Row) -> ReportRecord:  # type: ignore[type-arg]
    ids = json.loads(row.store_ids) if row.store_ids is not None else None
    return ReportRecord(
        id=row.id,
        status=ReportStatus(row.status),
        params=ReportParams.with_options(
            row.as_of_us,
            row.interpolation,
            None if ids is None else tuple(ids),
            json.loads(row.options) if row.options is not None else None,
        ),
        created_at=as_utc(row.created_at),
        started_at=None if row.started_at is None else as_utc(row.started_at),
        finished_at=None if row.finished_at is None else as_utc(row.finished_at),
        error=row.error,
        row_count=row.row_count,
        now_us=row.now_us,
        data_version=row.data_version,
        attempts=row.attempts,
        frame_bytes=row.frame_bytes,
        lease_owner=row.lease_owner,
        lease_expires_at=None if row.lease_expires_at is None else as_utc(row.lease_expires_at),
    )


def create(
    connection: Connection,
    params: ReportParams,
    data_version: int,
    owner: str | None = None,
    lease: timedelta = timedelta(0),
) -> ReportRecord:
    """A new Pending report, asked for while the data is at ``data_version``,
    held by ``owner`` for ``lease`` (no owner: any sweeper may take it)."""
    now = _utcnow()
    record = ReportRecord(
        id=new_report_id(),
        status=ReportStatus.pending,
        params=params,
        created_at=now,
        started_at=None,
        finished_at=None,
        error=None,
        row_count=None,
        now_us=None,
        data_version=data_version,
        attempts=0,
        frame_bytes=None,
        lease_owner=owner,
        lease_expires_at=now + lease,
    )
    connection.execute(
        reports.insert().values(
            id=record.id,
            status=record.status.value,
            as_of_us=params.as_of_us,
            interpolation=params.interpolation,
            store_ids=json.dumps(list(params.store_ids)) if params.store_ids is not None else None,
            options=None if (options := params.options()) is None else json.dumps(options),
            params_key=params.key(),
            created_at=record.created_at,
            data_version=data_version,
            attempts=0,
            lease_owner=owner,
            lease_expires_at=record.lease_expires_at,
        )
    )
    return record


# Built once: the status poll is the hottest query of the API.
_GET = sa.select(*_COLUMNS).where(reports.c.id == sa.bindparam("report_id"))
_READ_FRAME = sa.select(report_frames.c.frame).where(
    report_frames.c.report_id == sa.bindparam("report_id")
)


def get(connection: Connection, report_id: str) -> ReportRecord | None:
    row = connection.execute(_GET, {"report_id": report_id}).first()
    return _record(row) if row is not None else None


def find_same(
    connection: Connection, params: ReportParams, data_version: int
) -> ReportRecord | None:
    """A report with these parameters that is queued, running or complete
    on exactly this data version: triggering again would compute the same.

    ``data_version`` of an unfinished report is the version it was asked for
    on; the job sets it to the version of the snapshot it read (never older),
    so a report that ran on newer data matches requests on that data.
    """
    query = (
        sa.select(*_COLUMNS)
        .where(reports.c.params_key == params.key())
        .where(reports.c.data_version == data_version)
        .where(reports.c.status.in_([s.value for s in (*UNFINISHED, ReportStatus.complete)]))
        .order_by(reports.c.created_at.desc(), reports.c.id.desc())
        .limit(1)
    )
    row = connection.execute(query).first()
    return _record(row) if row is not None else None


def list_reports(
    connection: Connection,
    status: ReportStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ReportRecord], int]:
    """Newest first, with the total count for pagination."""
    query = sa.select(*_COLUMNS)
    count = sa.select(sa.func.count()).select_from(reports)
    if status is not None:
        query = query.where(reports.c.status == status.value)
        count = count.where(reports.c.status == status.value)
    rows = connection.execute(
        query.order_by(reports.c.created_at.desc(), reports.c.id.desc()).limit(limit).offset(offset)
    ).all()
    return [_record(row) for row in rows], int(connection.execute(count).scalar_one())


def count_unfinished(connection: Connection) -> int:
    query = sa.select(sa.func.count()).select_from(reports)
    query = query.where(reports.c.status.in_([s.value for s in UNFINISHED]))
    return int(connection.execute(query).scalar_one())


def unfinished(connection: Connection) -> list[ReportRecord]:
    query = sa.select(*_COLUMNS).where(reports.c.status.in_([s.value for s in UNFINISHED]))
    query = query.order_by(reports.c.created_at, reports.c.id)
    return [_record(row) for row in connection.execute(query)]


def _lease_expired(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(reports.c.lease_expires_at.is_(None), reports.c.lease_expires_at < now)


def _sharded() -> sa.ColumnElement[bool]:
    return sa.exists().where(report_shards.c.report_id == reports.c.id)


def expired(connection: Connection, now: datetime | None = None) -> list[ReportRecord]:
    """Unfinished reports whose lease has expired: their holder went away.
    A report running in shards is not one of them: its shards carry the
    leases (``storemon.data.shards``)."""
    query = (
        sa.select(*_COLUMNS)
        .where(reports.c.status.in_([s.value for s in UNFINISHED]))
        .where(_lease_expired(now or _utcnow()))
        .where(~_sharded())
        .order_by(reports.c.created_at, reports.c.id)
    )
    return [_record(row) for row in connection.execute(query)]


def renew(connection: Connection, owner: str, lease: timedelta, report_ids: Sequence[str]) -> int:
    """Extend ``owner``'s leases on ``report_ids`` to ``lease`` from now;
    returns how many. A lease taken over meanwhile is no longer ``owner``'s
    and stays as it is."""
    renewed = 0
    for batch in in_batches(report_ids):
        query = (
            reports.update()
            .where(reports.c.id.in_(batch))
            .where(reports.c.lease_owner == owner)
            .where(reports.c.status.in_([s.value for s in UNFINISHED]))
            .values(lease_expires_at=_utcnow() + lease)
        )
        renewed += int(connection.execute(query).rowcount)
    return renewed


def _move(
    connection: Connection,
    report_id: str,
    from_statuses: tuple[ReportStatus, ...],
    **values: object,
) -> bool:
    """Set ``values`` on the report if it is in one of ``from_statuses``: one
    conditional UPDATE, so of two racing processes exactly one wins."""
    result = connection.execute(
        reports.update()
        .where(reports.c.id == report_id)
        .where(reports.c.status.in_([s.value for s in from_statuses]))
        .values(**values)
    )
    return result.rowcount == 1


def claim(
    connection: Connection,
    report_id: str,
    owner: str | None = None,
    lease: timedelta = timedelta(0),
) -> bool:
    """Pending -> Running, counting the attempt, held by ``owner`` for
    ``lease``; False if someone else has it."""
    now = _utcnow()
    return _move(
        connection,
        report_id,
        (ReportStatus.pending,),
        status=ReportStatus.running.value,
        started_at=now,
        attempts=reports.c.attempts + 1,
        lease_owner=owner,
        lease_expires_at=now + lease,
    )


def requeue(
    connection: Connection,
    report_id: str,
    owner: str | None = None,
    lease: timedelta = timedelta(0),
    *,
    only_expired: bool = False,
) -> bool:
    """Back to Pending, held by ``owner`` (the process that queues it again)
    for ``lease``. ``only_expired``: only if its lease has expired, so of two
    sweepers exactly one takes it over."""
    now = _utcnow()
    query = (
        reports.update()
        .where(reports.c.id == report_id)
        .where(reports.c.status.in_([s.value for s in UNFINISHED]))
        .values(
            status=ReportStatus.pending.value,
            started_at=None,
            lease_owner=owner,
            lease_expires_at=now + lease,
        )
    )
    if only_expired:
        query = query.where(_lease_expired(now))
    return connection.execute(query).rowcount == 1


def hand_to_shards(connection: Connection, report_id: str, owner: str) -> bool:
    """A Running report ``owner`` has just split: its shards hold the
    leases from now on, so the report's own is cleared."""
    result = connection.execute(
        reports.update()
        .where(reports.c.id == report_id)
        .where(reports.c.status == ReportStatus.running.value)
        .where(reports.c.lease_owner == owner)
        .values(lease_owner=None, lease_expires_at=None)
    )
    return result.rowcount == 1


def complete(
    connection: Connection,
    report_id: str,
    frame: bytes,
    row_count: int,
    now_us: int,
    data_version: int,
) -> bool:
    """Running -> Complete with its encoded frame; False if it was no longer
    Running (deleted, or failed meanwhile)."""
    moved = _move(
        connection,
        report_id,
        (ReportStatus.running,),
        status=ReportStatus.complete.value,
        finished_at=_utcnow(),
        lease_owner=None,
        lease_expires_at=None,
        row_count=row_count,
        now_us=now_us,
        data_version=data_version,
        frame_bytes=len(frame),
    )
    if moved:
        connection.execute(report_frames.insert().values(report_id=report_id, frame=frame))
    return moved


def fail(connection: Connection, report_id: str, error: str, *, only_expired: bool = False) -> bool:
    """Pending or Running -> Failed with a reason (``only_expired``: only if
    its lease has expired)."""
    query = (
        reports.update()
        .where(reports.c.id == report_id)
        .where(reports.c.status.in_([s.value for s in UNFINISHED]))
        .values(
            status=ReportStatus.failed.value,
            finished_at=_utcnow(),
            error=error[:2000],
            lease_owner=None,
            lease_expires_at=None,
        )
    )
    if only_expired:
        query = query.where(_lease_expired(_utcnow()))
    return connection.execute(query).rowcount == 1


def read_frame(connection: Connection, report_id: str) -> bytes | None:
    """The encoded frame of a Complete report (None for any other)."""
    value = connection.execute(_READ_FRAME, {"report_id": report_id}).scalar()
    return bytes(value) if value is not None else None


def delete(connection: Connection, report_ids: Sequence[str]) -> int:
    """Delete reports and their frames; returns how many reports were deleted.
    A job still running one finds it gone and stores nothing."""
    deleted = 0
    for batch in in_batches(report_ids):
        connection.execute(report_frames.delete().where(report_frames.c.report_id.in_(batch)))
        connection.execute(report_shards.delete().where(report_shards.c.report_id.in_(batch)))
        result = connection.execute(reports.delete().where(reports.c.id.in_(batch)))
        deleted += int(result.rowcount)
    return deleted


def finished_before(connection: Connection, age: timedelta) -> list[str]:
    """Ids of reports that finished (Complete or Failed) more than ``age`` ago."""
    query = (
        sa.select(reports.c.id)
        .where(reports.c.status.in_([ReportStatus.complete.value, ReportStatus.failed.value]))
        .where(reports.c.finished_at < _utcnow() - age)
    )
    return list(connection.execute(query).scalars())


def prune(connection: Connection, age: timedelta) -> int:
    """Delete reports that finished more than ``age`` ago; returns how many."""
    return delete(connection, finished_before(connection, age))


def data_version(connection: Connection) -> int:
    """The dataset version now (0 before anything was loaded)."""
    query = sa.select(dataset_state.c.version).where(dataset_state.c.id == DATASET_STATE_ID)
    return int(connection.execute(query).scalar() or 0)

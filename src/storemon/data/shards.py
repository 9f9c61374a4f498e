"""Report shards as rows: the repository for ``report_shards``.

A report split across workers has one row per contiguous range of store
keys. Each row carries the ``now`` and dataset version every shard of the
report must compute on, a lease (the same rule as a report's: an owner, an
expiry, renewed while alive, taken over once expired) and, once done, the
shard's rows as an encoded frame. Every state change is one conditional
UPDATE; callers own the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storemon.data.schema import dataset_state, report_shards, reports, stores
from storemon.data.types import as_utc

PENDING, RUNNING, COMPLETE = "Pending", "Running", "Complete"
UNFINISHED = (PENDING, RUNNING)

#: The last shard reaches the largest store key there can be, so a store
#: added after the split still falls in a shard (its change of the dataset
#: version restarts the report anyway).
LAST_KEY = 2**63 - 1


@dataclass(frozen=True)
class ShardRecord:
    report_id: str
    shard: int
    first_key: int
    last_key: int
    now_us: int
    data_version: int
    status: str
    attempts: int
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    row_count: int | None = None


@dataclass(frozen=True)
class Pinned:
    """What every shard of a report computes on: ``now`` and the dataset
    version (None: no polls at all)."""

    now_us: int | None
    data_version: int


_COLUMNS = (
    report_shards.c.report_id,
    report_shards.c.shard,
    report_shards.c.first_key,
    report_shards.c.last_key,
    report_shards.c.now_us,
    report_shards.c.data_version,
    report_shards.c.status,
    report_shards.c.attempts,
    report_shards.c.lease_owner,
    report_shards.c.lease_expires_at,
    report_shards.c.started_at,
    report_shards.c.finished_at,
    report_shards.c.row_count,
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _record(row: sa.Row) -> ShardRecord:  # type: ignore[type-arg]
    def moment(value: datetime | None) -> datetime | None:
        return None if value is None else as_utc(value)

    return ShardRecord(
        report_id=row.report_id,
        shard=row.shard,
        first_key=row.first_key,
        last_key=row.last_key,
        now_us=row.now_us,
        data_version=row.data_version,
        status=row.status,
        attempts=row.attempts,
        lease_owner=row.lease_owner,
        lease_expires_at=moment(row.lease_expires_at),
        started_at=moment(row.started_at),
        finished_at=moment(row.finished_at),
        row_count=row.row_count,
    )


def _one(report_id: str, shard: int) -> sa.ColumnElement[bool]:
    return sa.and_(report_shards.c.report_id == report_id, report_shards.c.shard == shard)


def pin(connection: Connection, as_of_us: int | None) -> Pinned:
    """``now`` (``as_of_us``, else the newest poll) and the dataset version,
    read together from the one state row."""
    row = connection.execute(
        sa.select(dataset_state.c.version, dataset_state.c.newest_poll_us)
    ).first()
    version = 0 if row is None else int(row.version)
    newest = None if row is None else row.newest_poll_us
    return Pinned(as_of_us if as_of_us is not None else newest, version)


def boundaries(connection: Connection, now_us: int, stores_per_shard: int) -> list[int]:
    """The first store key of each shard: every ``stores_per_shard``-th
    store, in key order, among the stores with a poll at or before
    ``now_us`` (the only ones a report has rows for). One short list back,
    whatever the number of stores."""
    numbered = (
        sa.select(
            stores.c.store_key,
            sa.func.row_number().over(order_by=stores.c.store_key).label("n"),
        )
        .where(stores.c.first_poll_us <= now_us)
        .subquery()
    )
    query = (
        sa.select(numbered.c.store_key)
        .where((numbered.c.n - 1) % stores_per_shard == 0)
        .order_by(numbered.c.store_key)
    )
    return [int(key) for key in connection.execute(query).scalars()]


def create(
    connection: Connection,
    report_id: str,
    firsts: Sequence[int],
    pinned: Pinned,
    lease: timedelta,
) -> int:
    """One Pending shard per first key (ranges run up to the next first key;
    the first from 0, the last to :data:`LAST_KEY`), waiting in the broker:
    nobody holds them, and a sweeper sends a shard again whenever its lease
    expires before it is claimed. Returns how many."""
    assert pinned.now_us is not None
    expires = _utcnow() + lease
    lasts = [key - 1 for key in firsts[1:]] + [LAST_KEY]
    rows = [
        {
            "report_id": report_id,
            "shard": number,
            "first_key": 0 if number == 0 else first,
            "last_key": last,
            "now_us": pinned.now_us,
            "data_version": pinned.data_version,
            "status": PENDING,
            "attempts": 0,
            "lease_expires_at": expires,
        }
        for number, (first, last) in enumerate(zip(firsts, lasts, strict=True))
    ]
    connection.execute(report_shards.insert(), rows)
    return len(rows)


def get(connection: Connection, report_id: str, shard: int) -> ShardRecord | None:
    row = connection.execute(sa.select(*_COLUMNS).where(_one(report_id, shard))).first()
    return None if row is None else _record(row)


def of_report(connection: Connection, report_id: str) -> list[ShardRecord]:
    query = sa.select(*_COLUMNS).where(report_shards.c.report_id == report_id)
    return [_record(row) for row in connection.execute(query.order_by(report_shards.c.shard))]


def claim(connection: Connection, report_id: str, shard: int, owner: str, lease: timedelta) -> bool:
    """Pending -> Running, counting the attempt, held by ``owner``; False
    when someone else has it (or it is done, or gone)."""
    now = _utcnow()
    result = connection.execute(
        report_shards.update()
        .where(_one(report_id, shard))
        .where(report_shards.c.status == PENDING)
        .values(
            status=RUNNING,
            attempts=report_shards.c.attempts + 1,
            lease_owner=owner,
            lease_expires_at=now + lease,
            started_at=now,
        )
    )
    return result.rowcount == 1


def renew(
    connection: Connection, owner: str, lease: timedelta, held: Sequence[tuple[str, int]]
) -> int:
    """Extend ``owner``'s leases on the Running shards ``held``; a shard
    taken over meanwhile is left as it is."""
    renewed = 0
    for report_id, shard in held:
        result = connection.execute(
            report_shards.update()
            .where(_one(report_id, shard))
            .where(report_shards.c.lease_owner == owner)
            .where(report_shards.c.status == RUNNING)
            .values(lease_expires_at=_utcnow() + lease)
        )
        renewed += int(result.rowcount)
    return renewed


def complete(
    connection: Connection,
    held: ShardRecord,
    owner: str,
    rows: bytes,
    row_count: int,
) -> bool:
    """Running -> Complete with its rows, if ``owner`` still holds exactly
    this shard (same range of the same split); False otherwise: a shard
    taken over, or a report split again, keeps the other result."""
    result = connection.execute(
        report_shards.update()
        .where(_one(held.report_id, held.shard))
        .where(report_shards.c.status == RUNNING)
        .where(report_shards.c.lease_owner == owner)
        .where(report_shards.c.data_version == held.data_version)
        .where(report_shards.c.first_key == held.first_key)
        .values(
            status=COMPLETE,
            lease_owner=None,
            lease_expires_at=None,
            finished_at=_utcnow(),
            row_count=row_count,
            rows=rows,
        )
    )
    return result.rowcount == 1


def requeue(
    connection: Connection,
    report_id: str,
    shard: int,
    lease: timedelta,
    *,
    owner: str | None = None,
    only_expired: bool = False,
) -> bool:
    """Back to Pending, to be sent again (a failed attempt by ``owner``, or
    with ``only_expired`` a shard whose holder went away)."""
    now = _utcnow()
    query = (
        report_shards.update()
        .where(_one(report_id, shard))
        .where(report_shards.c.status.in_(UNFINISHED))
        .values(status=PENDING, lease_owner=None, lease_expires_at=now + lease, started_at=None)
    )
    if owner is not None:
        query = query.where(report_shards.c.lease_owner == owner)
    if only_expired:
        query = query.where(_lease_expired(now))
    return connection.execute(query).rowcount == 1


def moving(connection: Connection, report_id: str, now: datetime) -> bool:
    """Whether a shard of the report is Running under a live lease: its
    shards are being worked through, so a Pending one is waiting its turn."""
    query = (
        sa.select(sa.func.count())
        .select_from(report_shards)
        .where(report_shards.c.report_id == report_id)
        .where(report_shards.c.status == RUNNING)
        .where(~_lease_expired(now))
    )
    return int(connection.execute(query).scalar_one()) > 0


def postpone(
    connection: Connection, report_id: str, shard: int, lease: timedelta, now: datetime
) -> bool:
    """Give a Pending shard whose lease expired another lease, unsent."""
    query = (
        report_shards.update()
        .where(_one(report_id, shard))
        .where(report_shards.c.status == PENDING)
        .where(_lease_expired(now))
        .values(lease_expires_at=now + lease)
    )
    return connection.execute(query).rowcount == 1


def _lease_expired(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(
        report_shards.c.lease_expires_at.is_(None), report_shards.c.lease_expires_at < now
    )


def expired(connection: Connection, now: datetime | None = None) -> list[ShardRecord]:
    """Unfinished shards whose lease expired: never claimed in time (the
    message was lost, or waits behind others) or their holder went away."""
    query = (
        sa.select(*_COLUMNS)
        .where(report_shards.c.status.in_(UNFINISHED))
        .where(_lease_expired(now or _utcnow()))
        .order_by(report_shards.c.report_id, report_shards.c.shard)
    )
    return [_record(row) for row in connection.execute(query)]


def remaining(connection: Connection, report_id: str) -> int:
    """Shards of the report not yet Complete."""
    query = (
        sa.select(sa.func.count())
        .select_from(report_shards)
        .where(report_shards.c.report_id == report_id)
        .where(report_shards.c.status != COMPLETE)
    )
    return int(connection.execute(query).scalar_one())


def count(connection: Connection, report_id: str) -> int:
    query = sa.select(sa.func.count()).select_from(report_shards)
    return int(connection.execute(query.where(report_shards.c.report_id == report_id)).scalar_one())


def staged(connection: Connection, report_id: str) -> list[bytes]:
    """The rows of every Complete shard, in shard order."""
    query = (
        sa.select(report_shards.c.rows)
        .where(report_shards.c.report_id == report_id)
        .where(report_shards.c.status == COMPLETE)
        .order_by(report_shards.c.shard)
    )
    return [bytes(value) for value in connection.execute(query).scalars()]


def delete(connection: Connection, report_ids: Sequence[str]) -> None:
    """The staging rows of these reports (done, failed, split again or deleted)."""
    if report_ids:
        connection.execute(report_shards.delete().where(report_shards.c.report_id.in_(report_ids)))


def lock_report(connection: Connection, report_id: str) -> str | None:
    """Wait for and hold (until the transaction ends) the report's row; its
    status (None: deleted). Every change that looks at all the shards of a
    report together (the last one assembling, a failure, a new split) holds
    it, so such changes run one at a time. (SQLite: the caller's
    ``read_then_write`` already holds the database's write lock.)"""
    query = sa.select(reports.c.status).where(reports.c.id == report_id).with_for_update()
    value = connection.execute(query).scalar()
    return None if value is None else str(value)

"""Reading one store, or a page of stores, for the API (the report reads
everything at once through :mod:`storemon.data.snapshot` instead).

Every function runs in the caller's connection and only reads. A text that
is not a store id as stored (:func:`storemon.store_ids.is_store_id`: trimmed,
1 to 255 characters, no NUL, which PostgreSQL refuses as a parameter) is
reported as unknown without a query.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storemon.data.rejects import Reject
from storemon.data.schema import (
    DATASET_STATE_ID,
    business_hours,
    dataset_state,
    polls,
    rejects,
    special_hours,
    stores,
)
from storemon.engine.model import CLOSED, Hours, Polls, SpecialHours
from storemon.store_ids import MAX_STORE_ID_CHARS, is_store_id


@dataclass(frozen=True)
class StoreListing:
    store_id: str
    #: The stored timezone; None when the store has no timezone row.
    timezone: str | None
    polls: int


@dataclass(frozen=True)
class StoreDetail:
    store_id: str
    timezone: str | None
    polls: int
    first_poll_us: int | None
    last_poll_us: int | None
    #: Weekly rows ``(day, start_s, end_s)`` sorted; empty means open 24/7.
    hours: list[tuple[int, int, int]]


@dataclass(frozen=True)
class StoreHistory:
    """What the engine needs to lay out one store's time line."""

    store_id: str
    timezone: str | None
    polls: Polls
    hours: Hours
    #: The special rows on local dates that can touch the span.
    special: SpecialHours


def _store_row(conn: Connection, store_id: str) -> tuple[int, str | None] | None:
    """``(store_key, timezone)`` of a store; None if unknown."""
    if not is_store_id(store_id):
        return None
    query = sa.select(stores.c.store_key, stores.c.timezone).where(stores.c.store_id == store_id)
    row = conn.execute(query).one_or_none()
    return None if row is None else (int(row.store_key), row.timezone)


def store_exists(conn: Connection, store_id: str) -> bool:
    return _store_row(conn, store_id) is not None


def store_key(conn: Connection, store_id: str) -> int | None:
    """The key of a store; None if unknown."""
    row = _store_row(conn, store_id)
    return None if row is None else row[0]


def _prefix_filter(prefix: str) -> sa.ColumnElement[bool]:
    # LIKE can use an index; SQLite's LIKE ignores ASCII case, so the substr
    # comparison keeps the match exact (store ids are opaque) on every backend.
    return sa.and_(
        stores.c.store_id.startswith(prefix, autoescape=True),
        sa.func.substr(stores.c.store_id, 1, len(prefix)) == prefix,
    )


def search_stores(
    conn: Connection, prefix: str, limit: int, offset: int = 0
) -> tuple[list[StoreListing], int]:
    """Stores whose ``store_id`` starts with ``prefix`` (case-sensitive), in
    ``store_id`` order, with how many match in all."""
    if "\x00" in prefix or len(prefix) > MAX_STORE_ID_CHARS:
        return [], 0
    where = _prefix_filter(prefix) if prefix else sa.true()
    total = conn.execute(sa.select(sa.func.count()).select_from(stores).where(where)).scalar_one()
    page = conn.execute(
        sa.select(stores.c.store_key, stores.c.store_id, stores.c.timezone)
        .where(where)
        .order_by(stores.c.store_id)
        .limit(limit)
        .offset(offset)
    ).all()
    counts = _poll_counts(conn, [row.store_key for row in page])
    items = [StoreListing(row.store_id, row.timezone, counts.get(row.store_key, 0)) for row in page]
    return items, int(total)


def _poll_counts(conn: Connection, keys: Sequence[int]) -> dict[int, int]:
    if not keys:
        return {}
    query = (
        sa.select(polls.c.store_key, sa.func.count())
        .where(polls.c.store_key.in_(keys))
        .group_by(polls.c.store_key)
    )
    return {int(key): int(count) for key, count in conn.execute(query)}


def _hours_rows(conn: Connection, store_key: int) -> list[tuple[int, int, int]]:
    query = (
        sa.select(business_hours.c.day, business_hours.c.start_s, business_hours.c.end_s)
        .where(business_hours.c.store_key == store_key)
        .order_by(business_hours.c.day, business_hours.c.start_s, business_hours.c.end_s)
    )
    return [(int(day), int(start), int(end)) for day, start, end in conn.execute(query)]


def store_detail(conn: Connection, store_id: str) -> StoreDetail | None:
    """Poll count and range, timezone and weekly hours of one store; None if unknown."""
    store = _store_row(conn, store_id)
    if store is None:
        return None
    key, timezone = store
    count, first, last = conn.execute(
        sa.select(sa.func.count(), sa.func.min(polls.c.ts_us), sa.func.max(polls.c.ts_us)).where(
            polls.c.store_key == key
        )
    ).one()
    return StoreDetail(
        store_id=store_id,
        timezone=timezone,
        polls=int(count),
        first_poll_us=None if first is None else int(first),
        last_poll_us=None if last is None else int(last),
        hours=_hours_rows(conn, key),
    )


_NO_HOURS = Hours.build([], [], [], [])


def store_history(
    conn: Connection, store_id: str, start_us: int, end_us: int
) -> StoreHistory | None:
    """The polls and hours of one store that decide its time line over
    ``[start_us, end_us]``, read by primary key; None if the store is unknown.

    Polls after ``end_us`` are left out, as the report leaves out polls after
    its ``now``. Of the polls before ``start_us`` only the last one can decide
    a moment in the span, under either interpolation.
    """
    store = _store_row(conn, store_id)
    if store is None:
        return None
    key, timezone = store
    last_before = (
        sa.select(sa.func.max(polls.c.ts_us))
        .where(polls.c.store_key == key, polls.c.ts_us < start_us)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(polls.c.ts_us, polls.c.active)
        .where(
            polls.c.store_key == key,
            polls.c.ts_us >= sa.func.coalesce(last_before, start_us),
            polls.c.ts_us <= end_us,
        )
        .order_by(polls.c.ts_us)
    ).all()
    hours = _hours_rows(conn, key)
    return StoreHistory(
        store_id=store_id,
        timezone=timezone,
        polls=Polls.build(
            [key] * len(rows), [row.ts_us for row in rows], [bool(row.active) for row in rows]
        ),
        hours=Hours.build([key] * len(hours), *zip(*hours, strict=True)) if hours else _NO_HOURS,
        special=_special_rows(conn, key, start_us, end_us),
    )


_DAY_US = 86_400_000_000
#: Local dates differ from UTC dates by less than a day either way, and an
#: interval of the day before can run past midnight into the span.
_SPECIAL_MARGIN_DAYS = 2


def _special_rows(conn: Connection, store_key: int, start_us: int, end_us: int) -> SpecialHours:
    first = start_us // _DAY_US - _SPECIAL_MARGIN_DAYS
    last = end_us // _DAY_US + _SPECIAL_MARGIN_DAYS
    rows = conn.execute(
        sa.select(special_hours.c.date_days, special_hours.c.start_s, special_hours.c.end_s)
        .where(
            special_hours.c.store_key == store_key,
            special_hours.c.date_days.between(first, last),
        )
        .order_by(special_hours.c.date_days, special_hours.c.start_s, special_hours.c.end_s)
    ).all()
    return SpecialHours.build(
        [store_key] * len(rows),
        [row.date_days for row in rows],
        [CLOSED if row.start_s is None else row.start_s for row in rows],
        [CLOSED if row.end_s is None else row.end_s for row in rows],
    )


def polls_in_span(conn: Connection, store_id: str, start_us: int, end_us: int) -> int:
    """How many polls of a store lie in ``[start_us, end_us]`` (0 for an
    unknown store): one range count on the primary key."""
    store = _store_row(conn, store_id)
    if store is None:
        return 0
    query = sa.select(sa.func.count()).where(
        polls.c.store_key == store[0], polls.c.ts_us >= start_us, polls.c.ts_us <= end_us
    )
    return int(conn.execute(query).scalar_one())


def newest_poll_us(conn: Connection) -> int | None:
    """The newest poll of the whole dataset (the report's default ``now``)."""
    query = sa.select(dataset_state.c.newest_poll_us).where(dataset_state.c.id == DATASET_STATE_ID)
    value = conn.execute(query).scalar()
    return None if value is None else int(value)


def reject_page(conn: Connection, ingest_id: int, limit: int, offset: int) -> list[Reject]:
    """Rejected rows of an ingest in line order, one page by offset.

    Belongs with :func:`storemon.data.rejects.list_rejects` (which pages by
    line); kept here until that module takes an offset.
    """
    query = (
        sa.select(rejects.c.line, rejects.c.reason, rejects.c.raw)
        .where(rejects.c.ingest_id == ingest_id)
        .order_by(rejects.c.line)
        .limit(limit)
        .offset(offset)
    )
    return [Reject(int(line), reason, raw) for line, reason, raw in conn.execute(query)]

"""Writes to the dataset: stores, polls, business hours and the dataset state.

Every function runs inside the caller's transaction and never commits. Frames
come in as polars DataFrames; the bulk paths hand rows to each driver in the
form it loads fastest (plain tuples to ``executemany``, CSV to PostgreSQL's
``COPY``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ParamSpec, TypeVar

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection

from storemon.data.schema import DATASET_STATE_ID, business_hours, dataset_state, stores
from storemon.data.schema import polls as poll_table
from storemon.data.types import in_batches
from storemon.messages import first_line


class RefusedValue(ValueError):
    """The database refused a value of the input (a data error of the
    driver): the input's fault, not a fault of the database or the server."""


P = ParamSpec("P")
R = TypeVar("R")


def refusals_translated(write: Callable[P, R]) -> Callable[P, R]:
    """``write`` raising :class:`RefusedValue` for the drivers' data errors
    (COPY's own are wrapped as SQLAlchemy's by :func:`copy_csv`)."""

    @functools.wraps(write)
    def translated(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return write(*args, **kwargs)
        except sa.exc.DataError as error:
            raise RefusedValue(f"the database refused a value: {first_line(error.orig)}") from error

    return translated


def backend(conn: Connection) -> str:
    name = conn.dialect.name
    return "mysql" if name == "mariadb" else name


def _placeholders(conn: Connection, count: int) -> str:
    mark = "?" if backend(conn) == "sqlite" else "%s"
    return ", ".join([mark] * count)


def copy_csv(conn: Connection, table: str, columns: Sequence[str], frame: pl.DataFrame) -> None:
    """PostgreSQL only: append ``frame`` to ``table`` with ``COPY ... FROM STDIN``."""
    # Every string quoted, so an empty string stays a string, not NULL.
    data = frame.select(columns).write_csv(include_header=False, quote_style="non_numeric")
    import psycopg

    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            copy.write(data)
    except psycopg.DataError as error:
        # COPY goes around SQLAlchemy: wrap the driver's error as SQLAlchemy
        # would, so callers handle one exception for a refused value.
        raise sa.exc.DataError(statement, None, error) from error
    finally:
        cursor.close()


#: One poll in PostgreSQL's binary COPY format: a field count, then each
#: field's length and big-endian value (bigint, bigint, boolean).
_BINARY_POLL = np.dtype(
    [
        ("fields", ">i2"),
        ("key_len", ">i4"),
        ("store_key", ">i8"),
        ("ts_len", ">i4"),
        ("ts_us", ">i8"),
        ("active_len", ">i4"),
        ("active", "u1"),
    ]
)
#: The binary COPY header (signature, flags, no extension) and trailer.
_BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
_BINARY_TRAILER = b"\xff\xff"


def copy_polls(conn: Connection, table: str, polls: pl.DataFrame) -> None:
    """PostgreSQL only: append ``polls`` (``store_key``, ``ts_us``,
    ``active``) to ``table`` with a binary ``COPY``. Its rows have a fixed
    width, so numpy lays out millions at once, and the server reads
    integers without parsing text: a quarter less of its time than CSV."""
    rows = np.empty(polls.height, _BINARY_POLL)
    rows["fields"], rows["key_len"], rows["ts_len"], rows["active_len"] = 3, 8, 8, 1
    for name in _POLL_COLUMNS:
        rows[name] = polls.get_column(name).to_numpy()
    statement = f"COPY {table} ({', '.join(_POLL_COLUMNS)}) FROM STDIN (FORMAT binary)"
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(statement) as copy:
            copy.write(_BINARY_HEADER)
            copy.write(rows.data)
            copy.write(_BINARY_TRAILER)
    finally:
        cursor.close()


def insert_rows(conn: Connection, table: str, columns: Sequence[str], frame: pl.DataFrame) -> None:
    """Append every row of ``frame`` to ``table`` (no conflict handling)."""
    if frame.is_empty():
        return
    if backend(conn) == "postgresql":
        copy_csv(conn, table, columns, frame)
        return
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({_placeholders(conn, len(columns))})"
    conn.exec_driver_sql(sql, list(_tuples(frame, columns)))


class StoreKeys:
    """``store_id`` -> ``store_key`` (and the stored timezone) for one ingest:
    read once, then grown as the ingest inserts new stores. Stores are never
    deleted, so the map stays right across the ingest's transactions."""

    def __init__(self, known: pl.DataFrame) -> None:
        self.known = known

    @classmethod
    def load(cls, conn: Connection) -> StoreKeys:
        rows = conn.execute(sa.select(stores.c.store_id, stores.c.store_key, stores.c.timezone))
        return cls(_store_frame(rows.all()))

    @refusals_translated
    def attach(
        self, conn: Connection, frame: pl.DataFrame, *, timezones: bool = True
    ) -> pl.DataFrame:
        """``frame`` with a ``store_key`` column for its ``store_id`` column
        (and ``known_timezone`` unless ``timezones`` is False), inserting
        stores not seen before.

        Every ingest writes through here first, so this is where a writing
        transaction takes the dataset lock (see :func:`lock_for_writing`)."""
        lock_for_writing(conn)
        new_ids = (
            frame.select(pl.col("store_id").unique())
            .join(self.known, on="store_id", how="anti")
            .get_column("store_id")
            .to_list()
        )
        if new_ids:
            self.known = pl.concat([self.known, _insert_stores(conn, new_ids)])
        known = (
            self.known.rename({"timezone": "known_timezone"})
            if timezones
            else self.known.select("store_id", "store_key")
        )
        return frame.join(known, on="store_id", how="left")


def lock_for_writing(conn: Connection) -> None:
    """Hold the ``dataset_state`` row (which every data change updates in the
    end anyway) from the first write of the transaction to its commit.
    Writers then change stores, polls and hours one transaction at a time,
    in the same order, and cannot deadlock (concurrent uploads with shared
    new store ids deadlocked on MySQL's unique-index gap locks). SQLite's
    writers are one at a time already."""
    conn.execute(
        sa.select(dataset_state.c.id)
        .where(dataset_state.c.id == DATASET_STATE_ID)
        .with_for_update()
    )


def _store_frame(rows: Sequence[Any]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"store_id": pl.Utf8, "store_key": pl.Int64, "timezone": pl.Utf8},
        orient="row",
    )


def _insert_stores(conn: Connection, store_ids: list[str]) -> pl.DataFrame:
    """Insert the stores not stored yet and return the rows of all of them.
    Another ingest may add the same ids meanwhile: conflicts are skipped."""
    query = sa.select(stores.c.store_id, stores.c.store_key, stores.c.timezone)
    kind = backend(conn)
    if kind == "postgresql":
        # One statement each way, the ids passed as one array parameter.
        conn.exec_driver_sql(
            "INSERT INTO stores (store_id) SELECT unnest(%s::text[]) "
            "ON CONFLICT (store_id) DO NOTHING",
            (store_ids,),
        )
        ids = sa.bindparam("ids", store_ids, type_=postgresql.ARRAY(sa.String))
        return _store_frame(conn.execute(query.where(stores.c.store_id == sa.any_(ids))).all())
    statement: Any
    if kind == "sqlite":
        statement = sqlite.insert(stores).on_conflict_do_nothing(index_elements=["store_id"])
    else:
        insert = mysql.insert(stores)
        statement = insert.on_duplicate_key_update(store_id=insert.inserted.store_id)
    conn.execute(statement, [{"store_id": store_id} for store_id in store_ids])
    if kind == "mysql":
        # A locking read sees rows another ingest committed after this
        # transaction's snapshot (REPEATABLE READ would hide them).
        query = query.with_for_update(read=True)
    rows: list[Any] = []
    for batch in in_batches(store_ids):
        rows.extend(conn.execute(query.where(stores.c.store_id.in_(batch))).all())
    return _store_frame(rows)


def last_poll_per_key(polls: pl.DataFrame) -> pl.DataFrame:
    """One row per (store_key, ts_us), the one with the highest ``line``
    (a later row replaces an earlier one), sorted by key."""
    ordered = polls.sort(["store_key", "ts_us", "line"])
    key_ends = (pl.col("store_key") != pl.col("store_key").shift(-1)) | (
        pl.col("ts_us") != pl.col("ts_us").shift(-1)
    )
    return ordered.filter(key_ends.fill_null(True))


def _tuples(frame: pl.DataFrame, columns: Sequence[str]) -> Iterable[tuple[Any, ...]]:
    """Rows as plain tuples, the form DB-API ``executemany`` binds fastest
    (faster to build than ``DataFrame.rows()``)."""
    return zip(*(frame.get_column(name).to_list() for name in columns), strict=True)


def refresh_store_bounds(conn: Connection, store_keys: Sequence[int]) -> None:
    """Set ``stores.first_poll_us`` of these stores to their oldest stored
    poll (NULL when none is left). A delete of polls calls it for the stores
    it touched (a write only lowers the column: see :func:`write_polls`);
    each store costs one primary-key seek, and a row whose value is already
    right is not written."""
    oldest = (
        sa.select(sa.func.min(poll_table.c.ts_us))
        .where(poll_table.c.store_key == stores.c.store_key)
        .scalar_subquery()
    )
    for batch in in_batches(list(store_keys)):
        conn.execute(
            sa.update(stores)
            .where(stores.c.store_key.in_(batch), stores.c.first_poll_us.is_distinct_from(oldest))
            .values(first_poll_us=oldest)
        )


@refusals_translated
def write_polls(conn: Connection, polls: pl.DataFrame) -> int:
    """Upsert polls (``store_key``, ``ts_us``, ``active``; at most one row per
    key, see :func:`last_poll_per_key`), raise ``newest_poll_us`` to the
    newest of them and keep each store's first poll. Returns the number of
    rows inserted or changed: an identical row is left alone, so reloading a
    file writes nothing and counts 0."""
    if polls.is_empty():
        return 0
    # Locking the state row serializes poll writers: the newest poll read
    # here stays the newest until this transaction ends.
    newest = conn.execute(
        sa.select(dataset_state.c.newest_poll_us)
        .where(dataset_state.c.id == DATASET_STATE_ID)
        .with_for_update()
    ).scalar_one()
    kind = backend(conn)
    if kind == "sqlite":
        changed = _upsert_polls_sqlite(conn, polls)
    elif kind == "postgresql":
        changed = _write_polls_postgresql(conn, polls, newest)
    else:
        changed = _upsert_polls_mysql(conn, polls)
    written_newest = polls.get_column("ts_us").max()
    assert isinstance(written_newest, int)
    if newest is None or written_newest > newest:
        conn.execute(
            sa.update(dataset_state)
            .where(dataset_state.c.id == DATASET_STATE_ID)
            .values(newest_poll_us=written_newest)
        )
    _lower_first_polls(conn, polls)
    return changed


def _lower_first_polls(conn: Connection, polls: pl.DataFrame) -> None:
    """Lower each store's ``first_poll_us`` to its oldest poll in ``polls``
    where that is older (or the store had none). An upsert never removes a
    poll, so this keeps the column right.

    Only a store whose first poll is unknown or newer than the oldest poll
    of ``polls`` can change: one scan of ``stores`` finds those few (for a
    feed in time order, the stores polled for the first time), and only
    they are updated, so a chunk costs one scan, not one lookup per store."""
    oldest = polls.group_by("store_key").agg(pl.col("ts_us").min())
    since = oldest.get_column("ts_us").min()
    assert isinstance(since, int)
    later = conn.execute(
        sa.select(stores.c.store_key, stores.c.first_poll_us).where(
            sa.or_(stores.c.first_poll_us.is_(None), stores.c.first_poll_us > since)
        )
    ).all()
    if not later:
        return
    known = pl.DataFrame(
        later, schema={"store_key": pl.Int64, "first_poll_us": pl.Int64}, orient="row"
    )
    lowered = oldest.join(known, on="store_key").filter(
        pl.col("first_poll_us").is_null() | (pl.col("ts_us") < pl.col("first_poll_us"))
    )
    if lowered.is_empty():
        return
    keys = lowered.get_column("store_key").to_list()
    firsts = lowered.get_column("ts_us").to_list()
    kind = backend(conn)
    if kind == "postgresql":
        conn.exec_driver_sql(
            "UPDATE stores SET first_poll_us = new.ts_us "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS new (store_key, ts_us) "
            "WHERE stores.store_key = new.store_key "
            "AND (stores.first_poll_us IS NULL OR stores.first_poll_us > new.ts_us)",
            (keys, firsts),
        )
    else:
        # The condition stays in the statement: it is what keeps the column
        # right, the scan above only narrows which stores are tried.
        mark = "?" if kind == "sqlite" else "%s"
        conn.exec_driver_sql(
            f"UPDATE stores SET first_poll_us = {mark} WHERE store_key = {mark} "
            f"AND (first_poll_us IS NULL OR first_poll_us > {mark})",
            [(first, key, first) for key, first in zip(keys, firsts, strict=True)],
        )


_POLL_COLUMNS = ("store_key", "ts_us", "active")


#: Rows per ``INSERT`` statement on SQLite (three parameters each, far below
#: SQLite's limit of 32,766): one statement per row spends most of its time
#: preparing and stepping the statement, not inserting.
_SQLITE_ROWS_PER_STATEMENT = 100
_SQLITE_UPSERT_TAIL = (
    " ON CONFLICT (store_key, ts_us) DO UPDATE SET active = excluded.active "
    "WHERE polls.active IS NOT excluded.active"
)


def _sqlite_upsert(rows: int) -> str:
    values = ", ".join(["(?, ?, ?)"] * rows)
    return f"INSERT INTO polls (store_key, ts_us, active) VALUES {values}{_SQLITE_UPSERT_TAIL}"


def _upsert_polls_sqlite(conn: Connection, polls: pl.DataFrame) -> int:
    # Straight to the driver: at millions of rows SQLAlchemy's executemany
    # bookkeeping shows. Rows go in key order, so the B-tree fills pages in
    # sequence, a hundred rows per statement (the key is one per row, so a
    # statement never touches a key twice). A plain INSERT measured no
    # faster than this upsert.
    size = _SQLITE_ROWS_PER_STATEMENT
    whole = polls.height - polls.height % size
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        changed = 0
        if whole:
            values = (
                polls.head(whole)
                .select(pl.col(_POLL_COLUMNS).cast(pl.Int64))
                .to_numpy()
                .reshape(-1, size * len(_POLL_COLUMNS))
                .tolist()
            )
            cursor.executemany(_sqlite_upsert(size), values)
            changed += int(cursor.rowcount)
        if whole < polls.height:
            cursor.executemany(_sqlite_upsert(1), _tuples(polls.slice(whole), _POLL_COLUMNS))
            changed += int(cursor.rowcount)
        return changed
    finally:
        cursor.close()


def _write_polls_postgresql(conn: Connection, polls: pl.DataFrame, newest: int | None) -> int:
    # A poll newer than every stored poll cannot collide with one: those go
    # straight in with COPY, several times faster than INSERT ... ON CONFLICT
    # (a first load, hourly new polls). The rest is staged and upserted.
    is_fresh = pl.lit(True) if newest is None else pl.col("ts_us") > newest
    fresh, known = polls.filter(is_fresh), polls.filter(~is_fresh)
    changed = fresh.height
    if changed:
        copy_polls(conn, "polls", fresh)
    if known.height:
        conn.exec_driver_sql(
            "CREATE TEMPORARY TABLE IF NOT EXISTS storemon_poll_stage "
            "(store_key BIGINT NOT NULL, ts_us BIGINT NOT NULL, active BOOLEAN NOT NULL)"
        )
        conn.exec_driver_sql("TRUNCATE storemon_poll_stage")
        copy_polls(conn, "storemon_poll_stage", known)
        # ON CONFLICT cannot touch one key twice in a statement: the caller
        # has kept one row per key.
        result = conn.exec_driver_sql(
            "INSERT INTO polls (store_key, ts_us, active) "
            "SELECT store_key, ts_us, active FROM storemon_poll_stage "
            "ON CONFLICT (store_key, ts_us) DO UPDATE SET active = excluded.active "
            "WHERE polls.active IS DISTINCT FROM excluded.active"
        )
        changed += result.rowcount
    return changed


def _upsert_polls_mysql(conn: Connection, polls: pl.DataFrame) -> int:
    # MySQL counts 1 per inserted row, 2 per changed row and 0 per unchanged
    # one (the engine is made without CLIENT_FOUND_ROWS).
    result = conn.exec_driver_sql(
        "INSERT INTO polls (store_key, ts_us, active) VALUES (%s, %s, %s) "
        "ON DUPLICATE KEY UPDATE active = VALUES(active)",
        list(_tuples(polls, _POLL_COLUMNS)),
    )
    return int(result.rowcount)


def replace_store_rows(
    conn: Connection, table: sa.Table, new: pl.DataFrame, row_text: pl.Expr
) -> int:
    """Give every store in ``new`` (``store_key`` and more of ``table``'s
    columns) exactly these rows of ``table``; other stores keep theirs.
    Stores whose rows are already the same are not touched, so reloading a
    feed writes nothing. ``row_text`` renders one row as text: two stores
    have the same rows when the sorted texts of their rows are equal (a
    multiset, so row order and chunking do not matter). Returns the number
    of stores whose rows changed."""
    if new.is_empty():
        return 0
    columns = new.columns
    mentioned = new.get_column("store_key").unique().to_list()
    old_rows: list[Any] = []
    for batch in in_batches(mentioned):
        query = sa.select(*(table.c[name] for name in columns)).where(table.c.store_key.in_(batch))
        old_rows.extend(conn.execute(query).all())
    old = pl.DataFrame(old_rows, schema=new.schema, orient="row")

    def row_sets(frame: pl.DataFrame) -> pl.DataFrame:
        # NUL joins the texts: no value of any feed can contain it.
        return frame.group_by("store_key").agg(rows=row_text.sort().str.join("\x00"))

    changed = (
        row_sets(new)
        .join(row_sets(old), on="store_key", how="left", suffix="_old")
        .filter(pl.col("rows_old").is_null() | (pl.col("rows") != pl.col("rows_old")))
        .get_column("store_key")
        .to_list()
    )
    for batch in in_batches(changed):
        conn.execute(sa.delete(table).where(table.c.store_key.in_(batch)))
    insert_rows(
        conn,
        table.name,
        columns,
        new.join(
            pl.DataFrame({"store_key": changed}, schema={"store_key": pl.Int64}), on="store_key"
        ),
    )
    return len(changed)


@refusals_translated
def replace_hours(conn: Connection, hours: pl.DataFrame) -> int:
    """Give every store in ``hours`` (``store_key``, ``day``, ``start_s``,
    ``end_s``) exactly these rows as its weekly schedule; other stores keep
    theirs. Returns the number of stores whose schedule changed."""
    columns = ["store_key", "day", "start_s", "end_s"]
    new = hours.select(columns).cast(dict.fromkeys(columns, pl.Int64))
    return replace_store_rows(
        conn, business_hours, new, pl.format("{}/{}/{}", "day", "start_s", "end_s")
    )


@refusals_translated
def set_timezones(conn: Connection, zones: pl.DataFrame) -> int:
    """Set ``timezone`` of each store in ``zones`` (``store_key``,
    ``timezone``, ``known_timezone`` from :meth:`StoreKeys.attach`; one row per
    store). Returns the number of stores whose timezone changed."""
    changed = zones.filter(
        pl.col("known_timezone").is_null() | (pl.col("known_timezone") != pl.col("timezone"))
    )
    if changed.is_empty():
        return 0
    keys = changed.get_column("store_key").to_list()
    names = changed.get_column("timezone").to_list()
    if backend(conn) == "postgresql":
        conn.exec_driver_sql(
            "UPDATE stores SET timezone = new.timezone "
            "FROM unnest(%s::bigint[], %s::text[]) AS new (store_key, timezone) "
            "WHERE stores.store_key = new.store_key",
            (keys, names),
        )
    else:
        statement = (
            sa.update(stores)
            .where(stores.c.store_key == sa.bindparam("key"))
            .values(timezone=sa.bindparam("zone"))
        )
        conn.execute(
            statement,
            [{"key": key, "zone": zone} for key, zone in zip(keys, names, strict=True)],
        )
    return changed.height


def bump_version(conn: Connection) -> None:
    """Record that this transaction changed the data."""
    conn.execute(
        sa.update(dataset_state)
        .where(dataset_state.c.id == DATASET_STATE_ID)
        .values(version=dataset_state.c.version + 1)
    )


def delete_polls(
    conn: Connection, store_key: int, from_us: int | None = None, to_us: int | None = None
) -> int:
    """Delete one store's polls with ``from_us <= ts_us <= to_us`` (a missing
    bound: no limit on that side), bump the dataset version when any went,
    and keep ``newest_poll_us`` the newest poll left. Returns the number
    deleted."""
    # Locking the state row first, as poll writers do: the newest poll read
    # here stays right until this transaction ends.
    newest = conn.execute(
        sa.select(dataset_state.c.newest_poll_us)
        .where(dataset_state.c.id == DATASET_STATE_ID)
        .with_for_update()
    ).scalar_one()
    where = [poll_table.c.store_key == store_key]
    if from_us is not None:
        where.append(poll_table.c.ts_us >= from_us)
    if to_us is not None:
        where.append(poll_table.c.ts_us <= to_us)
    deleted = max(int(conn.execute(sa.delete(poll_table).where(*where)).rowcount), 0)
    if not deleted:
        return 0
    if newest is not None and (to_us is None or to_us >= newest):
        # The newest poll may have gone: one scan, only when it may have.
        left = conn.execute(sa.select(sa.func.max(poll_table.c.ts_us))).scalar()
        conn.execute(
            sa.update(dataset_state)
            .where(dataset_state.c.id == DATASET_STATE_ID)
            .values(newest_poll_us=left)
        )
    refresh_store_bounds(conn, [store_key])
    bump_version(conn)
    return deleted

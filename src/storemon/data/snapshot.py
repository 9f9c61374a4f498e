"""Read everything the report needs from one consistent database state.

This is the report's hot path, so it stays light: SQLite and PostgreSQL are
read through ADBC's low-level API straight into Arrow (no SQLAlchemy import, a
minimal URL parse), MySQL through PyMySQL. All queries of one read run in one
transaction, so an ingest committing meanwhile is seen entirely or not at all:
SQLite (WAL) keeps the snapshot of the transaction's first read, PostgreSQL
runs it REPEATABLE READ, MySQL starts it WITH CONSISTENT SNAPSHOT.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from storemon.data.database import (
    SQLITE_BUSY_TIMEOUT_MS,
    DatabaseError,
    SchemaNotCurrentError,
    backend_of,
    first_line,
    redact,
    resolve_url,
)
from storemon.data.migrate import HEAD_REVISION
from storemon.engine.model import Hours, Polls, Snapshot, Stores

if TYPE_CHECKING:
    import pyarrow as pa

#: Up to this many stores, a filtered read asks the database for their polls
#: only; past it, reading every poll and filtering in memory is cheaper.
STORE_FILTER_IN_SQL = 1000


@dataclass(frozen=True)
class DatasetState:
    """``version`` grows with every committed change of the data;
    ``newest_poll_us`` is the newest poll timestamp (None: no polls)."""

    version: int
    newest_poll_us: int | None


def read_snapshot(
    url: str | None = None, store_ids: Sequence[str] | None = None
) -> tuple[Snapshot, DatasetState]:
    """Stores, polls and business hours as engine arrays, with the dataset
    state they belong to, all read in one transaction.

    ``store_ids`` narrows the read to those stores (unknown ids are ignored).
    Raises :class:`SchemaNotCurrentError` when the database is not at the
    schema this code expects, :class:`DatabaseError` when it cannot be read.
    """
    url = resolve_url(url)
    with _read_transaction(url) as read:
        revision = _revision(read)
        if revision != HEAD_REVISION:
            found = "has no storemon schema" if revision is None else f"is at {revision!r}"
            raise SchemaNotCurrentError(
                f"database {redact(url)} {found}, this storemon needs schema "
                f"{HEAD_REVISION!r}: migrate it first"
            )
        state = read("select version, newest_poll_us from dataset_state where id = 1")
        # coalesce: ADBC's SQLite driver infers a column's type from its first
        # rows and fails on a text value after a run of NULLs.
        stores = read("select store_key, store_id, coalesce(timezone, '') as timezone from stores")
        keys = _int_column(stores, "store_key")
        ids = np.asarray(stores.column("store_id").to_pylist(), dtype=object)
        zones = np.asarray(stores.column("timezone").to_pylist(), dtype=object)
        zones[zones == ""] = None

        where = ""
        wanted: np.ndarray | None = None
        if store_ids is not None:
            keep = np.isin(ids, np.asarray(list(store_ids), dtype=object))
            keys, ids, zones = keys[keep], ids[keep], zones[keep]
            wanted = keys
            if len(keys) <= STORE_FILTER_IN_SQL:
                # Integers read from the database: safe to inline.
                where = f" where store_key in ({','.join(map(str, keys.tolist())) or 'null'})"
        polls = _read_integers(read, "polls", ("store_key", "ts_us", "active"), where)
        hours = _read_integers(
            read, "business_hours", ("store_key", "day", "start_s", "end_s"), where
        )

    poll_keys = _int_column(polls, "store_key")
    poll_ts = _int_column(polls, "ts_us")
    active = _bool_column(polls, "active")
    hour_cols = [_int_column(hours, name) for name in ("store_key", "day", "start_s", "end_s")]
    if wanted is not None and where == "":
        mask = np.isin(poll_keys, wanted)
        poll_keys, poll_ts, active = poll_keys[mask], poll_ts[mask], active[mask]
        mask = np.isin(hour_cols[0], wanted)
        hour_cols = [column[mask] for column in hour_cols]

    snapshot = Snapshot(
        stores=Stores.build(keys, ids, zones),
        polls=Polls.build(poll_keys, poll_ts, active),
        hours=Hours.build(*hour_cols),
    )
    version, newest = (state.column(name)[0].as_py() for name in ("version", "newest_poll_us"))
    return snapshot, DatasetState(int(version), None if newest is None else int(newest))


def read_revision(url: str) -> str | None:
    """The schema revision the database is at; None for a database without
    the storemon schema (or, for SQLite, a file that does not exist)."""
    if backend_of(url) == "sqlite" and not os.path.exists(sqlite_path(url)):
        return None
    with _read_transaction(url) as read:
        return _revision(read)


class _Query(Protocol):
    def __call__(self, sql: str) -> pa.Table: ...


def _read_integers(read: _Query, table: str, columns: Sequence[str], where: str) -> pa.Table:
    """An all-integer table (polls, business hours), the way the backend
    delivers it fastest."""
    if isinstance(read, _MySQLQuery):
        return read.integers(table, columns, where)
    return read(f"select {', '.join(columns)} from {table}{where}")


def _revision(read: _Query) -> str | None:
    try:
        table = read("select version_num from alembic_version")
    except _NoSuchTable:
        return None
    values = table.column("version_num").to_pylist()
    return str(values[0]) if values else None


class _NoSuchTable(Exception):
    pass


@contextmanager
def _read_transaction(url: str) -> Iterator[_Query]:
    backend = backend_of(url)
    if backend == "mysql":
        with _mysql_transaction(url) as read:
            yield read
    elif backend == "postgresql":
        with _adbc_transaction(url, libpq_uri(url)) as read:
            yield read
    else:
        path = sqlite_path(url)
        if not os.path.exists(path):
            # Not a wrong URL: a database nobody has created yet.
            raise SchemaNotCurrentError(
                f"database file {path} does not exist yet: migrate it first"
            )
        from storemon.data.sqlite_access import read_turn

        with read_turn(path) as use_adbc:
            if use_adbc:
                # Read-only: a report never writes, nor creates a file.
                with _adbc_transaction(url, f"{_file_uri(path)}?mode=ro") as read:
                    yield read
            else:
                with _sqlite3_transaction(url, path) as read:
                    yield read


def _file_uri(path: str) -> str:
    from urllib.parse import quote

    return "file:" + quote(os.path.abspath(path))


@contextmanager
def _adbc_transaction(url: str, target: str) -> Iterator[_Query]:
    """One ADBC connection, autocommit off: every statement in it reads the
    same state."""
    import adbc_driver_manager as dm
    import pyarrow as pa

    backend = backend_of(url)
    driver: Any
    if backend == "sqlite":
        import adbc_driver_sqlite

        driver = adbc_driver_sqlite
    else:
        import adbc_driver_postgresql

        driver = adbc_driver_postgresql

    try:
        database = driver.connect(target)
        connection = dm.AdbcConnection(database)
    except dm.Error as error:
        raise DatabaseError(f"cannot open database {redact(url)}: {first_line(error)}") from None
    try:
        connection.set_options(**{"adbc.connection.autocommit": "false"})

        def run(sql: str) -> pa.Table:
            statement = dm.AdbcStatement(connection)
            try:
                statement.set_sql_query(sql)
                stream, _ = statement.execute_query()
                return pa.RecordBatchReader._import_from_c(stream.address).read_all()
            except dm.ProgrammingError as error:
                if _is_missing_table(error):
                    raise _NoSuchTable() from None
                raise DatabaseError(f"cannot read {redact(url)}: {first_line(error)}") from None
            except dm.Error as error:
                raise DatabaseError(f"cannot read {redact(url)}: {first_line(error)}") from None
            finally:
                statement.close()

        if backend == "postgresql":
            statement = dm.AdbcStatement(connection)
            try:
                statement.set_sql_query("set transaction isolation level repeatable read")
                statement.execute_update()
            finally:
                statement.close()
        else:
            # Wait, as our other connections do, rather than fail at once when
            # a writer briefly holds the file (e.g. the checkpoint that runs
            # when another process closes the last connection).
            run(f"pragma busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        yield run
        connection.rollback()
    finally:
        connection.close()
        database.close()


def _is_missing_table(error: Exception) -> bool:
    text = str(error)
    return "no such table" in text or "does not exist" in text


@contextmanager
def _sqlite3_transaction(url: str, path: str) -> Iterator[_Query]:
    """The slower SQLite read, through Python's ``sqlite3`` (see
    :mod:`storemon.data.sqlite_access` for when it is used)."""
    import sqlite3

    from storemon.data.database import SQLITE_BUSY_TIMEOUT_MS

    try:
        connection = sqlite3.connect(f"{_file_uri(path)}?mode=ro", uri=True, isolation_level=None)
    except sqlite3.Error as error:
        raise DatabaseError(f"cannot open database {url}: {error}") from None
    try:
        connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        connection.execute("BEGIN")

        def run(sql: str) -> pa.Table:
            try:
                cursor = connection.execute(sql)
                rows = cursor.fetchall()
            except sqlite3.OperationalError as error:
                if _is_missing_table(error):
                    raise _NoSuchTable() from None
                raise DatabaseError(f"cannot read {url}: {error}") from None
            names = [column[0] for column in cursor.description]
            return _rows_to_table(names, rows)

        yield run
    finally:
        connection.close()


def _rows_to_table(names: list[str], rows: Sequence[Sequence[Any]]) -> pa.Table:
    import pyarrow as pa

    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table({name: pa.array(column) for name, column in zip(names, columns, strict=True)})


class _MySQLQuery:
    """Queries on one PyMySQL connection inside one consistent snapshot."""

    #: Store keys per row of a grouped integer read (see :meth:`integers`).
    STORES_PER_GROUP = 256
    #: Longest text of one group (the server also caps it at max_allowed_packet).
    GROUP_TEXT_LIMIT = 1 << 30

    def __init__(self, raw: Any, url: str) -> None:
        self._raw = raw
        self._url = url

    def _fetch(self, sql: str) -> tuple[list[str], Sequence[Sequence[Any]]]:
        import pymysql
        from pymysql.cursors import SSCursor

        cursor = self._raw.cursor(SSCursor)
        try:
            cursor.execute(sql)
            names = [column[0] for column in cursor.description or ()]
            return names, cursor.fetchall()
        except pymysql.err.ProgrammingError as error:
            if error.args and error.args[0] == 1146:  # ER_NO_SUCH_TABLE
                raise _NoSuchTable() from None
            raise DatabaseError(f"cannot read {redact(self._url)}: {error}") from None
        finally:
            cursor.close()

    def __call__(self, sql: str) -> pa.Table:
        return _rows_to_table(*self._fetch(sql))

    def integers(self, table: str, columns: Sequence[str], where: str) -> pa.Table:
        """PyMySQL decodes every value in Python, seconds for millions of
        polls. Here the server writes the rows as CSV text, a few hundred
        stores per result row, and Arrow parses it. A group cut short (by
        ``group_concat_max_len`` or ``max_allowed_packet``) shows in the row
        count, and then the plain query runs instead."""
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        listed = ", ".join(columns)
        group = f"{columns[0]} div {self.STORES_PER_GROUP}"
        self._fetch(f"set session group_concat_max_len = {self.GROUP_TEXT_LIMIT}")
        _, rows = self._fetch(
            f"select count(*), group_concat(concat_ws(',', {listed}) order by {listed} "
            f"separator '\\n') from {table}{where} group by {group} order by {group}"
        )
        expected = sum(int(row[0]) for row in rows)
        text = b"\n".join(row[1] if isinstance(row[1], bytes) else row[1].encode() for row in rows)
        if expected == 0:
            return pa.table({name: pa.array([], pa.int64()) for name in columns})
        try:
            frame = pa_csv.read_csv(
                pa.py_buffer(text),
                read_options=pa_csv.ReadOptions(column_names=list(columns)),
                convert_options=pa_csv.ConvertOptions(
                    column_types=dict.fromkeys(columns, pa.int64())
                ),
            )
        except pa.ArrowInvalid:  # a row cut in the middle
            frame = None
        if frame is None or frame.num_rows != expected:
            return self(f"select {listed} from {table}{where}")
        return frame


@contextmanager
def _mysql_transaction(url: str) -> Iterator[_Query]:
    from storemon.data.database import make_engine

    engine = make_engine(url)
    try:
        raw = engine.raw_connection()
        try:
            raw.cursor().execute("start transaction with consistent snapshot, read only")
            yield _MySQLQuery(raw, url)
            raw.rollback()
        finally:
            raw.close()
    finally:
        engine.dispose()


def sqlite_path(url: str) -> str:
    """The file of a ``sqlite:///path`` URL (relative to the working directory;
    ``sqlite:////abs/path`` for an absolute one)."""
    rest = url.partition("://")[2].partition("?")[0]
    if not rest.startswith("/") or rest in ("/", "/:memory:"):
        raise DatabaseError(f"{url!r} is not a SQLite file URL (sqlite:///path/to/file.db)")
    return rest[1:]


def libpq_uri(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as the ``postgresql://`` URI libpq reads
    (both percent-encode the same way)."""
    return "postgresql://" + url.partition("://")[2]


def _int_column(table: pa.Table, name: str) -> np.ndarray:
    column = table.column(name)
    if column.num_chunks == 1:
        array = column.chunk(0)
    else:
        array = column.combine_chunks()
    if array.null_count:
        raise DatabaseError(f"unexpected NULL in column {name}")
    # Zero-copy for int64 columns; narrower integers are widened by the engine.
    return np.asarray(array.to_numpy(zero_copy_only=False))


def _bool_column(table: pa.Table, name: str) -> np.ndarray:
    return _int_column(table, name).astype(np.bool_, copy=False)

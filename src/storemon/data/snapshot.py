"""Read everything the report needs from one consistent database state.

A :class:`SnapshotReader` per backend, built once per process (see
``storemon.bootstrap``) from the database URL. All queries of one read run in
one transaction, so an ingest committing meanwhile is seen entirely or not at
all: SQLite (WAL) keeps the snapshot of the transaction's first read,
PostgreSQL runs it REPEATABLE READ, MySQL starts it WITH CONSISTENT SNAPSHOT.

Each backend reads the big tables the way it delivers them fastest:
PostgreSQL through ADBC straight into Arrow; MySQL through PyMySQL, with the
server writing the rows as CSV text; SQLite through ADBC too, or through
Python's ``sqlite3`` where the process keeps other connections open.

Why SQLite has two ways: ADBC's driver carries its own copy of SQLite, and
two copies of SQLite in one process must never have one file open at the
same time (POSIX locks belong to the process: closing the file in one copy
drops the other's locks, and the database can be corrupted; sqlite.org, "How
To Corrupt An SQLite Database File", 2.2). So the choice is made per process,
once, by ``storemon.bootstrap``: a process whose other connections open the
file only while it uses them, one thing at a time (a command, a report
worker), reads through ADBC, twice as fast; the server, which keeps a pool
of connections open, reads through ``sqlite3``, the copy all its other
connections use, with each store's polls packed into one text value that
Arrow parses.

What is read is decided in one place, :meth:`SnapshotReader.read_snapshot`:
the SQL it passes to the backend's ``polls`` and ``hours``. A report reads
the polls of a :class:`Span` only, plus each store's last poll before it,
found by the (store_key, ts_us) primary key: its cost follows the span, not
the history stored.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from storemon.data.database import (
    SQLITE_BUSY_TIMEOUT_MS,
    DatabaseError,
    DatabaseUnavailableError,
    NoDatabaseError,
    SchemaNotCurrentError,
    backend_of,
    parse_url,
    shown,
    sqlite_file,
)
from storemon.data.migrate import HEAD_REVISION
from storemon.engine.model import (
    CLOSED,
    Hours,
    Memberships,
    Polls,
    Snapshot,
    SpecialHours,
    Stores,
)
from storemon.messages import first_line

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.engine import URL

#: Up to this many stores, a filtered read asks the database for their polls
#: only; past it, reading every poll and filtering in memory is cheaper.
STORE_FILTER_IN_SQL = 1000

POLL_COLUMNS = ("store_key", "ts_us", "active")
HOUR_COLUMNS = ("store_key", "day", "start_s", "end_s")
SPECIAL_COLUMNS = ("store_key", "date_days", "start_s", "end_s")
# Special hours are few (date exceptions), so a plain query reads them. A row
# with no times is closed: both times NULL, read as the engine's CLOSED.
SPECIAL_HOURS_QUERY = (
    f"select store_key, date_days, coalesce(start_s, {CLOSED}) as start_s, "
    f"coalesce(end_s, {CLOSED}) as end_s from special_hours"
)
MEMBERSHIPS_QUERY = "select store_key, group_name from store_groups"


@dataclass(frozen=True)
class DatasetState:
    """``version`` grows with every committed change of the data;
    ``newest_poll_us`` is the newest poll timestamp (None: no polls);
    ``retained_from_us`` the retention horizon (None: nothing pruned)."""

    version: int
    newest_poll_us: int | None
    retained_from_us: int | None = None


@dataclass(frozen=True)
class Span:
    """The polls a computation over ``[start_us, end_us]`` needs: those in
    the span, and each store's last poll before it (the status at
    ``start_us`` is interpolated from it). Polls after ``end_us`` are left
    out, as every computation ignores polls after its end."""

    start_us: int
    end_us: int


#: A span, or how to choose it once the dataset state is read (a report's
#: default ``now`` is the newest poll of the snapshot it reads).
SpanChoice = Span | Callable[[DatasetState], Span | None] | None


class PrunedHistoryError(DatabaseError):
    """The span starts before the retention horizon: the polls it needs
    were deleted."""

    @classmethod
    def of(cls, retained_from_us: int, start_us: int) -> PrunedHistoryError:
        return cls(
            f"polls before {format_utc(retained_from_us)} have been deleted (retention): "
            f"nothing can be computed from {format_utc(start_us)}"
        )


class NoSuchTable(Exception):
    """The query named a table the database does not have (no schema yet)."""


class Transaction(ABC):
    """Queries inside one read-only transaction of one backend."""

    #: "sqlite", "postgresql" or "mysql": the SQL dialect of the queries.
    backend: str

    @abstractmethod
    def query(self, sql: str) -> pa.Table:
        """A small result (stores, state, revision) as an Arrow table."""

    def integers(self, table: str, columns: Sequence[str], where: str) -> list[np.ndarray]:
        """An all-integer table (polls, business hours) as one array per column."""
        result = self.query(f"select {', '.join(columns)} from {table}{where}")
        return [int_column(result, name) for name in columns]

    def polls(self, source: str, where: str) -> list[np.ndarray]:
        """Store keys, timestamps and active flags of the polls ``where``
        selects from ``source`` (``polls``, or a subquery of its rows)."""
        return self.integers(source, POLL_COLUMNS, where)

    def span_source(self, span: Span, stores_where: str) -> str:
        """A subquery of the polls ``span`` needs, for the stores
        ``stores_where`` selects (a condition on ``s``, the stores table;
        empty: all).

        Driven by the stores table, it costs per store two seeks on the
        (store_key, ts_us) key and a range scan: the last poll before the
        span (asked only for a store whose first poll lies before it), and
        from there the polls up to the span's end. A store whose first poll
        is after the span, or that has none, is skipped without a seek."""
        start, end = int(span.start_us), int(span.end_us)
        also = f" and {stores_where}" if stores_where else ""
        if self.backend == "postgresql":
            # LATERAL: a loop over stores with index seeks inside, whatever
            # the table statistics say (a hash join over every poll is what
            # the planner picks otherwise, seconds per week of history);
            # OFFSET 0 keeps it from flattening the subquery into that join.
            return (
                "(select p.store_key, p.ts_us, p.active from stores s "
                f"cross join lateral (select coalesce(max(q.ts_us), {start}) as lower "
                f"from polls q where q.store_key = s.store_key and q.ts_us < {start} "
                f"and s.first_poll_us < {start}) b "
                "cross join lateral (select p.store_key, p.ts_us, p.active from polls p "
                f"where p.store_key = s.store_key and p.ts_us >= b.lower "
                f"and p.ts_us <= {end} offset 0) p "
                f"where s.first_poll_us <= {end}{also}) w"
            )
        lower = (
            f"case when s.first_poll_us < {start} then coalesce(("
            f"select max(q.ts_us) from polls q where q.store_key = s.store_key "
            f"and q.ts_us < {start}), {start}) else {start} end"
        )
        # SQLite's planner may scan every poll and look its store up rather
        # than seek each store's polls; CROSS JOIN makes it loop over stores.
        join = "cross join" if self.backend == "sqlite" else "join"
        # s.store_key: SQLite then knows the rows come in key order (it loops
        # over stores), and groups or orders by it without a sort.
        return (
            "(select s.store_key as store_key, p.ts_us as ts_us, p.active as active "
            f"from stores s {join} polls p on p.store_key = s.store_key and p.ts_us >= {lower} "
            f"and p.ts_us <= {end} where s.first_poll_us <= {end}{also}) w"
        )


class SnapshotReader(ABC):
    """Reads snapshots of one database."""

    #: Whether a span over a short history (see :func:`_history_is_short`)
    #: is read by one scan of every poll rather than store by store.
    scans_short_history = False

    def reads_in_parts(self, read: Transaction, span: SpanChoice) -> bool:
        """Whether a read of ``span`` should run in :attr:`read_parts` key
        ranges at once (when there are several), given a transaction."""
        return True

    #: Key ranges a read of every store is split into, read at once (1:
    #: one transaction); see :mod:`storemon.data.parts`.
    read_parts = 1
    #: Fewest stores per part: a smaller database is read in one.
    part_min_stores = 2_000

    def __init__(self, url: URL) -> None:
        self.url = url

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Transaction]:
        """One read-only transaction; every query in it sees the same state."""

    def read_snapshot(
        self,
        store_ids: Sequence[str] | None = None,
        span: SpanChoice = None,
        *,
        groups: bool = False,
        key_range: tuple[int, int] | None = None,
    ) -> tuple[Snapshot, DatasetState]:
        """Stores, polls, business hours and special hours as engine arrays
        (and with ``groups`` the group memberships), with the dataset state
        they belong to, all read in one transaction.

        ``store_ids`` narrows the read to those stores (unknown ids are
        ignored); ``span`` (a :class:`Span`, or a function of the dataset
        state giving one) narrows the polls to what a computation over it
        needs; without one every poll is read. ``key_range`` (first and
        last store key, both included) narrows it to those store keys.
        Raises :class:`PrunedHistoryError` for a span that starts before the
        retention horizon, :class:`SchemaNotCurrentError` when the database
        is not at the schema this code expects, :class:`DatabaseError` when
        it cannot be read. (:mod:`storemon.data.parts` reads the same in
        :attr:`read_parts` key ranges at once.)
        """
        with self.transaction() as read:
            return self.read_in(
                read,
                None if store_ids is None else list(store_ids),
                span,
                groups=groups,
                key_range=key_range,
            )

    def read_in(
        self,
        read: Transaction,
        store_ids: Sequence[str] | None,
        span: SpanChoice,
        *,
        groups: bool = False,
        key_range: tuple[int, int] | None = None,
    ) -> tuple[Snapshot, DatasetState]:
        """What :meth:`read_snapshot` reads, inside the transaction ``read``."""
        revision = _revision(read)
        if revision != HEAD_REVISION:
            found = "has no storemon schema" if revision is None else f"is at {revision!r}"
            raise SchemaNotCurrentError(
                f"database {shown(self.url)} {found}, this storemon needs schema "
                f"{HEAD_REVISION!r}: migrate it first"
            )
        state = _read_state(read)
        chosen = span(state) if callable(span) else span
        if (
            chosen is not None
            and state.retained_from_us is not None
            and chosen.start_us < state.retained_from_us
        ):
            raise PrunedHistoryError.of(state.retained_from_us, chosen.start_us)
        in_range = ""
        if key_range is not None:
            first, last = (int(key) for key in key_range)
            in_range = f"store_key between {first} and {last}"
        # coalesce: a column that starts with a run of NULLs must still be text.
        stores = read.query(
            "select store_key, store_id, coalesce(timezone, '') as timezone from stores"
            + (f" where {in_range}" if in_range else "")
        )
        keys = int_column(stores, "store_key")
        ids = np.asarray(stores.column("store_id").to_pylist(), dtype=object)
        zones = np.asarray(stores.column("timezone").to_pylist(), dtype=object)
        zones[zones == ""] = None

        keys_in = ""
        wanted: np.ndarray | None = None
        if store_ids is not None:
            keep = np.isin(ids, np.asarray(list(store_ids), dtype=object))
            keys, ids, zones = keys[keep], ids[keep], zones[keep]
            wanted = keys
            if len(keys) <= STORE_FILTER_IN_SQL:
                # Integers read from the database: safe to inline.
                keys_in = f"store_key in ({','.join(map(str, keys.tolist())) or 'null'})"
        narrowed = " and ".join(c for c in (in_range, keys_in) if c)
        where = f" where {narrowed}" if narrowed else ""
        if chosen is not None and self.scans_short_history and _history_is_short(read, chosen):
            # Nearly every stored poll is needed: one scan of the table
            # beats the store-by-store plan. Polls after the span change
            # nothing: filtered out only when there are any.
            newest = state.newest_poll_us
            until = f"ts_us <= {int(chosen.end_us)}"
            if newest is None or newest <= chosen.end_us:
                until = ""
            conditions = " and ".join(c for c in (narrowed, until) if c)
            polls = read.polls("polls", f" where {conditions}" if conditions else "")
        elif chosen is None:
            polls = read.polls("polls", where)
        else:
            source = read.span_source(chosen, narrowed.replace("store_key", "s.store_key"))
            polls = read.polls(source, "")
        hours = read.integers("business_hours", HOUR_COLUMNS, where)
        special_table = read.query(SPECIAL_HOURS_QUERY + where)
        special = [int_column(special_table, name) for name in SPECIAL_COLUMNS]
        members = read.query(MEMBERSHIPS_QUERY + where) if groups else None

        if wanted is not None and not keys_in:
            mask = np.isin(polls[0], wanted)
            polls = [column[mask] for column in polls]
            mask = np.isin(hours[0], wanted)
            hours = [column[mask] for column in hours]
            mask = np.isin(special[0], wanted)
            special = [column[mask] for column in special]
        poll_keys, poll_ts, active = polls
        snapshot = Snapshot(
            stores=Stores.build(keys, ids, zones),
            polls=Polls.build(poll_keys, poll_ts, active.astype(np.bool_, copy=False)),
            hours=Hours.build(*hours),
            special=SpecialHours.build(*special),
            groups=Memberships.empty() if members is None else _memberships(members, keys, ids),
        )
        return snapshot, state

    def revision(self) -> str | None:
        """The schema revision the database is at; None for a database
        without the storemon schema (or, for SQLite, a file that does not
        exist)."""
        try:
            with self.transaction() as read:
                return _revision(read)
        except NoDatabaseError:
            return None


#: Most key ranges one read is split into (one connection each).
MAX_READ_PARTS = 4


def parallel_read_parts() -> int:
    """Key ranges a reader whose driver releases the GIL reads at once:
    one per CPU, up to :data:`MAX_READ_PARTS`."""
    return max(1, min(os.cpu_count() or 1, MAX_READ_PARTS))


def reader_for(url: URL | str, *, sqlite_adbc: bool = False) -> SnapshotReader:
    """The reader for ``url``'s backend; ``sqlite_adbc``: SQLite through ADBC
    (only in a process that never has other connections to the file open
    while it reads; see the module's docstring)."""
    url = parse_url(url)
    backend = backend_of(url)
    if backend == "sqlite":
        return SQLiteReader(url, adbc=sqlite_adbc)
    if backend == "postgresql":
        return PostgreSQLReader(url)
    return MySQLReader(url)


def _history_is_short(read: Transaction, span: Span) -> bool:
    """Whether the polls stored before ``span`` cover at most half its
    length, so that nearly every stored poll is needed anyway.
    ``stores.first_poll_us`` answers without touching the polls."""
    oldest = read.query("select min(first_poll_us) as oldest from stores").column("oldest")
    first = oldest[0].as_py() if len(oldest) else None
    return first is None or span.start_us - first <= (span.end_us - span.start_us) // 2


def _revision(read: Transaction) -> str | None:
    try:
        table = read.query("select version_num from alembic_version")
    except NoSuchTable:
        return None
    values = table.column("version_num").to_pylist()
    return str(values[0]) if values else None


def _memberships(table: pa.Table, keys: np.ndarray, ids: np.ndarray) -> Memberships:
    """``(store_id, group)`` pairs of the memberships read, for the stores
    read (``keys`` and ``ids`` aligned)."""
    if not len(keys):
        return Memberships.empty()
    member_keys = int_column(table, "store_key")
    order = np.argsort(keys, kind="stable")
    position = np.searchsorted(keys, member_keys, sorter=order)
    row = order[np.minimum(position, len(keys) - 1)]
    known = keys[row] == member_keys
    groups = np.asarray(table.column("group_name").to_pylist(), dtype=object)
    return Memberships.build(ids[row[known]], groups[known])


def _read_state(read: Transaction) -> DatasetState:
    table = read.query(
        "select version, newest_poll_us, retained_from_us from dataset_state where id = 1"
    )
    version, newest, retained = (column[0].as_py() for column in table.columns)
    return DatasetState(
        int(version),
        None if newest is None else int(newest),
        None if retained is None else int(retained),
    )


def format_utc(us: int) -> str:
    from datetime import UTC, datetime, timedelta

    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _is_missing_table(error: Exception) -> bool:
    text = str(error)
    return "no such table" in text or "does not exist" in text


def rows_to_table(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> pa.Table:
    import pyarrow as pa

    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pa.table({name: pa.array(column) for name, column in zip(names, columns, strict=True)})


def int_column(table: pa.Table, name: str) -> np.ndarray:
    column = table.column(name)
    array = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    if array.null_count:
        raise DatabaseError(f"unexpected NULL in column {name}")
    # Zero-copy for int64 columns; narrower integers are widened by the engine.
    return np.asarray(array.to_numpy(zero_copy_only=False))


def _parse_integers(text: bytes, columns: Sequence[str]) -> pa.Table:
    """Comma-separated integer rows, one per line, parsed by Arrow."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    return pa_csv.read_csv(
        pa.py_buffer(text),
        read_options=pa_csv.ReadOptions(column_names=list(columns)),
        convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(columns, pa.int64())),
    )


# SQLite ---------------------------------------------------------------------


class _SQLiteTransaction(Transaction):
    backend = "sqlite"

    def __init__(self, connection: Any, url: URL) -> None:
        self._connection = connection
        self._url = url

    def _rows(self, sql: str) -> tuple[list[str], list[Any]]:
        import sqlite3

        try:
            cursor = self._connection.execute(sql)
            rows = cursor.fetchall()
        except sqlite3.OperationalError as error:
            if _is_missing_table(error):
                raise NoSuchTable() from None
            raise DatabaseError(f"cannot read {shown(self._url)}: {first_line(error)}") from None
        return [column[0] for column in cursor.description], rows

    def query(self, sql: str) -> pa.Table:
        return rows_to_table(*self._rows(sql))

    def polls(self, source: str, where: str) -> list[np.ndarray]:
        """``sqlite3`` makes a Python object of every value, which for millions
        of polls costs more than the rest of the report. So SQLite packs each
        store's polls into one text value (``ts_us * 2 + active`` per line)
        and Arrow parses them all at once."""
        _, rows = self._rows(
            "select store_key, count(*), group_concat(ts_us * 2 + active, char(10)) "
            f"from {source}{where} group by store_key"
        )
        if not rows:
            return [np.zeros(0, np.int64) for _ in POLL_COLUMNS]
        keys = np.fromiter((row[0] for row in rows), np.int64, len(rows))
        counts = np.fromiter((row[1] for row in rows), np.int64, len(rows))
        text = "\n".join([row[2] for row in rows]).encode()
        packed = int_column(_parse_integers(text, ("packed",)), "packed")
        return _unpacked(self._url, keys, counts, packed)


def _unpacked(
    url: URL, keys: np.ndarray, counts: np.ndarray, packed: np.ndarray
) -> list[np.ndarray]:
    """Poll columns from ``counts[i]`` packed polls (``ts_us * 2 + active``)
    of store ``keys[i]``, in that order."""
    if len(packed) != counts.sum():
        raise DatabaseError(f"cannot read {shown(url)}: polls read incompletely")
    # An arithmetic shift: right for timestamps before 1970 too.
    return [np.repeat(keys, counts), packed >> 1, packed & 1]


class SQLiteReader(SnapshotReader):
    """``adbc``: read through ADBC's own SQLite (see the module's docstring
    for when a process may); else through ``sqlite3``."""

    def __init__(self, url: URL, *, adbc: bool = False) -> None:
        super().__init__(url)
        self.adbc = adbc
        if adbc:
            # ADBC's SQLite runs the queries without the GIL, and several
            # connections of one copy of SQLite may have the file open.
            self.read_parts = parallel_read_parts()

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        import sqlite3
        from urllib.parse import quote

        path = sqlite_file(self.url)
        if not os.path.exists(path):
            # Not a wrong URL: a database nobody has created yet.
            raise NoDatabaseError(f"database file {path} does not exist yet: migrate it first")
        # Read-only: a report never writes, nor creates a file.
        target = f"file:{quote(os.path.abspath(path))}?mode=ro"
        # Wait, as the other connections do, rather than fail at once while a
        # writer briefly holds the file (a checkpoint, say).
        wait = f"pragma busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}"
        if self.adbc:
            import adbc_driver_sqlite

            with _adbc_transaction(adbc_driver_sqlite, target, self.url, wait) as read:
                yield read
            return
        try:
            connection = sqlite3.connect(target, uri=True, isolation_level=None)
        except sqlite3.Error as error:
            raise DatabaseError(f"cannot open database {shown(self.url)}: {error}") from None
        try:
            connection.execute(wait)
            connection.execute("BEGIN")
            yield _SQLiteTransaction(connection, self.url)
        finally:
            connection.close()


# ADBC: PostgreSQL, and SQLite where the process allows ------------------------


#: Statement options that make a result arrive as one Arrow batch (up to
#: these many rows or bytes), so that its integer columns become numpy arrays
#: without a copy: the drivers' default batches (1,024 rows, 16 MB) would be
#: joined by a copy of every poll, which costs time and a second copy's memory.
_ONE_BATCH = {
    "sqlite": {"adbc.sqlite.query.batch_rows": str(1 << 26)},
    "postgresql": {"adbc.postgresql.batch_size_hint_bytes": str(1 << 34)},
}


class _ADBCTransaction(Transaction):
    def __init__(self, connection: Any, url: URL) -> None:
        self._connection = connection
        self._url = url
        self.backend = backend_of(url)

    def query(self, sql: str) -> pa.Table:
        import adbc_driver_manager as dm
        import pyarrow as pa

        statement = dm.AdbcStatement(self._connection)
        try:
            statement.set_options(**_ONE_BATCH[self.backend])
            statement.set_sql_query(sql)
            stream, _ = statement.execute_query()
            return pa.RecordBatchReader._import_from_c(stream.address).read_all()
        except dm.ProgrammingError as error:
            if _is_missing_table(error):
                raise NoSuchTable() from None
            raise DatabaseError(f"cannot read {shown(self._url)}: {first_line(error)}") from None
        except dm.Error as error:
            raise DatabaseError(f"cannot read {shown(self._url)}: {first_line(error)}") from None
        finally:
            statement.close()

    def polls(self, source: str, where: str) -> list[np.ndarray]:
        """ADBC's SQLite driver spends most of a read converting values, at
        about the same cost per value whatever the column: so SQLite sends
        one packed column (``ts_us * 2 + active``) in store order and a
        count per store, which is read in 60 % of the time of three columns."""
        if self.backend != "sqlite":
            return super().polls(source, where)
        counts = self.query(
            f"select store_key, count(*) as n from {source}{where} "
            "group by store_key order by store_key"
        )
        packed = int_column(
            self.query(
                f"select ts_us * 2 + active as packed from {source}{where} "
                "order by store_key, ts_us"
            ),
            "packed",
        )
        keys, n = int_column(counts, "store_key"), int_column(counts, "n")
        return _unpacked(self._url, keys, n, packed)


@contextmanager
def _adbc_transaction(driver: Any, target: str, url: URL, *setup: str) -> Iterator[Transaction]:
    """One connection of an ADBC ``driver`` module through ADBC's low-level
    API (rows arrive as Arrow columns), autocommit off so every statement
    reads the same state; the ``setup`` statements run first."""
    import adbc_driver_manager as dm

    try:
        database = driver.connect(target)
        connection = dm.AdbcConnection(database)
    except dm.Error as error:
        raise DatabaseUnavailableError(
            f"cannot open database {shown(url)}: {first_line(error)}"
        ) from None
    try:
        connection.set_options(**{"adbc.connection.autocommit": "false"})
        for sql in setup:
            statement = dm.AdbcStatement(connection)
            try:
                statement.set_sql_query(sql)
                statement.execute_update()
            except dm.Error as error:
                raise DatabaseError(f"cannot read {shown(url)}: {first_line(error)}") from None
            finally:
                statement.close()
        yield _ADBCTransaction(connection, url)
        connection.rollback()
    finally:
        connection.close()
        database.close()


class PostgreSQLReader(SnapshotReader):
    # Its store-by-store plan (LATERAL) costs more than it saves over a week
    # or so of history; SQLite's seeks cost no more than a scan, and a scan
    # holds more polls in memory.
    scans_short_history = True

    def __init__(self, url: URL) -> None:
        super().__init__(url)
        self.read_parts = parallel_read_parts()

    def reads_in_parts(self, read: Transaction, span: SpanChoice) -> bool:
        # The store-by-store read pays in parts (12 weeks stored, scale 1:
        # 0.74 s in two against 1.12 s in one); the scan of a short history
        # does not (0.66 s against 0.63 s), quiet machine.
        if span is None:
            return True
        state = _read_state(read)
        chosen = span(state) if callable(span) else span
        return chosen is None or not _history_is_short(read, chosen)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        import adbc_driver_postgresql

        # libpq reads the URL with the same percent-encoding as SQLAlchemy.
        target = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        repeatable = "set transaction isolation level repeatable read"
        # Compiling the span read costs more than it saves (0.15 s of 1.4 s).
        no_jit = "set local jit = off"
        with _adbc_transaction(
            adbc_driver_postgresql, target, self.url, repeatable, no_jit
        ) as read:
            yield read


# MySQL / MariaDB ------------------------------------------------------------


class _MySQLTransaction(Transaction):
    """Queries on one PyMySQL connection inside one consistent snapshot."""

    backend = "mysql"

    #: Store keys per row of a grouped integer read (see :meth:`integers`).
    STORES_PER_GROUP = 256
    #: Longest text of one group (the server also caps it at max_allowed_packet).
    GROUP_TEXT_LIMIT = 1 << 30

    def __init__(self, raw: Any, url: URL) -> None:
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
                raise NoSuchTable() from None
            raise DatabaseError(f"cannot read {shown(self._url)}: {error}") from None
        finally:
            cursor.close()

    def query(self, sql: str) -> pa.Table:
        return rows_to_table(*self._fetch(sql))

    def integers(self, table: str, columns: Sequence[str], where: str) -> list[np.ndarray]:
        """PyMySQL decodes every value in Python, seconds for millions of
        polls. Here the server writes the rows as CSV text, a few hundred
        stores per result row, and Arrow parses it. A group cut short (by
        ``group_concat_max_len`` or ``max_allowed_packet``) shows in the row
        count, and then the plain query runs instead."""
        import pyarrow as pa

        listed = ", ".join(columns)
        group = f"{columns[0]} div {self.STORES_PER_GROUP}"
        self._fetch(f"set session group_concat_max_len = {self.GROUP_TEXT_LIMIT}")
        _, rows = self._fetch(
            f"select count(*), group_concat(concat_ws(',', {listed}) order by {listed} "
            f"separator '\\n') from {table}{where} group by {group} order by {group}"
        )
        expected = sum(int(row[0]) for row in rows)
        if expected == 0:
            return [np.zeros(0, np.int64) for _ in columns]
        text = b"\n".join(row[1] if isinstance(row[1], bytes) else row[1].encode() for row in rows)
        try:
            frame = _parse_integers(text, columns)
        except pa.ArrowInvalid:  # a row cut in the middle
            frame = None
        if frame is None or frame.num_rows != expected:
            return super().integers(table, columns, where)
        return [int_column(frame, name) for name in columns]


class MySQLReader(SnapshotReader):
    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        from storemon.data.database import make_engine

        engine = make_engine(self.url)
        try:
            raw = engine.raw_connection()
            try:
                raw.cursor().execute("start transaction with consistent snapshot, read only")
                yield _MySQLTransaction(raw, self.url)
                raw.rollback()
            finally:
                raw.close()
        finally:
            engine.dispose()

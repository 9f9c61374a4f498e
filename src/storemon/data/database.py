"""Where the database is and how to open it: URLs are parsed and shown (the
password hidden) by SQLAlchemy's ``make_url``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import URL, Connection, Engine, make_url

from storemon.messages import first_line

DEFAULT_URL = "sqlite:///storemon.db"

#: Bare server URLs get the drivers this project ships.
_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
}
_BACKENDS = {"sqlite": "sqlite", "postgresql": "postgresql", "mysql": "mysql", "mariadb": "mysql"}

#: How long opening a connection to a database server may take.
CONNECT_TIMEOUT_S = 5

#: How long a SQLite writer waits for another writer's lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseError(Exception):
    """A database problem, worded for the user (one line, no traceback)."""


class DatabaseUnavailableError(DatabaseError):
    """The database could not be reached or opened (a server away, a network
    cut): the API answers 503 with ``Retry-After``."""


class SchemaNotCurrentError(DatabaseError):
    """The database has not been migrated to this version's schema."""


class NoDatabaseError(SchemaNotCurrentError):
    """A SQLite file that does not exist: nobody has created the database yet."""


def parse_url(text: str | URL) -> URL:
    """The database URL ``text`` names, with the project's drivers for bare
    ``postgresql://`` and ``mysql://`` URLs; a :class:`DatabaseError` when it
    is not a URL of a supported database.

    >>> parse_url("postgres://u@db/x").render_as_string()
    'postgresql+psycopg://u@db/x'
    """
    try:
        url = text if isinstance(text, URL) else make_url(text.strip())
    except exc.ArgumentError:
        raise DatabaseError(
            f"not a database URL: {str(text)!r} (expected e.g. {DEFAULT_URL})"
        ) from None
    if url.drivername in _DRIVERS:
        url = url.set(drivername=_DRIVERS[url.drivername])
    backend_of(url)
    return url


def backend_of(url: URL) -> str:
    """``sqlite``, ``postgresql`` or ``mysql``."""
    backend = _BACKENDS.get(url.get_backend_name())
    if backend is None:
        raise DatabaseError(
            f"unsupported database {url.get_backend_name()!r}: "
            "use a sqlite://, postgresql:// or mysql:// URL"
        )
    return backend


def shown(url: URL | str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "(not a URL)"


def sqlite_file(url: URL) -> str:
    """The file of a ``sqlite:///path`` URL (relative to the working directory;
    ``sqlite:////abs/path`` for an absolute one)."""
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise DatabaseError(f"{shown(url)!r} is not a SQLite file URL (sqlite:///path/to/file.db)")
    return url.database


def make_engine(url: URL | str, **kwargs: Any) -> Engine:
    """An engine for ``url``, checked by opening one connection so a bad URL
    or an unreachable server fails here with a :class:`DatabaseError`."""
    url = parse_url(url)
    backend = backend_of(url)
    if backend != "sqlite":
        # Test each pooled connection before handing it out: after a database
        # restart or a network cut, stale connections are replaced instead of
        # failing the next request. And fail fast while it is unreachable.
        kwargs.setdefault("pool_pre_ping", True)
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
        kwargs["connect_args"] = connect_args
    try:
        engine = sa.create_engine(url, **kwargs)
    except (exc.ArgumentError, ImportError, ValueError) as error:
        raise DatabaseError(f"bad database URL {shown(url)}: {error}") from None

    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    elif backend == "mysql":
        event.listen(engine, "do_connect", _mysql_without_found_rows)

    try:
        with engine.connect():
            pass
    except exc.DBAPIError as error:
        engine.dispose()
        raise DatabaseUnavailableError(
            f"cannot open database {shown(url)}: {first_line(error.orig)}"
        ) from None
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN away from the sqlite3 module (it would start transactions
    # late, after reads); _sqlite_on_begin emits it (SQLAlchemy's documented
    # recipe for real SQLite transactions).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # First, so that even switching to WAL waits for a busy database.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # WAL: readers (the report) see a consistent snapshot while an ingest writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


#: Execution option: ``conn.execution_options(sqlite_begin="IMMEDIATE")`` makes
#: a SQLite transaction take the write lock at once. A deferred transaction
#: that reads and then writes fails at once (busy_timeout does not apply) when
#: another writer committed in between.
SQLITE_BEGIN = "sqlite_begin"


def _sqlite_on_begin(conn: Any) -> None:
    mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
    if mode not in ("DEFERRED", "IMMEDIATE", "EXCLUSIVE"):
        raise ValueError(f"bad {SQLITE_BEGIN} option {mode!r}")
    conn.exec_driver_sql(f"BEGIN {mode}")


#: SQLite, while an ingest writes: a page cache that holds what one commit
#: changes (an hourly append of every store dirties one leaf page per store,
#: about 60 MB at 14k stores), so the pages go to the WAL once, at the commit,
#: instead of spilling on the way ...
_BULK_CACHE_KIB = 65_536
#: ... and a commit that leaves the WAL under this many pages (256 MiB) does
#: not copy it back into the database file (a checkpoint, which also syncs the
#: file) itself: one checkpoint then covers many commits, which touch mostly
#: the same pages, instead of one per commit. The WAL stays bounded; a server
#: checkpoints after each load, off the request (:func:`checkpoint_in_background`),
#: and the last connection to close checkpoints what is left.
_BULK_AUTOCHECKPOINT_PAGES = 65_536


@contextmanager
def sqlite_bulk_writes(conn: Connection) -> Iterator[None]:
    """On SQLite, the settings above on ``conn``'s connection while the block
    runs (put back afterwards: the connection returns to a pool); elsewhere
    nothing."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    # Straight to the driver: through SQLAlchemy a PRAGMA would begin a transaction.
    cache = raw.execute("PRAGMA cache_size").fetchone()[0]
    autocheckpoint = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    raw.execute(f"PRAGMA cache_size = -{_BULK_CACHE_KIB}")
    raw.execute(f"PRAGMA wal_autocheckpoint = {_BULK_AUTOCHECKPOINT_PAGES}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = {int(cache)}")
        raw.execute(f"PRAGMA wal_autocheckpoint = {int(autocheckpoint)}")


def checkpoint_in_background(engine: Engine) -> None:
    """SQLite: copy the WAL back into the database file in a thread of its
    own (a passive checkpoint: it waits for nobody and nobody waits for it),
    so a request that loaded data answers without paying for it. Elsewhere
    nothing. A checkpoint that fails is left to the next one."""
    if engine.dialect.name != "sqlite":
        return

    def run() -> None:
        try:
            with engine.connect() as conn:
                raw = conn.connection.driver_connection
                assert raw is not None
                raw.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except Exception:
            pass  # best effort: the next checkpoint catches up

    threading.Thread(target=run, name="storemon-checkpoint", daemon=True).start()


def _mysql_without_found_rows(
    _dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]
) -> None:
    # SQLAlchemy asks MySQL to count matched rows; the ingest needs the count
    # of rows actually changed (an unchanged upsert counts 0) to tell whether
    # a load changed anything.
    from pymysql.constants import CLIENT

    cparams["client_flag"] = cparams.get("client_flag", 0) & ~CLIENT.FOUND_ROWS

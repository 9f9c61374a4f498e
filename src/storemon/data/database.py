"""Where the database is and how to open it.

SQLAlchemy is imported inside :func:`make_engine` only: the report's read path
resolves the URL here but reads through ADBC, and importing SQLAlchemy would
cost it a fifth of its time budget.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

ENV_VAR = "STOREMON_DATABASE_URL"
DEFAULT_URL = "sqlite:///storemon.db"

_SCHEMES = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
}

#: How long a SQLite writer waits for another writer's lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseError(Exception):
    """A database problem, worded for the user (one line, no traceback)."""


class SchemaNotCurrentError(DatabaseError):
    """The database has not been migrated to this version's schema."""


def resolve_url(explicit: str | None = None) -> str:
    """The database URL: ``explicit`` if given, else ``$STOREMON_DATABASE_URL``,
    else a SQLite file ``storemon.db`` in the working directory. Bare
    ``postgresql://`` and ``mysql://`` URLs get the drivers this project ships.

    >>> resolve_url("postgres://u@db/x")
    'postgresql+psycopg://u@db/x'
    """
    url = (explicit or os.environ.get(ENV_VAR) or DEFAULT_URL).strip()
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise DatabaseError(f"not a database URL: {url!r} (expected e.g. sqlite:///storemon.db)")
    return f"{_SCHEMES.get(scheme.lower(), scheme)}://{rest}"


def backend_of(url: str) -> str:
    """``sqlite``, ``postgresql`` or ``mysql`` for a resolved URL."""
    scheme = url.partition("://")[0].partition("+")[0].lower()
    if scheme in ("sqlite", "postgresql", "mysql"):
        return scheme
    if scheme == "mariadb":
        return "mysql"
    raise DatabaseError(
        f"unsupported database {scheme!r}: use a sqlite://, postgresql:// or mysql:// URL"
    )


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and logs)."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    return f"{scheme}{sep}{userinfo}{at}{host}{slash}{path}"


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url`` (resolved with :func:`resolve_url`), checked by
    opening one connection so a bad URL or an unreachable server fails here
    with a :class:`DatabaseError`."""
    import sqlalchemy as sa
    from sqlalchemy import event, exc

    url = resolve_url(url)
    backend = backend_of(url)
    if backend == "sqlite":
        # Connections stay open only while in use, so the report's ADBC
        # reads in this process seldom have to yield (see sqlite_access).
        kwargs.setdefault("poolclass", sa.NullPool)
    try:
        engine = sa.create_engine(url, **kwargs)
    except (exc.ArgumentError, ImportError, ValueError) as error:
        raise DatabaseError(f"bad database URL {redact(url)}: {error}") from None

    if backend == "sqlite":
        event.listen(engine, "do_connect", _sqlite_connect)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    elif backend == "mysql":
        event.listen(engine, "do_connect", _mysql_without_found_rows)

    try:
        with engine.connect():
            pass
    except exc.DBAPIError as error:
        engine.dispose()
        raise DatabaseError(
            f"cannot open database {redact(url)}: {first_line(error.orig)}"
        ) from None
    return engine


def first_line(error: BaseException | None) -> str:
    text = str(error).strip() if error is not None else ""
    return text.splitlines()[0] if text else type(error).__name__


def _sqlite_connect(dialect: Any, _record: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
    from storemon.data import sqlite_access

    path = cargs[0] if cargs else cparams.get("database", "")
    if not path or path == ":memory:" or cparams.get("uri"):
        return None  # SQLAlchemy connects as usual
    cparams["factory"] = sqlite_access.TrackedConnection

    def connect() -> Any:
        connection = dialect.loaded_dbapi.connect(*cargs, **cparams)
        connection.tracked_path = path
        return connection

    return sqlite_access.open_with_sqlite3(path, connect)


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


def _mysql_without_found_rows(
    _dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]
) -> None:
    # SQLAlchemy asks MySQL to count matched rows; the ingest needs the count
    # of rows actually changed (an unchanged upsert counts 0) to tell whether
    # a load changed anything.
    from pymysql.constants import CLIENT

    cparams["client_flag"] = cparams.get("client_flag", 0) & ~CLIENT.FOUND_ROWS

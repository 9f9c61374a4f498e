"""Which database errors are worth trying again, and trying again.

Two kinds: the database went away (a dropped connection, a server that
restarts: try again once it is back) and a transaction the database chose
to abort so another could go on (a deadlock, a serialization failure, a lock
wait timeout: try again at once). Everything else is a real error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import exc

log = logging.getLogger(__name__)

T = TypeVar("T")

#: MySQL/MariaDB: deadlock found, lock wait timeout exceeded.
_MYSQL_ABORTED = {1213, 1205}
#: PostgreSQL SQLSTATEs: serialization failure, deadlock detected.
_POSTGRESQL_ABORTED = {"40001", "40P01"}
#: MySQL/MariaDB client errors for a server that cannot be reached or went
#: away mid-statement (2003 cannot connect, 2006 gone away, 2013 lost).
_MYSQL_GONE = {2002, 2003, 2006, 2013, 2055}


def aborted_to_retry(error: BaseException) -> bool:
    """A deadlock or serialization failure: the transaction may simply run again."""
    if not isinstance(error, exc.DBAPIError):
        return False
    orig = error.orig
    if getattr(orig, "sqlstate", None) in _POSTGRESQL_ABORTED:
        return True
    return _mysql_code(orig) in _MYSQL_ABORTED


def _mysql_code(orig: BaseException | None) -> int | None:
    """PyMySQL's error number (its errors are ``(code, message)``)."""
    args: tuple[object, ...] = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def database_unavailable(error: BaseException) -> bool:
    """The database cannot be reached (or dropped the connection), as
    opposed to refusing a statement."""
    if isinstance(error, exc.TimeoutError):  # no connection free in the pool
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, exc.InterfaceError):
        return True
    orig = error.orig
    if hasattr(orig, "sqlite_errorcode"):  # a file database does not go away
        return False
    code = _mysql_code(orig)
    if code is not None:
        return code in _MYSQL_GONE
    # psycopg: class 08 (connection exception), 57P01-03 (server shutting
    # down), or no SQLSTATE at all on an OperationalError: it never reached
    # a server that could answer.
    sqlstate = getattr(orig, "sqlstate", None) or ""
    if sqlstate.startswith("08") or sqlstate in {"57P01", "57P02", "57P03"}:
        return True
    return isinstance(error, exc.OperationalError) and not sqlstate


def transient(error: BaseException) -> bool:
    return aborted_to_retry(error) or database_unavailable(error)


def retrying(
    work: Callable[[], T],
    *,
    attempts: int = 6,
    first_wait_s: float = 0.05,
    max_wait_s: float = 5.0,
    what: str = "database work",
) -> T:
    """``work()``, run again after a transient error (see :func:`transient`)
    with doubling waits, at most ``attempts`` times in all; the last error is
    raised. ``work`` must be a whole transaction, safe to run again."""
    wait = first_wait_s
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except (exc.DBAPIError, exc.TimeoutError) as error:
            if attempt == attempts or not transient(error):
                raise
            log.warning(
                "%s: %s, trying again in %.2f s (%d of %d)",
                what,
                type(error.orig if isinstance(error, exc.DBAPIError) else error).__name__,
                wait,
                attempt,
                attempts,
            )
        time.sleep(wait)
        wait = min(wait * 2, max_wait_s)
    raise AssertionError("unreachable")

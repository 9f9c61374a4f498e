"""One copy of SQLite at a time per database file, within this process.

The report reads SQLite through ADBC, whose driver carries its own statically
linked SQLite; SQLAlchemy goes through Python's ``sqlite3`` and the system's
SQLite. Two copies of SQLite in one process must never have the same file
open at once: POSIX locks belong to the process, so each copy takes the
other's locks for its own, and closing a file in one drops the locks of the
other. The second copy then rebuilds the WAL index under the first (a bus
error) or corrupts the database (sqlite.org, "How To Corrupt An SQLite
Database File", section 2.2).

The rule kept here: opening a SQLAlchemy connection to a file waits while an
ADBC read of that file runs; a read that finds ``sqlite3`` connections open
does not wait but reads through ``sqlite3`` itself (slower, never blocked, so
no thread can deadlock on itself). Other processes are not affected: locks
between processes work as SQLite expects.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

_changed = threading.Condition()
_sqlite3_open: Counter[str] = Counter()
_adbc_open: Counter[str] = Counter()


def file_key(path: str) -> str:
    return os.path.realpath(path)


def open_with_sqlite3(path: str, connect: Callable[[], T]) -> T:
    """Run ``connect`` (which opens ``path`` with ``sqlite3``) once no ADBC
    read of the file is running; pair with :func:`closed_with_sqlite3`."""
    key = file_key(path)
    with _changed:
        _changed.wait_for(lambda: _adbc_open[key] == 0)
        _sqlite3_open[key] += 1
    try:
        return connect()
    except BaseException:
        closed_with_sqlite3(path)
        raise


def closed_with_sqlite3(path: str) -> None:
    key = file_key(path)
    with _changed:
        _sqlite3_open[key] -= 1
        if _sqlite3_open[key] <= 0:
            del _sqlite3_open[key]
        _changed.notify_all()


class TrackedConnection(sqlite3.Connection):
    """A ``sqlite3`` connection that reports its closing (set
    ``tracked_path`` once opened through :func:`open_with_sqlite3`)."""

    tracked_path: str | None = None

    def close(self) -> None:
        super().close()
        path, self.tracked_path = self.tracked_path, None
        if path is not None:
            closed_with_sqlite3(path)


@contextmanager
def read_turn(path: str) -> Iterator[bool]:
    """Reserve ``path`` for one read. Yields True: read with ADBC (no
    ``sqlite3`` connection is open, and none opens until the block ends);
    False: ``sqlite3`` connections are open, read with ``sqlite3`` (the
    block counts as one of them)."""
    key = file_key(path)
    with _changed:
        use_adbc = _sqlite3_open[key] == 0
        (_adbc_open if use_adbc else _sqlite3_open)[key] += 1
    try:
        yield use_adbc
    finally:
        with _changed:
            counter = _adbc_open if use_adbc else _sqlite3_open
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]
            _changed.notify_all()

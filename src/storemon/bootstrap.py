"""What a process needs, built once from its settings: the command line, the
server and the report workers all start here."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storemon.data.database import (
    NoDatabaseError,
    backend_of,
    make_engine,
    parse_url,
    sqlite_file,
)
from storemon.data.snapshot import SnapshotReader, reader_for
from storemon.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Engine

#: Connections the server keeps open, and how many more it may open at busy
#: times: more in all than the 40 threads that run routes plus the event
#: loop, so a request never waits for a connection.
SERVER_POOL_SIZE, SERVER_POOL_OVERFLOW = 20, 30


@dataclass
class Services:
    """The database (an engine, opened at first use, so a command that only
    reads never creates a database) and the report reader."""

    settings: Settings
    url: URL
    reader: SnapshotReader
    engine_options: dict[str, Any] = field(default_factory=dict)
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(self.url, **self.engine_options)
        return self._engine

    def require_database(self) -> None:
        """Raise :class:`NoDatabaseError` when the database does not exist
        (a SQLite file nobody created; a server database always exists)."""
        if backend_of(self.url) == "sqlite" and not os.path.exists(sqlite_file(self.url)):
            raise NoDatabaseError(f"database file {sqlite_file(self.url)} does not exist")

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def bootstrap(settings: Settings, *, server: bool = False) -> Services:
    """The services of one process.

    ``server``: a pool of open connections (a request must not wait to open
    a SQLite file, which costs more than a whole ``/get_report`` answer), and
    so SQLite reports read through ``sqlite3``. Any other process (a command,
    a report worker) does one thing at a time and opens a SQLite file only
    while it uses it, so its reports read SQLite through ADBC (see
    ``storemon.data.snapshot`` for why that must not overlap).
    """
    url = parse_url(settings.database_url)
    sqlite = backend_of(url) == "sqlite"
    options: dict[str, Any]
    if server:
        options = {"pool_size": SERVER_POOL_SIZE, "max_overflow": SERVER_POOL_OVERFLOW}
    elif sqlite:
        import sqlalchemy as sa

        options = {"poolclass": sa.NullPool}
    else:
        options = {}
    return Services(settings, url, reader_for(url, sqlite_adbc=sqlite and not server), options)

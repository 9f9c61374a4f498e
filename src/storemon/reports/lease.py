"""Leases on unfinished reports: who holds one, and keeping it while alive.

A Pending report is held by the process whose queue has it (an in-process
server; under Celery nobody: the broker has it, see ``jobs.celery_runner``);
a Running report by the process running it. The holder renews its leases
every third of the lease; a process that dies (kill -9, a lost host) stops
renewing, and once a lease expires any server's sweeper (``job.recover``)
takes the report over.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from storemon.data import reports

if TYPE_CHECKING:
    from types import TracebackType

    from sqlalchemy.engine import Connection, Engine

#: ``renew(connection, owner, lease, held)``: extends ``owner``'s leases on
#: what ``held`` names (reports by default; a shard's job renews shards).
Renew = Callable[["Connection", str, timedelta, Sequence[Any]], int]

log = logging.getLogger(__name__)

_owner: tuple[int, str] | None = None


def process_owner() -> str:
    """This process's owner id: host, pid and a random part (a pid is reused
    after a restart). A forked child gets its own."""
    global _owner
    pid = os.getpid()
    if _owner is None or _owner[0] != pid:
        host = socket.gethostname()[:40]
        _owner = (pid, f"{host}:{pid}:{secrets.token_hex(4)}")
    return _owner[1]


class Heartbeat:
    """A daemon thread renewing ``owner``'s leases on the reports ``held()``
    names (or, with ``renew``, on whatever it renews), every third of
    ``lease``, from :meth:`start` to :meth:`stop`.
    A renewal that fails (the database is away) is logged and tried at the
    next beat: the lease outlives two missed beats."""

    def __init__(
        self,
        engine: Engine,
        owner: str,
        lease: timedelta,
        held: Callable[[], Sequence[Any]],
        renew: Renew = reports.renew,
    ) -> None:
        self._engine = engine
        self._renew = renew
        self._owner = owner
        self._lease = lease
        self._held = held
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease heartbeat", daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> Heartbeat:
        return self.start()

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        interval = self._lease.total_seconds() / 3
        while not self._stopped.wait(interval):
            try:
                held = self._held()
                if held:
                    with self._engine.begin() as connection:
                        self._renew(connection, self._owner, self._lease, held)
            except Exception as error:  # the next beat may reach the database
                what = type(error).__name__
                log.warning("renewing the leases of %s failed: %s", self._owner, what)

"""Bounds on the work clients may cause: a few heavy reads at a time, each
in a worker process, and a rate limit on changes.

A heavy read (a store's time line over weeks of dense polls) is up to a
second of CPU. On a thread of the server it would share the interpreter lock
with the event loop, and a busy machine that pauses the thread holding the
lock pauses every request with it; in a worker process it cannot. Beyond
``slots`` reads at once the rest wait their turn (holding no thread) and are
told to come back if the wait grows long.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

from limits import parse as parse_rate
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from storemon.api.errors import ApiError
from storemon.bootstrap import Services, bootstrap
from storemon.messages import first_line
from storemon.settings import Settings

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: How often a worker looks whether its server is still there.
PARENT_CHECK_S = 1.0
#: The services of a heavy-read worker process, built when it starts.
_worker: Services | None = None


def _start_worker(settings: Settings, server_pid: int) -> None:
    global _worker
    _worker = bootstrap(settings, server=True)
    threading.Thread(target=_exit_with, args=(server_pid,), daemon=True).start()


def _exit_with(server_pid: int) -> None:
    # A server killed outright (kill -9) cannot stop its pool: the worker
    # notices it was handed to another parent and ends itself.
    while os.getppid() == server_pid:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def worker_services() -> Services:
    """The services of this heavy-read worker process."""
    assert _worker is not None, "not in a heavy-read worker process"
    return _worker


class HeavyReads:
    """At most ``slots`` heavy reads run at once, each in one of ``slots``
    spawned worker processes; a read waits at most ``wait_s`` seconds for a
    slot, then gets a 503. ``work`` is a module-level function (the worker
    imports it) that finds its database with :func:`worker_services`."""

    def __init__(self, settings: Settings, slots: int, wait_s: float) -> None:
        self._settings = settings
        self._slots_count = slots
        self._slots = asyncio.Semaphore(slots)
        self._wait_s = wait_s
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self._slots_count,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self._settings, os.getpid()),
        )

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            await asyncio.wait_for(self._slots.acquire(), self._wait_s)
        except TimeoutError:
            retry = str(max(1, math.ceil(self._wait_s)))
            raise ApiError(
                503, "too many heavy reads at once; try again shortly", {"Retry-After": retry}
            ) from None
        try:
            if self._pool is None:
                self._pool = self._new_pool()
            loop = asyncio.get_running_loop()
            try:
                return await loop.run_in_executor(self._pool, _call, work, args, kwargs)
            except BrokenProcessPool:
                # A worker died (killed, out of memory): the next read gets a
                # new pool; this one is answered as a server error.
                self._pool = None
                raise
        finally:
            self._slots.release()

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _call(work: Callable[..., T], args: tuple[object, ...], kwargs: dict[str, object]) -> T:
    return work(*args, **kwargs)


#: Longest the rate limit waits for a shared storage (connect, then each
#: answer) before letting the request through.
RATE_STORAGE_TIMEOUT_S = 0.5
#: A storage that keeps failing is logged at most this often.
RATE_STORAGE_WARN_EVERY_S = 60.0


class RateLimits:
    """A moving-window limit on the mutating requests of each client (its
    address and, when it sends one, its API key), kept in ``storage_uri``
    (``memory://`` for this process, ``redis://...`` to share it between
    servers, its keys under ``key_prefix``). A client over the limit gets a
    429 with Retry-After. When the storage does not answer within
    :data:`RATE_STORAGE_TIMEOUT_S`, requests go through: the limit protects
    the service, it must not take it down."""

    def __init__(self, rate: str, storage_uri: str, key_prefix: str = "storemon") -> None:
        self._item = parse_rate(rate)
        options: dict[str, float | str | bool] = {}
        if storage_uri.lower().startswith(("redis://", "rediss://")):
            # redis-py (a dependency already) rather than limits' default
            # async client, coredis, which is not installed.
            options = {
                "implementation": "redispy",
                "key_prefix": key_prefix,
                "socket_connect_timeout": RATE_STORAGE_TIMEOUT_S,
                "socket_timeout": RATE_STORAGE_TIMEOUT_S,
            }
        storage = storage_from_string(f"async+{storage_uri}", **options)
        self._limiter = MovingWindowRateLimiter(storage)
        self._warned_at = -math.inf

    async def hit(self, client: str, key: str | None) -> None:
        who = (
            [client] if key is None else [client, hashlib.sha256(key.encode("latin-1")).hexdigest()]
        )
        try:
            if await self._limiter.hit(self._item, *who):
                return
            stats = await self._limiter.get_window_stats(self._item, *who)
        except Exception as error:  # the storage's client error: let the request through
            now = time.monotonic()
            if now - self._warned_at >= RATE_STORAGE_WARN_EVERY_S:
                self._warned_at = now
                log.warning(
                    "rate limit storage failed, requests let through: %s", first_line(error)
                )
            return
        retry = str(max(1, math.ceil(stats.reset_time - time.time())))
        raise ApiError(
            429, f"more than {self._item} changes from this client", {"Retry-After": retry}
        )

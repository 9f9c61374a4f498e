"""Bounds on the work one request may cause: a few heavy reads at a time.

A heavy read (a store's time line over weeks of dense polls) is seconds of
CPU on a worker thread, and threads share one interpreter lock with the
event loop. Without a bound, ten at once starve everything else, /health
included; with one, the rest wait their turn (without holding a thread)
and are told to come back if the wait grows long.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from fastapi.concurrency import run_in_threadpool

from storemon.api.errors import ApiError

P = ParamSpec("P")
T = TypeVar("T")


class HeavyReads:
    """At most ``slots`` heavy reads run at once in this process; a read
    waits at most ``wait_s`` seconds for a slot, then gets a 503."""

    def __init__(self, slots: int, wait_s: float) -> None:
        self._slots = asyncio.Semaphore(slots)
        self._wait_s = wait_s

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``work`` on a worker thread once a slot is free."""
        try:
            await asyncio.wait_for(self._slots.acquire(), self._wait_s)
        except TimeoutError:
            retry = str(max(1, math.ceil(self._wait_s)))
            raise ApiError(
                503, "too many heavy reads at once; try again shortly", {"Retry-After": retry}
            ) from None
        try:
            return await run_in_threadpool(work, *args, **kwargs)
        finally:
            self._slots.release()

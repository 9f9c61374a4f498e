"""Estimated status between polls, and measures of time sets per store.

Every poll speaks for one segment of time (SPEC section 4): with ``nearest``
from the midpoint with the previous poll to the midpoint with the next one;
with ``previous`` from the poll itself to the next poll. The first poll of a
store reaches back without limit, the last forward without limit. A
``max_gap`` G (SPEC 8.1) cuts each segment to ``[t - G/2, t + G/2]``
(``nearest``) or ``[t, t + G]`` (``previous``); what no poll speaks for has
no data.

Times here are ticks (half microseconds) so that midpoints are integers.
"""

from __future__ import annotations

import numpy as np

from storemon.engine.model import TICKS_PER_MICROSECOND, IntArray, Interpolation

#: Keys ``store * stride + offset`` must stay below this.
KEY_LIMIT = 1 << 62
#: A max gap beyond this (over 140 years) reaches as far as an unlimited one
#: over the supported dates; capping it keeps tick arithmetic in int64.
_GAP_CAP_US = 1 << 52


def poll_segments(
    store: IntArray,
    ts_us: IntArray,
    interpolation: Interpolation,
    max_gap_us: int | None,
    lo_tick: int,
    hi_tick: int,
) -> tuple[IntArray, IntArray]:
    """The ``[start, end)`` (ticks) each poll speaks for, clipped to
    ``[lo_tick, hi_tick]`` (possibly empty), for polls sorted by store then time."""
    ticks = ts_us * TICKS_PER_MICROSECOND
    n = len(ticks)
    first_of_store = np.ones(n, dtype=np.bool_)
    first_of_store[1:] = store[1:] != store[:-1]
    last_of_store = np.ones(n, dtype=np.bool_)
    last_of_store[:-1] = first_of_store[1:]
    if interpolation == "nearest":
        # (a + b) / 2 in ticks == a_us + b_us: exact.
        boundary = ts_us[:-1] + ts_us[1:]
    else:
        boundary = ticks[1:]
    start = np.empty(n, dtype=np.int64)
    start[1:] = boundary
    start[first_of_store] = lo_tick
    end = np.empty(n, dtype=np.int64)
    end[:-1] = boundary
    end[last_of_store] = hi_tick
    if max_gap_us is not None:
        gap = min(max_gap_us, _GAP_CAP_US)
        # G/2 microseconds are G ticks.
        if interpolation == "nearest":
            back, forward = ticks - gap, ticks + gap
        else:
            back, forward = ticks, ticks + 2 * gap
        np.maximum(start, back, out=start)
        np.minimum(end, forward, out=end)
    start = np.clip(start, lo_tick, hi_tick)
    end = np.clip(end, start, hi_tick)
    return start, end


class Coverage:
    """How much of a set of time each store has in ``[origin, t]``.

    The set is given as intervals sorted by store then start, disjoint within
    a store. With ``inner``, the measure is that of ``inner``'s set within
    these intervals (e.g. active time within business hours).

    Intervals are looked up by the key ``store * stride + (start - origin)``;
    every instant asked about must lie in ``[origin, origin + stride)`` and
    ``store * stride`` below :data:`KEY_LIMIT`.
    """

    def __init__(
        self,
        store: IntArray,
        start: IntArray,
        end: IntArray,
        origin: int,
        stride: int,
        inner: Coverage | None = None,
    ) -> None:
        if len(store) and int(store.max()) >= KEY_LIMIT // stride:
            raise ValueError("too many stores for this span in one key range")
        self._store, self._start, self._end = store, start, end
        self._origin, self._stride, self._inner = origin, stride, inner
        if inner is None:
            self._base = start
            length = end - start
        else:
            self._base = inner.at(store, start)
            length = inner.at(store, end) - self._base
        running = np.cumsum(length)
        first_of_store = np.ones(len(store), dtype=np.bool_)
        first_of_store[1:] = store[1:] != store[:-1]
        store_base = (running - length)[first_of_store]
        self._before = running - length - store_base[np.cumsum(first_of_store) - 1]
        self._key = store * stride + (start - origin)

    def at(self, store: IntArray, t: IntArray) -> IntArray:
        """The measure of the set within ``[origin, t]``, per ``(store, t)`` pair."""
        if len(self._key) == 0:
            return np.zeros(len(t), dtype=np.int64)
        found = np.searchsorted(self._key, store * self._stride + (t - self._origin), "right") - 1
        interval = np.maximum(found, 0)
        valid = (found >= 0) & (self._store[interval] == store)
        until = np.minimum(t, self._end[interval])
        if self._inner is None:
            inside = until - self._base[interval]
        else:
            inside = self._inner.at(store, until) - self._base[interval]
        result: IntArray = np.where(valid, self._before[interval] + inside, 0)
        return result

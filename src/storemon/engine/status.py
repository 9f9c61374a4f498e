"""Estimated status between polls, as a cumulative "active time" function.

Every poll reaches over one segment of time; together a store's segments tile
the whole time line. With ``nearest`` a poll reaches from the midpoint with
the previous poll to the midpoint with the next one; with ``previous`` from the
poll itself to the next poll. The first poll of a store reaches back without
limit, the last forward without limit.

Times here are ticks (half microseconds) so that midpoints are integers.
"""

from __future__ import annotations

import numpy as np

from storemon.engine.model import TICKS_PER_MICROSECOND, BoolArray, IntArray, Interpolation

# Segments are packed with their store into one sortable int64:
# store << _STORE_SHIFT | ticks after the span start.
_STORE_SHIFT = 41


class ActiveTime:
    """``measure(store, t)``: ticks a store was estimated active in
    ``[span_start, t]``, for any ``t`` in the span.

    Built from polls sorted by store then time. Segments are clipped to the
    span, so a store's segments start at the span start and tile it.
    """

    def __init__(
        self,
        store: IntArray,
        ts_us: IntArray,
        active: BoolArray,
        interpolation: Interpolation,
        span_start_tick: int,
        span_end_tick: int,
    ) -> None:
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
        seg_start = np.empty(n, dtype=np.int64)
        seg_start[1:] = boundary
        seg_start[first_of_store] = span_start_tick
        seg_end = np.empty(n, dtype=np.int64)
        seg_end[:-1] = boundary
        seg_end[last_of_store] = span_end_tick
        seg_start = np.clip(seg_start, span_start_tick, span_end_tick)
        seg_end = np.clip(seg_end, span_start_tick, span_end_tick)

        active_length = np.where(active, seg_end - seg_start, 0)
        running = np.cumsum(active_length)
        # Active ticks of the same store before each segment.
        store_base = (running - active_length)[first_of_store]
        store_of_poll_run = np.cumsum(first_of_store) - 1
        self._before = running - active_length - store_base[store_of_poll_run]
        self._start = seg_start
        self._end = seg_end
        self._active = active
        self._origin = span_start_tick
        if span_end_tick - span_start_tick >= (1 << _STORE_SHIFT):
            raise ValueError("span too long to pack segment keys")
        self._key = (store << _STORE_SHIFT) | (seg_start - span_start_tick)

    def measure(self, store: IntArray, t: IntArray) -> IntArray:
        """Active ticks in ``[span_start, t]`` for each ``(store, t)`` pair;
        every store asked about must have at least one poll."""
        query = (store << _STORE_SHIFT) | (t - self._origin)
        segment = np.searchsorted(self._key, query, side="right") - 1
        inside = np.minimum(t, self._end[segment]) - self._start[segment]
        result: IntArray = self._before[segment] + np.where(self._active[segment], inside, 0)
        return result

"""Outages: maximal stretches of business time estimated inactive (SPEC 8.5)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from storemon.engine.fleet import check_options, prepare, shards
from storemon.engine.model import (
    TICKS_PER_MICROSECOND,
    TICKS_PER_SECOND,
    IntArray,
    Interpolation,
    Outages,
    Snapshot,
)
from storemon.engine.report import WEEK_US, round_hundredths


def compute_outages(
    snapshot: Snapshot,
    now_us: int,
    from_us: int | None = None,
    to_us: int | None = None,
    interpolation: Interpolation = "nearest",
    store_ids: Iterable[str] | None = None,
    max_gap_us: int | None = None,
) -> Outages:
    """Every outage overlapping ``[from_us, to_us]`` by a positive length, cut
    to it. ``from_us`` defaults to a week before ``now_us``, ``to_us`` to
    ``now_us``; ``to_us`` is cut to ``now_us``; an empty range gives no rows.
    With a max gap, only time spoken for by an inactive poll is an outage.
    """
    check_options(interpolation, max_gap_us)
    start_us = now_us - WEEK_US if from_us is None else from_us
    end_us = now_us if to_us is None else min(to_us, now_us)
    fleet = prepare(snapshot, now_us, store_ids)
    rows: list[IntArray] = []
    starts: list[IntArray] = []
    ends: list[IntArray] = []
    if start_us < end_us:
        for shard in shards(fleet, interpolation, max_gap_us, start_us, end_us):
            inactive = ~shard.segment_active
            run_row, run_start, run_end = _join_touching(
                shard.segment_row[inactive],
                shard.segment_start[inactive],
                shard.segment_end[inactive],
            )
            row, start, end = _intersect(
                (shard.open_row, shard.open_start, shard.open_end),
                (run_row, run_start, run_end),
            )
            rows.append(row + shard.rows.start)
            starts.append(start)
            ends.append(end)
    row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    start = np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64)
    end = np.concatenate(ends) if ends else np.zeros(0, dtype=np.int64)
    rank = np.empty(len(fleet), dtype=np.int64)
    rank[fleet.id_order()] = np.arange(len(fleet), dtype=np.int64)
    # Within a row outages are already in time order.
    order = np.argsort(rank[row], kind="stable")
    return Outages(
        now_us=now_us,
        interpolation=interpolation,
        max_gap_us=max_gap_us,
        from_us=start_us,
        to_us=end_us,
        store_id=fleet.store_id[row[order]],
        store_key=fleet.store_key[row[order]],
        start_tick=start[order],
        end_tick=end[order],
    )


def outage_columns(outages: Outages) -> dict[str, npt.NDArray[np.str_] | npt.NDArray[np.float64]]:
    """The CSV columns after ``store_id``: ``start_utc`` and ``end_utc``
    (``YYYY-MM-DD HH:MM:SS.ffffff``, truncated to the microsecond) and
    ``minutes`` rounded half up to 2 decimals from the exact length."""

    def text(ticks: IntArray) -> npt.NDArray[np.str_]:
        if len(ticks) == 0:
            return np.zeros(0, dtype=np.str_)
        micros = (ticks // TICKS_PER_MICROSECOND).astype("datetime64[us]")
        return np.char.replace(np.datetime_as_string(micros, unit="us"), "T", " ")

    return {
        "start_utc": text(outages.start_tick),
        "end_utc": text(outages.end_tick),
        "minutes": round_hundredths(outages.length_ticks, 60 * TICKS_PER_SECOND),
    }


Intervals = tuple[IntArray, IntArray, IntArray]


def _join_touching(row: IntArray, start: IntArray, end: IntArray) -> Intervals:
    """Join a store's consecutive intervals that touch (sorted, disjoint)."""
    if len(row) == 0:
        return row, start, end
    opens_new = np.ones(len(row), dtype=np.bool_)
    opens_new[1:] = (row[1:] != row[:-1]) | (start[1:] != end[:-1])
    first = np.flatnonzero(opens_new)
    last = np.append(first[1:], len(row)) - 1
    return row[first], start[first], end[last]


def _intersect(a: Intervals, b: Intervals) -> Intervals:
    """Pairwise overlaps of two interval lists, each sorted by row then start
    and disjoint within a row: sorted the same way."""
    a_row, a_start, a_end = a
    b_row, b_start, b_end = b
    if len(a_row) == 0 or len(b_row) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    # Within a row, b's ends increase with its starts; rows are compared first.
    first = _search(b_row, b_end, a_row, a_start, "right")
    stop = _search(b_row, b_start, a_row, a_end, "left")
    count = np.maximum(stop - first, 0)
    a_index = np.repeat(np.arange(len(a_row), dtype=np.int64), count)
    offset = np.arange(len(a_index), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    b_index = np.repeat(first, count) + offset
    start = np.maximum(a_start[a_index], b_start[b_index])
    end = np.minimum(a_end[a_index], b_end[b_index])
    keep = end > start
    return a_row[a_index][keep], start[keep], end[keep]


def _search(
    row: IntArray, value: IntArray, query_row: IntArray, query_value: IntArray, side: str
) -> IntArray:
    """``searchsorted`` on (row, value) pairs sorted lexicographically. A
    shard's rows and span are small enough for ``row * spread`` to fit."""
    low = int(min(value.min(), query_value.min()))
    spread = int(max(value.max(), query_value.max())) - low + 1
    found: IntArray = np.searchsorted(
        row * spread + (value - low),
        query_row * spread + (query_value - low),
        side,  # type: ignore[call-overload]
    )
    return found

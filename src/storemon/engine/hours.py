"""Weekly business hours as merged UTC intervals, for every store at once."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from storemon.engine.model import (
    MICROS_PER_SECOND,
    SECONDS_PER_DAY,
    BoolArray,
    Hours,
    IntArray,
)
from storemon.engine.zones import wall_to_utc

# 1970-01-01 was a Thursday; weekday 0 is Monday.
_EPOCH_WEEKDAY = 3
# Intervals are packed with their store into one sortable int64:
# store << _STORE_SHIFT | offset from the span start (in microseconds).
_STORE_SHIFT = 41


def business_intervals(
    hours: Hours,
    hours_store: IntArray,
    store_zone: IntArray,
    zone_names: Sequence[str],
    always_open: BoolArray,
    span_start_us: int,
    span_end_us: int,
) -> tuple[IntArray, IntArray, IntArray]:
    """Open intervals of every store clipped to ``[span_start_us, span_end_us]``,
    merged, as ``(store, start_us, end_us)`` sorted by store then start.

    ``hours_store`` gives the dense store index of every hours row;
    ``store_zone`` indexes ``zone_names`` per store; stores flagged
    ``always_open`` have no hours rows and are open around the clock.

    A row with weekday ``d`` opens on every local date ``D`` of that weekday at
    ``D start`` and closes at ``D end`` when end > start, otherwise at
    ``D+1 end`` (end == start means 24 hours). Intervals are half-open.
    """
    span_start_s = span_start_us // MICROS_PER_SECOND
    span_end_s = -(-span_end_us // MICROS_PER_SECOND)
    # An interval opens on local date D and closes by D+2 00:00; local dates
    # are within a day of UTC dates, so these local dates cover the span.
    first_date = span_start_s // SECONDS_PER_DAY - 2
    last_date = span_end_s // SECONDS_PER_DAY + 1
    first_weekday = (first_date + _EPOCH_WEEKDAY) % 7
    first_match: IntArray = first_date + (hours.day - first_weekday) % 7
    weeks = (last_date - first_date) // 7 + 1
    date = (first_match[None, :] + 7 * np.arange(weeks, dtype=np.int64)[:, None]).ravel()
    row = np.tile(np.arange(len(hours), dtype=np.int64), weeks)
    keep = date <= last_date
    date, row = date[keep], row[keep]

    start_s, end_s = hours.start_s[row], hours.end_s[row]
    open_wall = date * SECONDS_PER_DAY + start_s
    close_wall = np.where(end_s > start_s, date, date + 1) * SECONDS_PER_DAY + end_s
    zone = store_zone[hours_store[row]]
    opens = wall_to_utc(zone_names, zone, open_wall, span_start_s, span_end_s)
    closes = wall_to_utc(zone_names, zone, close_wall, span_start_s, span_end_s)

    store = np.concatenate([hours_store[row], np.flatnonzero(always_open)])
    n_always = int(always_open.sum())
    starts = np.concatenate(
        [opens * MICROS_PER_SECOND, np.full(n_always, span_start_us, dtype=np.int64)]
    )
    ends = np.concatenate(
        [closes * MICROS_PER_SECOND, np.full(n_always, span_end_us, dtype=np.int64)]
    )
    starts = np.maximum(starts, span_start_us)
    ends = np.minimum(ends, span_end_us)
    nonempty = ends > starts
    return merge_intervals(store[nonempty], starts[nonempty], ends[nonempty], span_start_us)


def merge_intervals(
    store: IntArray, start: IntArray, end: IntArray, origin: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Union of each store's intervals (all at or after ``origin``): sorted,
    disjoint, non-touching, so no moment counts twice."""
    if len(store) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), empty.copy()
    if (end.max() - origin) >= (1 << _STORE_SHIFT) or store.max() >= (1 << (62 - _STORE_SHIFT)):
        raise ValueError("span or store count too large to pack interval keys")
    packed_start = (store << _STORE_SHIFT) | (start - origin)
    packed_end = (store << _STORE_SHIFT) | (end - origin)
    order = np.argsort(packed_start, kind="stable")
    packed_start, packed_end = packed_start[order], packed_end[order]
    # Packed ends never cross store bands, so a running maximum is per store.
    reach = np.maximum.accumulate(packed_end)
    opens_new = np.ones(len(packed_start), dtype=np.bool_)
    opens_new[1:] = packed_start[1:] > reach[:-1]
    first = np.flatnonzero(opens_new)
    last = np.append(first[1:], len(packed_start)) - 1
    merged_start = packed_start[first]
    merged_end = reach[last]
    mask = (1 << _STORE_SHIFT) - 1
    return (
        merged_start >> _STORE_SHIFT,
        (merged_start & mask) + origin,
        (merged_end & mask) + origin,
    )

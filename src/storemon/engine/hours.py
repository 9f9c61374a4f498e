"""Weekly business hours as merged UTC intervals, for every store at once."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from storemon.engine.model import (
    CLOSED,
    MICROS_PER_SECOND,
    SECONDS_PER_DAY,
    BoolArray,
    Hours,
    IntArray,
    SpecialHours,
)
from storemon.engine.zones import wall_to_utc

# 1970-01-01 was a Thursday; weekday 0 is Monday.
_EPOCH_WEEKDAY = 3
#: Keys ``store * stride + offset`` must stay below this.
_KEY_LIMIT = 1 << 62
# (store, local date) pairs are packed as store << _DATE_BITS | date offset.
_DATE_BITS = 22


def business_intervals(
    hours: Hours,
    hours_store: IntArray,
    special: SpecialHours,
    special_store: IntArray,
    store_zone: IntArray,
    zone_names: Sequence[str],
    always_open: BoolArray,
    span_start_us: int,
    span_end_us: int,
) -> tuple[IntArray, IntArray, IntArray]:
    """Open intervals of every store clipped to ``[span_start_us, span_end_us]``,
    merged, as ``(store, start_us, end_us)`` sorted by store then start.

    ``hours_store``/``special_store`` give the dense store index of every
    weekly/special row; ``store_zone`` indexes ``zone_names`` per store;
    stores flagged ``always_open`` have no weekly rows and are open around the
    clock, except on their special dates.

    A row opens on its local date ``D`` (every date of its weekday for a weekly
    row) at ``D start`` and closes at ``D end`` when end > start, otherwise at
    ``D+1 end`` (end == start means 24 hours). Intervals are half-open. Weekly
    rows do not apply to a date with special rows.
    """
    span_start_s = span_start_us // MICROS_PER_SECOND
    span_end_s = -(-span_end_us // MICROS_PER_SECOND)
    # An interval opens on local date D and closes by D+2 00:00; local dates
    # are within a day of UTC dates, so these local dates cover the span.
    first_date = span_start_s // SECONDS_PER_DAY - 2
    last_date = span_end_s // SECONDS_PER_DAY + 1
    if last_date - first_date >= 1 << _DATE_BITS:
        raise ValueError("span too long")

    in_span = (special.date >= first_date) & (special.date <= last_date)
    special_store, special_date = special_store[in_span], special.date[in_span]
    special_start, special_end = special.start_s[in_span], special.end_s[in_span]
    # A 24x7 store with special dates is open 00:00-24:00 on its other dates.
    daily_open = np.zeros(len(always_open), dtype=np.bool_)
    daily_open[special_store] = True
    daily_open &= always_open
    daily_store = np.repeat(np.flatnonzero(daily_open), 7)
    week_store = np.concatenate([hours_store, daily_store])
    week_day = np.concatenate(
        [hours.day, np.tile(np.arange(7, dtype=np.int64), len(daily_store) // 7)]
    )
    week_start = np.concatenate([hours.start_s, np.zeros(len(daily_store), dtype=np.int64)])
    week_end = np.concatenate([hours.end_s, np.full(len(daily_store), SECONDS_PER_DAY)])

    first_weekday = (first_date + _EPOCH_WEEKDAY) % 7
    first_match: IntArray = first_date + (week_day - first_weekday) % 7
    weeks = (last_date - first_date) // 7 + 1
    date = (first_match[None, :] + 7 * np.arange(weeks, dtype=np.int64)[:, None]).ravel()
    row = np.tile(np.arange(len(week_day), dtype=np.int64), weeks)
    keep = date <= last_date
    date, row = date[keep], row[keep]
    store = week_store[row]
    if len(special_date):
        excepted = (special_store << _DATE_BITS) | (special_date - first_date)
        keep = ~np.isin((store << _DATE_BITS) | (date - first_date), excepted)
        date, row, store = date[keep], row[keep], store[keep]
    start_s, end_s = week_start[row], week_end[row]

    with_times = special_start != CLOSED
    date = np.concatenate([date, special_date[with_times]])
    store = np.concatenate([store, special_store[with_times]])
    start_s = np.concatenate([start_s, special_start[with_times]])
    end_s = np.concatenate([end_s, special_end[with_times]])

    open_wall = date * SECONDS_PER_DAY + start_s
    close_wall = np.where(end_s > start_s, date, date + 1) * SECONDS_PER_DAY + end_s
    zone = store_zone[store]
    opens = wall_to_utc(zone_names, zone, open_wall, span_start_s, span_end_s)
    closes = wall_to_utc(zone_names, zone, close_wall, span_start_s, span_end_s)

    all_day = np.flatnonzero(always_open & ~daily_open)
    store = np.concatenate([store, all_day])
    starts = np.concatenate(
        [opens * MICROS_PER_SECOND, np.full(len(all_day), span_start_us, dtype=np.int64)]
    )
    ends = np.concatenate(
        [closes * MICROS_PER_SECOND, np.full(len(all_day), span_end_us, dtype=np.int64)]
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
    stride = int(end.max()) - origin + 1
    stores_per_key_range = max(1, _KEY_LIMIT // stride)
    if int(store.max()) < stores_per_key_range:
        return _merge_packed(store, start, end, origin, stride)
    # Long spans: a few runs, each over a range of stores whose keys fit.
    band = store // stores_per_key_range
    order = np.argsort(band, kind="stable")
    bounds = [*np.searchsorted(band[order], np.unique(band)).tolist(), len(band)]
    parts = []
    for lo, hi in itertools.pairwise(bounds):
        chosen = order[lo:hi]
        base = int(band[chosen[0]]) * stores_per_key_range
        part_store, part_start, part_end = _merge_packed(
            store[chosen] - base, start[chosen], end[chosen], origin, stride
        )
        parts.append((part_store + base, part_start, part_end))
    merged_store, merged_start, merged_end = (
        np.concatenate(column) for column in zip(*parts, strict=True)
    )
    return merged_store, merged_start, merged_end


def _merge_packed(
    store: IntArray, start: IntArray, end: IntArray, origin: int, stride: int
) -> tuple[IntArray, IntArray, IntArray]:
    packed_start = store * stride + (start - origin)
    packed_end = store * stride + (end - origin)
    order = np.argsort(packed_start, kind="stable")
    packed_start, packed_end = packed_start[order], packed_end[order]
    # Packed ends never cross store bands, so a running maximum is per store.
    reach = np.maximum.accumulate(packed_end)
    opens_new = np.ones(len(packed_start), dtype=np.bool_)
    opens_new[1:] = packed_start[1:] > reach[:-1]
    first = np.flatnonzero(opens_new)
    last = np.append(first[1:], len(packed_start)) - 1
    merged_store = store[order][first]
    base = merged_store * stride - origin
    return merged_store, packed_start[first] - base, reach[last] - base

"""The stores a computation reports on, with their polls, hours and zones
lined up by report row, and the measures every report kind is built from."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from storemon.engine.hours import business_intervals
from storemon.engine.model import (
    DEFAULT_TIMEZONE,
    INTERPOLATIONS,
    TICKS_PER_MICROSECOND,
    BoolArray,
    Hours,
    IntArray,
    Interpolation,
    Polls,
    Snapshot,
    SpecialHours,
    WindowTotals,
)
from storemon.engine.status import KEY_LIMIT, Coverage, poll_segments

#: Polls per shard of work: small enough for the temporaries to stay in
#: cache and be reused, large enough that numpy calls dominate.
_SHARD_POLLS = 1 << 17


def check_options(interpolation: str, max_gap_us: int | None) -> None:
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}")
    if max_gap_us is not None and max_gap_us <= 0:
        raise ValueError("max_gap must be greater than 0")


@dataclass(frozen=True)
class Fleet:
    """Stores with a poll at or before ``now``, one row each in store-key
    order; their polls sorted by row then time."""

    store_id: npt.NDArray[np.object_]
    store_key: IntArray
    poll_row: IntArray
    ts_us: IntArray
    active: BoolArray
    zone_names: list[str]
    store_zone: IntArray
    hours: Hours
    hours_row: IntArray
    special: SpecialHours
    special_row: IntArray
    has_hours: BoolArray

    def __len__(self) -> int:
        return len(self.store_key)

    def open_intervals(
        self, span_start_us: int, span_end_us: int
    ) -> tuple[IntArray, IntArray, IntArray]:
        """Merged business intervals ``(row, start_us, end_us)`` within the span."""
        return business_intervals(
            self.hours,
            self.hours_row,
            self.special,
            self.special_row,
            self.store_zone,
            self.zone_names,
            ~self.has_hours,
            span_start_us,
            span_end_us,
        )

    def id_order(self) -> IntArray:
        """Rows in ``store_id`` code point order."""
        return np.argsort(self.store_id.astype(str), kind="stable")


def prepare(snapshot: Snapshot, now_us: int, store_ids: Iterable[str] | None) -> Fleet:
    stores = snapshot.stores
    polls = snapshot.polls
    keep = polls.ts_us <= now_us
    if store_ids is not None:
        wanted = np.isin(stores.store_id, np.asarray(list(store_ids), dtype=object))
        keep &= np.isin(polls.store_key, stores.key[wanted])
    if not keep.all():
        polls = Polls(polls.store_key[keep], polls.ts_us[keep], polls.active[keep])

    reported, poll_row = _report_rows(stores.key, polls.store_key)
    order = _time_order(poll_row, polls.ts_us)

    zones = stores.timezone[reported]
    # None (no timezone row) is falsy, a zone name never is.
    zone_text = np.where(zones.astype(bool), zones, DEFAULT_TIMEZONE).astype(str)
    zone_names, zone_inverse = np.unique(zone_text, return_inverse=True)

    keys = stores.key[reported]
    hours = snapshot.hours
    hours_row, relevant = _lookup(keys, hours.store_key)
    has_hours = np.zeros(len(keys), dtype=np.bool_)
    has_hours[hours_row[relevant]] = True
    special = snapshot.special
    special_row, special_relevant = _lookup(keys, special.store_key)
    return Fleet(
        store_id=stores.store_id[reported],
        store_key=keys,
        poll_row=poll_row if order is None else poll_row[order],
        ts_us=polls.ts_us if order is None else polls.ts_us[order],
        active=polls.active if order is None else polls.active[order],
        zone_names=[str(name) for name in zone_names],
        store_zone=np.asarray(zone_inverse, dtype=np.int64),
        hours=Hours(
            hours.store_key[relevant],
            hours.day[relevant],
            hours.start_s[relevant],
            hours.end_s[relevant],
        ),
        hours_row=hours_row[relevant],
        special=SpecialHours(
            special.store_key[special_relevant],
            special.date[special_relevant],
            special.start_s[special_relevant],
            special.end_s[special_relevant],
        ),
        special_row=special_row[special_relevant],
        has_hours=has_hours,
    )


@dataclass(frozen=True)
class Shard:
    """Measures of a contiguous range of rows (``rows``) over one span; rows
    are numbered from ``rows.start`` inside."""

    rows: slice
    #: Business time, active time in it, and (with a max gap) inactive time in it.
    business: Coverage
    uptime: Coverage
    downtime: Coverage | None
    #: Each poll's segment within the span, in ticks, with its status.
    segment_row: IntArray
    segment_start: IntArray
    segment_end: IntArray
    segment_active: BoolArray
    #: The merged business intervals, in ticks.
    open_row: IntArray
    open_start: IntArray
    open_end: IntArray

    def totals(self, row: IntArray, start_tick: IntArray, end_tick: IntArray) -> WindowTotals:
        """Exact totals over ``[start, end]`` per query (rows local to the shard)."""
        return self.totals_since(row, end_tick, [start_tick])[0]

    def totals_since(
        self, row: IntArray, end_tick: IntArray, start_ticks: list[IntArray]
    ) -> list[WindowTotals]:
        """Exact totals over ``[start, end]`` for several starts sharing one
        end (the report's windows): the measures at the end are looked up once."""
        measures = [self.business, self.uptime]
        if self.downtime is not None:
            measures.append(self.downtime)
        at_end = [coverage.at(row, end_tick) for coverage in measures]
        result = []
        for start_tick in start_ticks:
            values = [
                end - coverage.at(row, start_tick)
                for coverage, end in zip(measures, at_end, strict=True)
            ]
            result.append(WindowTotals(*values))
        return result


def shards(
    fleet: Fleet,
    interpolation: Interpolation,
    max_gap_us: int | None,
    span_start_us: int,
    span_end_us: int,
) -> Iterator[Shard]:
    """Stores are independent: work through them in shards of about
    _SHARD_POLLS polls, and few enough stores that their lookup keys fit."""
    lo, hi = span_start_us * TICKS_PER_MICROSECOND, span_end_us * TICKS_PER_MICROSECOND
    stride = hi - lo + 1
    open_row, open_start_us, open_end_us = fleet.open_intervals(span_start_us, span_end_us)
    poll_row = fleet.poll_row
    n = len(fleet)
    cuts = poll_row[::_SHARD_POLLS][1:]
    by_key = np.arange(0, n, max(1, KEY_LIMIT // stride - 1))
    row_bounds = np.unique(np.concatenate([[0], cuts, by_key, [n]]))
    poll_bounds = np.searchsorted(poll_row, row_bounds).tolist()
    open_bounds = np.searchsorted(open_row, row_bounds).tolist()
    row_bounds_list = row_bounds.tolist()
    for i in range(len(row_bounds_list) - 1):
        first = row_bounds_list[i]
        polls_in = slice(poll_bounds[i], poll_bounds[i + 1])
        opens_in = slice(open_bounds[i], open_bounds[i + 1])
        row = poll_row[polls_in] - first
        seg_start, seg_end = poll_segments(
            row, fleet.ts_us[polls_in], interpolation, max_gap_us, lo, hi
        )
        active = fleet.active[polls_in]
        spoken = seg_end > seg_start
        row, active = row[spoken], active[spoken]
        seg_start, seg_end = seg_start[spoken], seg_end[spoken]
        o_row = open_row[opens_in] - first
        o_start = open_start_us[opens_in] * TICKS_PER_MICROSECOND
        o_end = open_end_us[opens_in] * TICKS_PER_MICROSECOND
        up = Coverage(row[active], seg_start[active], seg_end[active], lo, stride)
        down = None
        if max_gap_us is not None:
            # Without a gap every moment has a status: downtime is the rest.
            inactive = ~active
            down = Coverage(row[inactive], seg_start[inactive], seg_end[inactive], lo, stride)
        yield Shard(
            rows=slice(first, row_bounds_list[i + 1]),
            business=Coverage(o_row, o_start, o_end, lo, stride),
            uptime=Coverage(o_row, o_start, o_end, lo, stride, inner=up),
            downtime=None
            if down is None
            else Coverage(o_row, o_start, o_end, lo, stride, inner=down),
            segment_row=row,
            segment_start=seg_start,
            segment_end=seg_end,
            segment_active=active,
            open_row=o_row,
            open_start=o_start,
            open_end=o_end,
        )


def _report_rows(store_keys: IntArray, poll_keys: IntArray) -> tuple[IntArray, IntArray]:
    """The store positions that get a report row (ascending), and the row of
    each poll. Polls usually arrive grouped by store key (the database's key
    order); then only one lookup per store is needed."""
    n = len(poll_keys)
    if n and np.all(poll_keys[1:] >= poll_keys[:-1]):
        run_start = np.flatnonzero(np.r_[True, poll_keys[1:] != poll_keys[:-1]])
        reported, known = _lookup(store_keys, poll_keys[run_start])
        run_length = np.diff(np.r_[run_start, n])
        poll_row = np.repeat(np.arange(len(run_start), dtype=np.int64), run_length)
    else:
        position, known = _lookup(store_keys, poll_keys)
        reported = np.unique(position)
        poll_row = np.searchsorted(reported, position)
    if not known.all():
        raise ValueError("polls refer to a store key missing from the stores table")
    return reported, poll_row


def _lookup(sorted_keys: IntArray, keys: IntArray) -> tuple[IntArray, BoolArray]:
    """Position of each key in ``sorted_keys`` and whether it is there at all."""
    position = np.searchsorted(sorted_keys, keys)
    found = position < len(sorted_keys)
    found[found] = sorted_keys[position[found]] == keys[found]
    return np.where(found, position, 0), found


def _time_order(store: IntArray, ts_us: IntArray) -> IntArray | None:
    """Indices sorting polls by store then time; None when already sorted."""
    n = len(ts_us)
    if n < 2:
        return None
    same = store[1:] == store[:-1]
    if np.all((store[1:] > store[:-1]) | (same & (ts_us[1:] > ts_us[:-1]))):
        return None
    spread = int(ts_us.max() - ts_us.min())
    if spread < (1 << 42) and int(store.max()) < (1 << 20):
        packed = (store << 42) | (ts_us - ts_us.min())
        return np.argsort(packed, kind="stable")
    return np.lexsort((ts_us, store))

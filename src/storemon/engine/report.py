"""Uptime and downtime within business hours over the last hour, day and week."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from storemon.engine.hours import business_intervals
from storemon.engine.model import (
    DEFAULT_TIMEZONE,
    INTERPOLATIONS,
    MICROS_PER_SECOND,
    TICKS_PER_MICROSECOND,
    TICKS_PER_SECOND,
    Hours,
    IntArray,
    Interpolation,
    Polls,
    Report,
    Snapshot,
    WindowTotals,
)
from storemon.engine.status import ActiveTime

#: Polls per shard of work: small enough for the temporaries to stay in
#: cache and be reused, large enough that numpy calls dominate.
_SHARD_POLLS = 1 << 17

HOUR_US = 3_600 * MICROS_PER_SECOND
DAY_US = 24 * HOUR_US
WEEK_US = 7 * DAY_US

#: Output columns in order, with the unit each is expressed in (in ticks).
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("uptime_last_hour", "hour", 60 * TICKS_PER_SECOND),
    ("uptime_last_day", "day", 3_600 * TICKS_PER_SECOND),
    ("uptime_last_week", "week", 3_600 * TICKS_PER_SECOND),
    ("downtime_last_hour", "hour", 60 * TICKS_PER_SECOND),
    ("downtime_last_day", "day", 3_600 * TICKS_PER_SECOND),
    ("downtime_last_week", "week", 3_600 * TICKS_PER_SECOND),
)


def compute_report(
    snapshot: Snapshot,
    now_us: int,
    interpolation: Interpolation = "nearest",
    store_ids: Iterable[str] | None = None,
) -> Report:
    """Exact uptime/downtime totals per store for the windows ending at ``now_us``.

    Only polls at or before ``now_us`` count; a store appears when it has one.
    ``store_ids`` restricts the report to those stores (unknown ids are ignored).

    >>> from storemon.engine.model import Hours, Polls, Stores
    >>> snap = Snapshot(Stores.build([1], ["s1"], ["UTC"]),
    ...                 Polls.build([1], [1_000 * 3_600_000_000], [True]),
    ...                 Hours.build([], [], [], []))
    >>> r = compute_report(snap, now_us=1_000 * 3_600_000_000)
    >>> rounded_columns(r)["uptime_last_day"].tolist()
    [24.0]
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}")
    stores = snapshot.stores
    polls = _polls_up_to(snapshot.polls, now_us)
    if store_ids is not None:
        wanted = np.isin(stores.store_id, np.asarray(list(store_ids), dtype=object))
        polls = _select(polls, np.isin(polls.store_key, stores.key[wanted]))

    reported, poll_row = _report_rows(stores.key, polls.store_key)
    n = len(reported)
    order = _time_order(poll_row, polls.ts_us)
    poll_row, ts_us, active = poll_row[order], polls.ts_us[order], polls.active[order]

    week_start_us = now_us - WEEK_US
    span_start_tick = week_start_us * TICKS_PER_MICROSECOND
    span_end_tick = now_us * TICKS_PER_MICROSECOND

    zones = stores.timezone[reported]
    # None (no timezone row) is falsy, a zone name never is.
    zone_text = np.where(zones.astype(bool), zones, DEFAULT_TIMEZONE).astype(str)
    zone_names, zone_inverse = np.unique(zone_text, return_inverse=True)
    store_zone = np.asarray(zone_inverse, dtype=np.int64)

    # Hours rows of the reported stores only, as report rows.
    hours = snapshot.hours
    row_of_hours, relevant = _lookup(stores.key[reported], hours.store_key)
    has_hours = np.zeros(n, dtype=np.bool_)
    has_hours[row_of_hours[relevant]] = True
    open_store, open_start, open_end = business_intervals(
        Hours(
            hours.store_key[relevant],
            hours.day[relevant],
            hours.start_s[relevant],
            hours.end_s[relevant],
        ),
        row_of_hours[relevant],
        store_zone,
        [str(name) for name in zone_names],
        ~has_hours,
        week_start_us,
        now_us,
    )

    windows = (("hour", HOUR_US), ("day", DAY_US), ("week", WEEK_US))
    business = {name: np.zeros(n, dtype=np.int64) for name, _ in windows}
    uptime = {name: np.zeros(n, dtype=np.int64) for name, _ in windows}
    # Stores are independent: work through them in shards of about
    # _SHARD_POLLS polls, so the temporaries stay small and are reused.
    for rows, polls_in, opens_in in _shards(poll_row, open_store, n):
        first_row = rows.start
        shard_rows = rows.stop - rows.start
        active_time = ActiveTime(
            poll_row[polls_in] - first_row,
            ts_us[polls_in],
            active[polls_in],
            interpolation,
            span_start_tick,
            span_end_tick,
        )
        store = open_store[opens_in] - first_row
        open_start_tick = open_start[opens_in] * TICKS_PER_MICROSECOND
        open_end_tick = open_end[opens_in] * TICKS_PER_MICROSECOND
        for name, length_us in windows:
            window_start = span_end_tick - length_us * TICKS_PER_MICROSECOND
            start = np.maximum(open_start_tick, window_start)
            end = np.maximum(open_end_tick, start)
            business[name][rows] = _sum_per_store(store, end - start, shard_rows)
            uptime[name][rows] = _sum_per_store(
                store,
                active_time.measure(store, end) - active_time.measure(store, start),
                shard_rows,
            )
    totals = {name: WindowTotals(business[name], uptime[name]) for name, _ in windows}

    store_id = stores.store_id[reported]
    by_id = np.argsort(store_id.astype(str), kind="stable")
    return Report(
        now_us=now_us,
        interpolation=interpolation,
        store_id=store_id[by_id],
        store_key=stores.key[reported][by_id],
        hour=_take(totals["hour"], by_id),
        day=_take(totals["day"], by_id),
        week=_take(totals["week"], by_id),
    )


def rounded_columns(report: Report) -> dict[str, npt.NDArray[np.float64]]:
    """The six report columns: minutes for the last hour, hours for the last
    day and week, each rounded half-up to 2 decimals from the exact totals.

    Rounding is done on integers, so 18 s (0.005 h) is 0.01 h, never 0.00.
    """
    columns = {}
    for name, window, unit in COLUMNS:
        totals: WindowTotals = getattr(report, window)
        value = totals.uptime if name.startswith("uptime") else totals.downtime
        centi_unit = unit // 100
        hundredths = (value + centi_unit // 2) // centi_unit
        columns[name] = hundredths / 100
    return columns


def _sum_per_store(store: IntArray, value: IntArray, n: int) -> IntArray:
    # Float sums are exact here: every total stays far below 2**53 ticks.
    return np.rint(np.bincount(store, weights=value, minlength=n)).astype(np.int64)


def _take(totals: WindowTotals, order: IntArray) -> WindowTotals:
    return WindowTotals(totals.business[order], totals.uptime[order])


def _polls_up_to(polls: Polls, now_us: int) -> Polls:
    keep = polls.ts_us <= now_us
    return polls if keep.all() else _select(polls, keep)


def _select(polls: Polls, mask: npt.NDArray[np.bool_]) -> Polls:
    return Polls(polls.store_key[mask], polls.ts_us[mask], polls.active[mask])


def _shards(
    poll_row: IntArray, open_store: IntArray, n_rows: int
) -> list[tuple[slice, slice, slice]]:
    """Contiguous report rows with their polls and open intervals (both are
    sorted by row), cut at store boundaries every ~_SHARD_POLLS polls."""
    cuts = poll_row[:: _SHARD_POLLS][1:]
    row_bounds = np.unique(np.concatenate([[0], cuts, [n_rows]]))
    poll_bounds = np.searchsorted(poll_row, row_bounds)
    open_bounds = np.searchsorted(open_store, row_bounds)
    return [
        (
            slice(int(row_bounds[i]), int(row_bounds[i + 1])),
            slice(int(poll_bounds[i]), int(poll_bounds[i + 1])),
            slice(int(open_bounds[i]), int(open_bounds[i + 1])),
        )
        for i in range(len(row_bounds) - 1)
    ]


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


def _lookup(sorted_keys: IntArray, keys: IntArray) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    """Position of each key in ``sorted_keys`` and whether it is there at all."""
    position = np.searchsorted(sorted_keys, keys)
    found = position < len(sorted_keys)
    found[found] = sorted_keys[position[found]] == keys[found]
    return np.where(found, position, 0), found


def _time_order(store: IntArray, ts_us: IntArray) -> IntArray:
    """Indices sorting polls by store then time (cheap when already sorted)."""
    n = len(ts_us)
    if n < 2:
        return np.arange(n, dtype=np.int64)
    same = store[1:] == store[:-1]
    if np.all((store[1:] > store[:-1]) | (same & (ts_us[1:] > ts_us[:-1]))):
        return np.arange(n, dtype=np.int64)
    spread = int(ts_us.max() - ts_us.min())
    if spread < (1 << 42) and int(store.max()) < (1 << 20):
        packed = (store << 42) | (ts_us - ts_us.min())
        return np.argsort(packed, kind="stable")
    return np.lexsort((ts_us, store))

"""Totals per store and local calendar date over a date range (SPEC 8.3)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from storemon.engine.fleet import check_options, prepare, shards
from storemon.engine.model import (
    MICROS_PER_SECOND,
    SECONDS_PER_DAY,
    TICKS_PER_MICROSECOND,
    TICKS_PER_SECOND,
    Daily,
    Interpolation,
    Snapshot,
    WindowTotals,
)
from storemon.engine.report import concat_totals, round_hundredths
from storemon.engine.zones import wall_to_utc

_HOUR_TICKS = 3_600 * TICKS_PER_SECOND


def compute_daily(
    snapshot: Snapshot,
    now_us: int,
    first_date: int,
    last_date: int,
    interpolation: Interpolation = "nearest",
    store_ids: Iterable[str] | None = None,
    max_gap_us: int | None = None,
) -> Daily:
    """Exact totals per store and local date ``D`` in ``[first_date, last_date]``
    (days since 1970-01-01, in each store's own zone).

    A date's window is ``[D 00:00, D+1 00:00)`` local (as long as the zone
    makes that day), cut at ``now_us``; a date whose window starts at or after
    ``now_us`` has no row. Stores as in the report: those with a poll at or
    before ``now_us``.
    """
    if first_date > last_date:
        raise ValueError("the first date is after the last date")
    check_options(interpolation, max_gap_us)
    fleet = prepare(snapshot, now_us, store_ids)
    n, days = len(fleet), last_date - first_date + 1
    # Every store's midnights from the first date to the day after the last.
    midnight_wall = np.arange(first_date, last_date + 2, dtype=np.int64) * SECONDS_PER_DAY
    midnight_us = MICROS_PER_SECOND * wall_to_utc(
        fleet.zone_names,
        np.repeat(fleet.store_zone, days + 1),
        np.tile(midnight_wall, n),
        int(midnight_wall[0]) - SECONDS_PER_DAY,
        int(midnight_wall[-1]) + SECONDS_PER_DAY,
    ).reshape(n, days + 1)
    start_us = midnight_us[:, :-1].ravel()
    end_us = np.minimum(midnight_us[:, 1:].ravel(), now_us)
    row = np.repeat(np.arange(n, dtype=np.int64), days)
    date = np.tile(np.arange(first_date, last_date + 1, dtype=np.int64), n)
    started = start_us < now_us
    row, date, start_us, end_us = row[started], date[started], start_us[started], end_us[started]

    parts: list[WindowTotals] = []
    if len(row):
        span_start, span_end = int(start_us.min()), int(end_us.max())
        for shard in shards(fleet, interpolation, max_gap_us, span_start, span_end):
            lo, hi = np.searchsorted(row, [shard.rows.start, shard.rows.stop])
            parts.append(
                shard.totals(
                    row[lo:hi] - shard.rows.start,
                    start_us[lo:hi] * TICKS_PER_MICROSECOND,
                    end_us[lo:hi] * TICKS_PER_MICROSECOND,
                )
            )
    totals = concat_totals(parts, 0, max_gap_us)
    # Rows are by store row then date; a stable sort on the store's id rank
    # keeps the dates in order.
    rank = np.empty(n, dtype=np.int64)
    rank[fleet.id_order()] = np.arange(n, dtype=np.int64)
    order = np.argsort(rank[row], kind="stable")
    return Daily(
        now_us=now_us,
        interpolation=interpolation,
        max_gap_us=max_gap_us,
        store_id=fleet.store_id[row[order]],
        store_key=fleet.store_key[row[order]],
        date=date[order],
        totals=totals.take(order),
    )


def daily_columns(daily: Daily) -> dict[str, npt.NDArray[np.str_] | npt.NDArray[np.float64]]:
    """The CSV columns after ``store_id``: ``date`` (``YYYY-MM-DD``), then
    hours rounded half up to 2 decimals; ``nodata`` only with a max gap."""
    totals = daily.totals
    columns: dict[str, npt.NDArray[np.str_] | npt.NDArray[np.float64]] = {
        "date": np.datetime_as_string(daily.date.astype("datetime64[D]")),
        "business_hours": round_hundredths(totals.business, _HOUR_TICKS),
        "uptime": round_hundredths(totals.uptime, _HOUR_TICKS),
        "downtime": round_hundredths(totals.downtime, _HOUR_TICKS),
    }
    if daily.max_gap_us is not None:
        columns["nodata"] = round_hundredths(totals.nodata, _HOUR_TICKS)
    return columns

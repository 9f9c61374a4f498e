"""Uptime and downtime within business hours over the last hour, day and week."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from storemon.engine.fleet import check_options, prepare, shards
from storemon.engine.model import (
    MICROS_PER_SECOND,
    TICKS_PER_MICROSECOND,
    TICKS_PER_SECOND,
    GroupReport,
    IntArray,
    Interpolation,
    Report,
    Snapshot,
    WindowTotals,
)

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
#: The columns with a max gap: the same, then the no-data time.
NODATA_COLUMNS: tuple[tuple[str, str, int], ...] = (
    *COLUMNS,
    ("nodata_last_hour", "hour", 60 * TICKS_PER_SECOND),
    ("nodata_last_day", "day", 3_600 * TICKS_PER_SECOND),
    ("nodata_last_week", "week", 3_600 * TICKS_PER_SECOND),
)


def compute_report(
    snapshot: Snapshot,
    now_us: int,
    interpolation: Interpolation = "nearest",
    store_ids: Iterable[str] | None = None,
    max_gap_us: int | None = None,
) -> Report:
    """Exact uptime/downtime totals per store for the windows ending at ``now_us``.

    Only polls at or before ``now_us`` count; a store appears when it has one.
    ``store_ids`` restricts the report to those stores (unknown ids are ignored).
    ``max_gap_us`` limits how far a poll speaks (SPEC 8.1); business time no
    poll speaks for is then no data.

    >>> from storemon.engine.model import Hours, Polls, Stores
    >>> snap = Snapshot(Stores.build([1], ["s1"], ["UTC"]),
    ...                 Polls.build([1], [1_000 * 3_600_000_000], [True]),
    ...                 Hours.build([], [], [], []))
    >>> r = compute_report(snap, now_us=1_000 * 3_600_000_000)
    >>> rounded_columns(r)["uptime_last_day"].tolist()
    [24.0]
    """
    check_options(interpolation, max_gap_us)
    fleet = prepare(snapshot, now_us, store_ids)
    n = len(fleet)
    end_tick = now_us * TICKS_PER_MICROSECOND
    windows = (("hour", HOUR_US), ("day", DAY_US), ("week", WEEK_US))
    parts: dict[str, list[WindowTotals]] = {name: [] for name, _ in windows}
    for shard in shards(fleet, interpolation, max_gap_us, now_us - WEEK_US, now_us):
        row = np.arange(shard.rows.stop - shard.rows.start, dtype=np.int64)
        ends = np.full(len(row), end_tick, dtype=np.int64)
        starts = [ends - length_us * TICKS_PER_MICROSECOND for _, length_us in windows]
        for (name, _), window in zip(windows, shard.totals_since(row, ends, starts), strict=True):
            parts[name].append(window)
    by_id = fleet.id_order()
    totals = {name: concat_totals(parts[name], n, max_gap_us).take(by_id) for name, _ in windows}
    return Report(
        now_us=now_us,
        interpolation=interpolation,
        store_id=fleet.store_id[by_id],
        store_key=fleet.store_key[by_id],
        hour=totals["hour"],
        day=totals["day"],
        week=totals["week"],
        max_gap_us=max_gap_us,
    )


def merge_reports(parts: Sequence[Report]) -> Report:
    """One report from reports on disjoint sets of stores, computed with the
    same ``now`` and options: what :func:`compute_report` gives on all of
    their stores at once (stores are computed independently). One part is
    that report already."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    ids = np.concatenate([part.store_id for part in parts])
    by_id = np.argsort(ids.astype(str), kind="stable")

    def window(name: str) -> WindowTotals:
        totals = [getattr(part, name) for part in parts]
        return concat_totals(totals, 0, first.max_gap_us).take(by_id)

    return Report(
        now_us=first.now_us,
        interpolation=first.interpolation,
        store_id=ids[by_id],
        store_key=np.concatenate([part.store_key for part in parts])[by_id],
        hour=window("hour"),
        day=window("day"),
        week=window("week"),
        max_gap_us=first.max_gap_us,
    )


def rounded_columns(report: Report | GroupReport) -> dict[str, npt.NDArray[np.float64]]:
    """The report's value columns, in order and named as in the CSV: minutes
    for the last hour, hours for the last day and week, each rounded half-up
    to 2 decimals from the exact totals; the nodata columns follow when the
    report has a max gap.

    Rounding is done on integers, so 18 s (0.005 h) is 0.01 h, never 0.00.
    """
    columns = NODATA_COLUMNS if report.max_gap_us is not None else COLUMNS
    result = {}
    for name, window, unit in columns:
        totals: WindowTotals = getattr(report, window)
        kind = name.split("_", 1)[0]
        result[name] = round_hundredths(getattr(totals, kind), unit)
    return result


def round_hundredths(ticks: IntArray, unit: int) -> npt.NDArray[np.float64]:
    """``ticks / unit`` rounded half up to 2 decimals (``unit`` a multiple of 200)."""
    centi_unit = unit // 100
    hundredths: IntArray = (ticks + centi_unit // 2) // centi_unit
    return hundredths / 100


def concat_totals(parts: list[WindowTotals], n: int, max_gap_us: int | None) -> WindowTotals:
    """One WindowTotals from per-shard parts (``n`` rows when there are none)."""
    if not parts:
        empty = np.zeros(n, dtype=np.int64)
        return WindowTotals(empty, empty, None if max_gap_us is None else empty)
    return WindowTotals(
        np.concatenate([part.business for part in parts]),
        np.concatenate([part.uptime for part in parts]),
        None if max_gap_us is None else np.concatenate([part.downtime for part in parts]),
    )

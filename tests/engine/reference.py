"""A slow, plainly written reference for the report engine (SPEC sections 2-5).

Everything is done per store with explicit loops, ``datetime`` and
``zoneinfo``, so that each step can be checked against the SPEC by reading it.
It shares no code with ``storemon.engine`` except the model dataclasses that
carry the inputs and the result.

All instants are integer ticks of half a microsecond (doubled epoch
microseconds): the midpoint of two polls ``a`` and ``b`` (in microseconds) is
exactly ``a + b`` ticks, so every length is an exact integer.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from storemon.engine.model import Report, Snapshot, WindowTotals

TICKS_PER_MICROSECOND = 2
TICKS_PER_SECOND = 2_000_000
TICKS_PER_MINUTE = 60 * TICKS_PER_SECOND
TICKS_PER_HOUR = 60 * TICKS_PER_MINUTE
SECONDS_PER_DAY = 86_400
DEFAULT_TIMEZONE = "America/Chicago"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Each window is [now - length, now]; lengths in ticks.
WINDOWS = {"hour": TICKS_PER_HOUR, "day": 24 * TICKS_PER_HOUR, "week": 7 * 24 * TICKS_PER_HOUR}

Interval = tuple[int, int]  # [start, end) in ticks
#: An estimated-active stretch; None is an unbounded end.
Stretch = tuple[int | None, int | None]


def utc_to_ticks(moment: datetime) -> int:
    return TICKS_PER_MICROSECOND * ((moment - EPOCH) // timedelta(microseconds=1))


def ticks_to_utc(ticks: int) -> datetime:
    # Only used for window bounds, which are whole microseconds.
    return EPOCH + timedelta(microseconds=ticks // TICKS_PER_MICROSECOND)


def local_time_to_ticks(day: date, seconds: int, zone: ZoneInfo) -> int:
    """The instant of wall time ``day`` + ``seconds`` in ``zone``.

    ``seconds`` may reach past midnight (``86400`` is ``24:00``). fold=0, as
    SPEC section 3 asks: a repeated wall time takes its first occurrence, a
    skipped one is read with the offset in force before the change.
    """
    day = day + timedelta(days=seconds // SECONDS_PER_DAY)
    seconds = seconds % SECONDS_PER_DAY
    hour, rest = divmod(seconds, 3600)
    minute, second = divmod(rest, 60)
    wall = datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=zone)
    return utc_to_ticks(wall.astimezone(UTC))


def merge(intervals: list[Interval]) -> list[Interval]:
    """Sorted, disjoint intervals covering the same moments; empty ones dropped."""
    merged: list[Interval] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            last_start, last_end = merged[-1]
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def open_intervals(
    rows: list[tuple[int, int, int]], zone: ZoneInfo, lo: int, hi: int
) -> list[Interval]:
    """The store's merged open intervals, as far as they can touch [lo, hi].

    ``rows`` are (day, start_s, end_s). No rows means open all the time.
    """
    if not rows:
        return [(lo, hi)]
    # A local date's intervals lie within [its midnight, two midnights later],
    # and local midnight is within a day of UTC midnight; three spare days
    # before and two after are more than enough.
    first = ticks_to_utc(lo).date() - timedelta(days=3)
    last = ticks_to_utc(hi).date() + timedelta(days=2)
    intervals: list[Interval] = []
    day = first
    while day <= last:
        for weekday, start_s, end_s in rows:
            if weekday != day.weekday():
                continue
            start = local_time_to_ticks(day, start_s, zone)
            if end_s > start_s:
                end = local_time_to_ticks(day, end_s, zone)
            else:
                # Runs past midnight: ends at end_s on the next day
                # (end == start means 24 hours).
                end = local_time_to_ticks(day, SECONDS_PER_DAY + end_s, zone)
            intervals.append((start, end))
        day += timedelta(days=1)
    return merge(intervals)


def active_stretches(polls: list[tuple[int, bool]], interpolation: str) -> list[Stretch]:
    """Where the store is estimated active, from its polls sorted by time (in µs).

    The first poll reaches back and the last forward without limit.
    """
    segments: list[tuple[int | None, int | None, bool]] = []
    for i, (ts_us, active) in enumerate(polls):
        if interpolation == "nearest":
            start = None if i == 0 else polls[i - 1][0] + ts_us  # midpoint, in ticks
            end = None if i == len(polls) - 1 else ts_us + polls[i + 1][0]
        elif interpolation == "previous":
            start = None if i == 0 else TICKS_PER_MICROSECOND * ts_us
            end = None if i == len(polls) - 1 else TICKS_PER_MICROSECOND * polls[i + 1][0]
        else:
            raise ValueError(f"unknown interpolation {interpolation!r}")
        segments.append((start, end, active))
    return [(start, end) for start, end, active in segments if active]


def overlap(a_start: int | None, a_end: int | None, b_start: int, b_end: int) -> int:
    start = b_start if a_start is None else max(a_start, b_start)
    end = b_end if a_end is None else min(a_end, b_end)
    return max(0, end - start)


def store_totals(
    rows: list[tuple[int, int, int]],
    zone: ZoneInfo,
    polls: list[tuple[int, bool]],
    interpolation: str,
    now_us: int,
) -> dict[str, tuple[int, int]]:
    """(business, uptime) ticks per window for one store."""
    now = TICKS_PER_MICROSECOND * now_us
    opened = open_intervals(rows, zone, now - WINDOWS["week"], now)
    active = active_stretches(polls, interpolation)
    totals = {}
    for name, length in WINDOWS.items():
        lo = now - length
        business = 0
        uptime = 0
        for open_start, open_end in opened:
            start = max(open_start, lo)
            end = min(open_end, now)
            if end <= start:
                continue
            business += end - start
            for active_start, active_end in active:
                uptime += overlap(active_start, active_end, start, end)
        totals[name] = (business, uptime)
    return totals


def reference_report(
    snapshot: Snapshot,
    now_us: int,
    interpolation: str = "nearest",
    store_ids: Iterable[str] | None = None,
) -> Report:
    """The report of SPEC section 5, computed store by store."""
    wanted = None if store_ids is None else set(store_ids)
    stores = snapshot.stores
    rows_out = []
    for i in range(len(stores)):
        key = int(stores.key[i])
        store_id = str(stores.store_id[i])
        if wanted is not None and store_id not in wanted:
            continue
        polls = sorted(
            (int(ts), bool(active))
            for store_key, ts, active in zip(
                snapshot.polls.store_key, snapshot.polls.ts_us, snapshot.polls.active,
                strict=True,
            )
            if int(store_key) == key and int(ts) <= now_us
        )
        if not polls:
            continue
        rows = [
            (int(day), int(start_s), int(end_s))
            for store_key, day, start_s, end_s in zip(
                snapshot.hours.store_key, snapshot.hours.day,
                snapshot.hours.start_s, snapshot.hours.end_s,
                strict=True,
            )
            if int(store_key) == key
        ]
        zone_name = stores.timezone[i]
        zone = ZoneInfo(DEFAULT_TIMEZONE if zone_name is None else str(zone_name))
        totals = store_totals(rows, zone, polls, interpolation, now_us)
        rows_out.append((store_id, key, totals))
    rows_out.sort(key=lambda row: row[0])

    def window(name: str) -> WindowTotals:
        return WindowTotals(
            business=np.array([t[name][0] for _, _, t in rows_out], dtype=np.int64),
            uptime=np.array([t[name][1] for _, _, t in rows_out], dtype=np.int64),
        )

    return Report(
        now_us=now_us,
        interpolation=interpolation,  # type: ignore[arg-type]
        store_id=np.array([store_id for store_id, _, _ in rows_out], dtype=object),
        store_key=np.array([key for _, key, _ in rows_out], dtype=np.int64),
        hour=window("hour"),
        day=window("day"),
        week=window("week"),
    )


def round_half_up(ticks: int, ticks_per_unit: int) -> float:
    """``ticks / ticks_per_unit`` rounded to 2 decimals, halves up, exactly."""
    # floor(value * 100 + 1/2) with value = ticks / ticks_per_unit
    hundredths = (200 * ticks + ticks_per_unit) // (2 * ticks_per_unit)
    return hundredths / 100


def reference_rounded_columns(report: Report) -> dict[str, np.ndarray]:
    """The report's columns of SPEC section 5: hour in minutes, day and week in hours."""
    columns = {}
    for kind in ("uptime", "downtime"):
        for name, unit in (("hour", TICKS_PER_MINUTE), ("day", TICKS_PER_HOUR),
                           ("week", TICKS_PER_HOUR)):
            totals: WindowTotals = getattr(report, name)
            values = totals.uptime if kind == "uptime" else totals.business - totals.uptime
            columns[f"{kind}_last_{name}"] = np.array(
                [round_half_up(int(v), unit) for v in values], dtype=np.float64
            )
    return columns

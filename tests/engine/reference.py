"""A slow, plainly written reference for the report engine (SPEC sections 2-5
and 8: max gap, special hours, daily breakdown, groups, outages).

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

from storemon.engine.model import (
    CLOSED,
    Daily,
    GroupReport,
    Outages,
    Report,
    Snapshot,
    WindowTotals,
)

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


#: A special-hours row: (date, start_s, end_s), times None for a closed row.
SpecialRow = tuple[date, int | None, int | None]
ALL_DAY_ROWS = [(weekday, 0, SECONDS_PER_DAY) for weekday in range(7)]


def open_intervals(
    rows: list[tuple[int, int, int]],
    zone: ZoneInfo,
    lo: int,
    hi: int,
    special: list[SpecialRow] = (),  # type: ignore[assignment]
) -> list[Interval]:
    """The store's merged open intervals, as far as they can touch [lo, hi].

    ``rows`` are (day, start_s, end_s). No rows means open all the time,
    i.e. 00:00-24:00 every day. A date with special rows takes only those.
    """
    # A local date's intervals lie within [its midnight, two midnights later],
    # and local midnight is within a day of UTC midnight; three spare days
    # before and two after are more than enough.
    first = ticks_to_utc(lo).date() - timedelta(days=3)
    last = ticks_to_utc(hi).date() + timedelta(days=2)
    weekly = rows or ALL_DAY_ROWS
    special_dates = {day for day, _, _ in special}
    intervals: list[Interval] = []
    day = first
    while day <= last:
        if day in special_dates:
            todays = [
                (start_s, end_s)
                for special_day, start_s, end_s in special
                if special_day == day and start_s is not None and end_s is not None
            ]
        else:
            todays = [(start_s, end_s) for weekday, start_s, end_s in weekly
                      if weekday == day.weekday()]
        for start_s, end_s in todays:
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


def spoken_segments(
    polls: list[tuple[int, bool]], interpolation: str, max_gap_us: int | None = None
) -> list[tuple[int | None, int | None, bool]]:
    """What each poll speaks for, (start, end, active) in ticks; None is an
    unbounded end. Polls sorted by time (in µs).

    Without a max gap the first poll reaches back and the last forward without
    limit. With G: ``nearest`` cuts to [t - G/2, t + G/2], ``previous`` to
    [t, t + G].
    """
    segments: list[tuple[int | None, int | None, bool]] = []
    for i, (ts_us, active) in enumerate(polls):
        t = TICKS_PER_MICROSECOND * ts_us
        if interpolation == "nearest":
            start = None if i == 0 else polls[i - 1][0] + ts_us  # midpoint, in ticks
            end = None if i == len(polls) - 1 else ts_us + polls[i + 1][0]
        elif interpolation == "previous":
            start = None if i == 0 else t
            end = None if i == len(polls) - 1 else TICKS_PER_MICROSECOND * polls[i + 1][0]
        else:
            raise ValueError(f"unknown interpolation {interpolation!r}")
        if max_gap_us is not None:
            g = TICKS_PER_MICROSECOND * max_gap_us
            reach_back, reach_forward = (t - g // 2, t + g // 2) if interpolation == "nearest" \
                else (t, t + g)
            start = reach_back if start is None else max(start, reach_back)
            end = reach_forward if end is None else min(end, reach_forward)
        segments.append((start, end, active))
    return segments


def overlap(a_start: int | None, a_end: int | None, b_start: int, b_end: int) -> int:
    start = b_start if a_start is None else max(a_start, b_start)
    end = b_end if a_end is None else min(a_end, b_end)
    return max(0, end - start)


def window_totals(
    opened: list[Interval],
    segments: list[tuple[int | None, int | None, bool]],
    lo: int,
    hi: int,
) -> tuple[int, int, int]:
    """(business, uptime, downtime) ticks in [lo, hi]: downtime is business
    time spoken for by inactive polls."""
    business = uptime = downtime = 0
    for open_start, open_end in opened:
        start = max(open_start, lo)
        end = min(open_end, hi)
        if end <= start:
            continue
        business += end - start
        for seg_start, seg_end, active in segments:
            if active:
                uptime += overlap(seg_start, seg_end, start, end)
            else:
                downtime += overlap(seg_start, seg_end, start, end)
    return business, uptime, downtime


def store_totals(
    rows: list[tuple[int, int, int]],
    zone: ZoneInfo,
    polls: list[tuple[int, bool]],
    interpolation: str,
    now_us: int,
    special: list[SpecialRow] = (),  # type: ignore[assignment]
    max_gap_us: int | None = None,
) -> dict[str, tuple[int, int, int]]:
    """(business, uptime, downtime) ticks per window for one store."""
    now = TICKS_PER_MICROSECOND * now_us
    opened = open_intervals(rows, zone, now - WINDOWS["week"], now, special)
    segments = spoken_segments(polls, interpolation, max_gap_us)
    return {
        name: window_totals(opened, segments, now - length, now)
        for name, length in WINDOWS.items()
    }


def store_inputs(snapshot: Snapshot, now_us: int, store_ids: Iterable[str] | None):
    """Per store with a poll at or before ``now``, in store_id order:
    (store_id, key, zone, weekly rows, special rows, polls sorted by time)."""
    wanted = None if store_ids is None else set(store_ids)
    stores = snapshot.stores
    result = []
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
        special = [
            (
                date(1970, 1, 1) + timedelta(days=int(day)),
                None if int(start_s) == CLOSED else int(start_s),
                None if int(end_s) == CLOSED else int(end_s),
            )
            for store_key, day, start_s, end_s in zip(
                snapshot.special.store_key, snapshot.special.date,
                snapshot.special.start_s, snapshot.special.end_s,
                strict=True,
            )
            if int(store_key) == key
        ]
        zone_name = stores.timezone[i]
        zone = ZoneInfo(DEFAULT_TIMEZONE if zone_name is None else str(zone_name))
        result.append((store_id, key, zone, rows, special, polls))
    result.sort(key=lambda row: row[0])
    return result


def reference_report(
    snapshot: Snapshot,
    now_us: int,
    interpolation: str = "nearest",
    store_ids: Iterable[str] | None = None,
    max_gap_us: int | None = None,
) -> Report:
    """The report of SPEC section 5 (and 8.1), computed store by store."""
    rows_out = [
        (store_id, key, store_totals(rows, zone, polls, interpolation, now_us, special,
                                     max_gap_us))
        for store_id, key, zone, rows, special, polls in store_inputs(
            snapshot, now_us, store_ids)
    ]

    def window(name: str) -> WindowTotals:
        return WindowTotals(
            business=np.array([t[name][0] for _, _, t in rows_out], dtype=np.int64),
            uptime=np.array([t[name][1] for _, _, t in rows_out], dtype=np.int64),
            inactive=None if max_gap_us is None else np.array(
                [t[name][2] for _, _, t in rows_out], dtype=np.int64),
        )

    return Report(
        now_us=now_us,
        interpolation=interpolation,  # type: ignore[arg-type]
        store_id=np.array([store_id for store_id, _, _ in rows_out], dtype=object),
        store_key=np.array([key for _, key, _ in rows_out], dtype=np.int64),
        hour=window("hour"),
        day=window("day"),
        week=window("week"),
        max_gap_us=max_gap_us,
    )


def reference_daily(
    snapshot: Snapshot,
    now_us: int,
    first_date: int,
    last_date: int,
    interpolation: str = "nearest",
    max_gap_us: int | None = None,
) -> Daily:
    """SPEC 8.3, store by store and date by date (dates as days since 1970-01-01)."""
    now = TICKS_PER_MICROSECOND * now_us
    out = []
    for store_id, key, zone, rows, special, polls in store_inputs(snapshot, now_us, None):
        segments = spoken_segments(polls, interpolation, max_gap_us)
        for day_number in range(first_date, last_date + 1):
            day = date(1970, 1, 1) + timedelta(days=day_number)
            lo = local_time_to_ticks(day, 0, zone)
            hi = min(local_time_to_ticks(day, SECONDS_PER_DAY, zone), now)
            if lo >= now:
                continue
            opened = open_intervals(rows, zone, lo, hi, special)
            out.append((store_id, key, day_number, window_totals(opened, segments, lo, hi)))
    column = lambda i: np.array([t[i] for *_, t in out], dtype=np.int64)  # noqa: E731
    return Daily(
        now_us=now_us,
        interpolation=interpolation,  # type: ignore[arg-type]
        max_gap_us=max_gap_us,
        store_id=np.array([row[0] for row in out], dtype=object),
        store_key=np.array([row[1] for row in out], dtype=np.int64),
        date=np.array([row[2] for row in out], dtype=np.int64),
        totals=WindowTotals(column(0), column(1), None if max_gap_us is None else column(2)),
    )


def reference_groups(report: Report, memberships: list[tuple[str, str]]) -> GroupReport:
    """SPEC 8.4: sum each group's reported members."""
    row_of = {str(store_id): i for i, store_id in enumerate(report.store_id)}
    members: dict[str, set[int]] = {}
    for store_id, group in memberships:
        if store_id in row_of:
            members.setdefault(group, set()).add(row_of[store_id])
    groups = sorted(members)

    def window(totals: WindowTotals) -> WindowTotals:
        def summed(values) -> np.ndarray:
            return np.array([sum(int(values[i]) for i in members[g]) for g in groups],
                            dtype=np.int64)
        return WindowTotals(summed(totals.business), summed(totals.uptime),
                            None if totals.inactive is None else summed(totals.inactive))

    return GroupReport(
        now_us=report.now_us, interpolation=report.interpolation, max_gap_us=report.max_gap_us,
        group=np.array(groups, dtype=object),
        stores=np.array([len(members[g]) for g in groups], dtype=np.int64),
        hour=window(report.hour), day=window(report.day), week=window(report.week),
    )


def reference_outages(
    snapshot: Snapshot,
    now_us: int,
    from_us: int | None = None,
    to_us: int | None = None,
    interpolation: str = "nearest",
    max_gap_us: int | None = None,
) -> Outages:
    """SPEC 8.5: business time spoken for by inactive polls, as maximal
    stretches, cut to the range."""
    lo_us = now_us - 7 * 24 * 3600 * 1_000_000 if from_us is None else from_us
    hi_us = now_us if to_us is None else min(to_us, now_us)
    lo, hi = TICKS_PER_MICROSECOND * lo_us, TICKS_PER_MICROSECOND * hi_us
    out = []
    for store_id, key, zone, rows, special, polls in store_inputs(snapshot, now_us, None):
        if lo >= hi:
            break
        opened = open_intervals(rows, zone, lo, hi, special)
        inactive = merge([
            (lo if start is None else max(start, lo), hi if end is None else min(end, hi))
            for start, end, active in spoken_segments(polls, interpolation, max_gap_us)
            if not active
        ])
        for open_start, open_end in opened:
            for down_start, down_end in inactive:
                start, end = max(open_start, down_start, lo), min(open_end, down_end, hi)
                if end > start:
                    out.append((store_id, key, start, end))
    return Outages(
        now_us=now_us, interpolation=interpolation,  # type: ignore[arg-type]
        max_gap_us=max_gap_us, from_us=lo_us, to_us=hi_us,
        store_id=np.array([row[0] for row in out], dtype=object),
        store_key=np.array([row[1] for row in out], dtype=np.int64),
        start_tick=np.array([row[2] for row in out], dtype=np.int64),
        end_tick=np.array([row[3] for row in out], dtype=np.int64),
    )


def round_half_up(ticks: int, ticks_per_unit: int) -> float:
    """``ticks / ticks_per_unit`` rounded to 2 decimals, halves up, exactly."""
    # floor(value * 100 + 1/2) with value = ticks / ticks_per_unit
    hundredths = (200 * ticks + ticks_per_unit) // (2 * ticks_per_unit)
    return hundredths / 100


def reference_rounded_columns(report: Report) -> dict[str, np.ndarray]:
    """The report's columns of SPEC section 5: hour in minutes, day and week in hours."""
    columns = {}
    kinds = ("uptime", "downtime") if report.max_gap_us is None else (
        "uptime", "downtime", "nodata")
    for kind in kinds:
        for name, unit in (("hour", TICKS_PER_MINUTE), ("day", TICKS_PER_HOUR),
                           ("week", TICKS_PER_HOUR)):
            totals: WindowTotals = getattr(report, name)
            if report.max_gap_us is None:
                values = totals.uptime if kind == "uptime" else totals.business - totals.uptime
            else:
                assert totals.inactive is not None
                values = {"uptime": totals.uptime, "downtime": totals.inactive,
                          "nodata": totals.business - totals.uptime - totals.inactive}[kind]
            columns[f"{kind}_last_{name}"] = np.array(
                [round_half_up(int(v), unit) for v in values], dtype=np.float64
            )
    return columns

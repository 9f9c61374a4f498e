"""One store's time line over any span: when it was open, and what status the
report estimates for every moment. The same rules as the report, laid out as
intervals for people to look at (the dashboard chart, the store API)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storemon.engine.fleet import check_options
from storemon.engine.hours import business_intervals
from storemon.engine.model import (
    DEFAULT_TIMEZONE,
    TICKS_PER_MICROSECOND,
    Hours,
    Interpolation,
    Polls,
    SpecialHours,
)
from storemon.engine.status import poll_segments


@dataclass(frozen=True)
class Timeline:
    """Intervals are half-open ``[start, end)`` in epoch microseconds (an
    estimated boundary at a half microsecond is rounded down). A status is
    True (active), False (inactive) or None (no poll speaks for it, only with
    a max gap)."""

    timezone: str
    open_intervals: list[tuple[int, int]]
    status_intervals: list[tuple[int, int, bool | None]]


def store_timeline(
    polls: Polls,
    hours: Hours,
    timezone: str | None,
    start_us: int,
    end_us: int,
    interpolation: Interpolation = "nearest",
    special: SpecialHours | None = None,
    max_gap_us: int | None = None,
) -> Timeline:
    """The open intervals and estimated status of one store in ``[start_us, end_us]``.

    ``polls``, ``hours`` and ``special`` belong to that one store
    (``store_key`` ignored). Every poll counts, including those outside the
    span, as in the report.

    >>> t = store_timeline(Polls.build([0, 0], [0, 10], [True, False]),
    ...                    Hours.build([], [], [], []), "UTC", 0, 10)
    >>> t.status_intervals
    [(0, 5, True), (5, 10, False)]
    """
    check_options(interpolation, max_gap_us)
    zone = timezone or DEFAULT_TIMEZONE
    if end_us < start_us:
        raise ValueError("the span ends before it starts")
    special = SpecialHours.empty() if special is None else special
    has_hours = len(hours) > 0
    _, opens, closes = business_intervals(
        hours,
        np.zeros(len(hours), dtype=np.int64),
        special,
        np.zeros(len(special), dtype=np.int64),
        np.zeros(1, dtype=np.int64),
        [zone],
        np.array([not has_hours]),
        start_us,
        end_us,
    )
    return Timeline(
        timezone=zone,
        open_intervals=list(zip(opens.tolist(), closes.tolist(), strict=True)),
        status_intervals=_status_intervals(polls, interpolation, max_gap_us, start_us, end_us),
    )


def _status_intervals(
    polls: Polls,
    interpolation: Interpolation,
    max_gap_us: int | None,
    start_us: int,
    end_us: int,
) -> list[tuple[int, int, bool | None]]:
    if len(polls) == 0 or end_us == start_us:
        return []
    order = np.argsort(polls.ts_us, kind="stable")
    lo, hi = start_us * TICKS_PER_MICROSECOND, end_us * TICKS_PER_MICROSECOND
    starts, ends = poll_segments(
        np.zeros(len(order), dtype=np.int64), polls.ts_us[order], interpolation, max_gap_us, lo, hi
    )
    spoken = ends > starts
    starts, ends = starts[spoken], ends[spoken]
    state: list[bool | None] = polls.active[order][spoken].tolist()
    # Time between spoken segments has no data.
    gap_starts = np.concatenate([[lo], ends])
    gap_ends = np.concatenate([starts, [hi]])
    gaps = gap_ends > gap_starts
    bounds = sorted(
        [
            *zip(starts.tolist(), ends.tolist(), state, strict=True),
            *(
                (a, b, None)
                for a, b in zip(gap_starts[gaps].tolist(), gap_ends[gaps].tolist(), strict=True)
            ),
        ]
    )
    intervals: list[tuple[int, int, bool | None]] = []
    for a, b, status in bounds:
        a_us, b_us = a // TICKS_PER_MICROSECOND, b // TICKS_PER_MICROSECOND
        if b_us <= a_us:
            continue
        # Neighbouring segments of the same status read better as one interval.
        if intervals and intervals[-1][2] is status and intervals[-1][1] == a_us:
            intervals[-1] = (intervals[-1][0], b_us, status)
        else:
            intervals.append((a_us, b_us, status))
    return intervals

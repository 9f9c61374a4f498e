"""One store's time line over any span: when it was open, and what status the
report estimates for every moment. The same rules as the report, laid out as
intervals for people to look at (the dashboard chart, the store API)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from storemon.engine.hours import business_intervals
from storemon.engine.model import (
    DEFAULT_TIMEZONE,
    TICKS_PER_MICROSECOND,
    Hours,
    IntArray,
    Interpolation,
    Polls,
)


@dataclass(frozen=True)
class Timeline:
    """Intervals are half-open ``[start, end)`` in epoch microseconds (an
    estimated boundary at a half microsecond is rounded down)."""

    timezone: str
    open_intervals: list[tuple[int, int]]
    status_intervals: list[tuple[int, int, bool]]


def store_timeline(
    polls: Polls,
    hours: Hours,
    timezone: str | None,
    start_us: int,
    end_us: int,
    interpolation: Interpolation = "nearest",
) -> Timeline:
    """The open intervals and estimated status of one store in ``[start_us, end_us]``.

    ``polls`` and ``hours`` belong to that one store (``store_key`` ignored).
    Every poll counts, including those outside the span, as in the report.

    >>> t = store_timeline(Polls.build([0, 0], [0, 10], [True, False]),
    ...                    Hours.build([], [], [], []), "UTC", 0, 10)
    >>> t.status_intervals
    [(0, 5, True), (5, 10, False)]
    """
    zone = timezone or DEFAULT_TIMEZONE
    if end_us < start_us:
        raise ValueError("the span ends before it starts")
    has_hours = len(hours) > 0
    _, opens, closes = business_intervals(
        hours,
        np.zeros(len(hours), dtype=np.int64),
        np.zeros(1, dtype=np.int64),
        [zone],
        np.array([not has_hours]),
        start_us,
        end_us,
    )
    return Timeline(
        timezone=zone,
        open_intervals=list(zip(opens.tolist(), closes.tolist(), strict=True)),
        status_intervals=_status_intervals(polls, interpolation, start_us, end_us),
    )


def _status_intervals(
    polls: Polls, interpolation: Interpolation, start_us: int, end_us: int
) -> list[tuple[int, int, bool]]:
    if len(polls) == 0 or end_us == start_us:
        return []
    order = np.argsort(polls.ts_us, kind="stable")
    ts: IntArray = polls.ts_us[order]
    active = polls.active[order]
    if interpolation == "nearest":
        boundary_ticks = ts[:-1] + ts[1:]  # midpoints, in half microseconds
    else:
        boundary_ticks = ts[1:] * TICKS_PER_MICROSECOND
    boundary = boundary_ticks // TICKS_PER_MICROSECOND
    starts = np.clip(np.concatenate([[start_us], boundary]), start_us, end_us)
    ends = np.clip(np.concatenate([boundary, [end_us]]), start_us, end_us)
    keep = ends > starts
    starts, ends, active = starts[keep], ends[keep], active[keep]
    # Neighbouring segments of the same status read better as one interval.
    first = np.ones(len(active), dtype=np.bool_)
    first[1:] = active[1:] != active[:-1]
    run_start = np.flatnonzero(first)
    run_end = np.append(run_start[1:], len(active)) - 1
    return [
        (int(starts[a]), int(ends[b]), bool(active[a]))
        for a, b in zip(run_start, run_end, strict=True)
    ]

"""Readable builders for engine inputs, and a flat view of a report's rows.

    snapshot(
        store("s1", tz="America/New_York", hours=["Sat 22:00-02:00"],
              polls=["2023-03-12 07:00:00 active"]),
    )

Timestamps are UTC, ``YYYY-MM-DD HH:MM:SS[.ffffff]``. Hours rows are
``"<Mon..Sun> HH:MM[:SS]-HH:MM[:SS]"`` in the store's local time; ``24:00``
is accepted as an end. Special rows are ``"YYYY-MM-DD HH:MM-HH:MM"`` or
``"YYYY-MM-DD closed"`` (a local date).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from storemon.engine.model import CLOSED, Hours, Polls, Report, Snapshot, SpecialHours, Stores

SECOND = 2_000_000  # ticks (half microseconds)
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
MICROSECOND_TICKS = 2

DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc(text: str) -> int:
    """Epoch microseconds of a UTC timestamp written ``2023-03-12 07:00:00[.ffffff]``."""
    moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)


def seconds_of_day(text: str) -> int:
    parts = [int(part) for part in text.split(":")]
    hours, minutes, seconds = [*parts, 0][:3]
    return hours * 3600 + minutes * 60 + seconds


def hours_row(text: str) -> tuple[int, int, int]:
    """``"Sat 22:00-02:00"`` -> (5, 79200, 7200)."""
    day_name, span = text.split()
    start, end = span.split("-")
    return DAY_NAMES.index(day_name), seconds_of_day(start), seconds_of_day(end)


def day_number(text: str) -> int:
    """Days since 1970-01-01 of a date written ``YYYY-MM-DD``."""
    return (date.fromisoformat(text) - date(1970, 1, 1)).days


def special_row(text: str) -> tuple[int, int, int]:
    """``"2023-03-13 10:00-14:00"`` or ``"2023-03-13 closed"`` -> (date, start_s, end_s)."""
    day, span = text.split()
    if span == "closed":
        return day_number(day), CLOSED, CLOSED
    start, end = span.split("-")
    return day_number(day), seconds_of_day(start), seconds_of_day(end)


@dataclass
class StoreSpec:
    store_id: str
    tz: str | None = None
    hours: list[str] = field(default_factory=list)
    polls: list[str] = field(default_factory=list)
    special: list[str] = field(default_factory=list)


def store(
    store_id: str,
    *,
    tz: str | None = None,
    hours: list[str] | tuple[str, ...] = (),
    polls: list[str] | tuple[str, ...] = (),
    special: list[str] | tuple[str, ...] = (),
) -> StoreSpec:
    """A store; each poll is ``"<timestamp> active"`` or ``"<timestamp> inactive"``."""
    return StoreSpec(store_id, tz, list(hours), list(polls), list(special))


def snapshot(*stores: StoreSpec) -> Snapshot:
    # Keys count down so that key order differs from store_id order.
    keys = [1_000 - 7 * i for i in range(len(stores))]
    poll_keys, poll_ts, poll_active = [], [], []
    hour_keys, days, starts, ends = [], [], [], []
    special_rows = []
    for key, spec in zip(keys, stores, strict=True):
        special_rows += [(key, *special_row(text)) for text in spec.special]
        for text in spec.polls:
            timestamp, status = text.rsplit(" ", 1)
            assert status in ("active", "inactive"), text
            poll_keys.append(key)
            poll_ts.append(utc(timestamp))
            poll_active.append(status == "active")
        for text in spec.hours:
            day, start_s, end_s = hours_row(text)
            hour_keys.append(key)
            days.append(day)
            starts.append(start_s)
            ends.append(end_s)
    return Snapshot(
        stores=Stores.build(keys, [s.store_id for s in stores], [s.tz for s in stores]),
        polls=Polls.build(poll_keys, poll_ts, poll_active),
        hours=Hours.build(hour_keys, days, starts, ends),
        special=SpecialHours.build(*(zip(*special_rows, strict=True) if special_rows
                                     else ([], [], [], []))),
    )


@dataclass(frozen=True)
class Totals:
    business: int
    uptime: int
    downtime: int


@dataclass(frozen=True)
class Row:
    store_id: str
    store_key: int
    hour: Totals
    day: Totals
    week: Totals


def rows(report: Report) -> list[Row]:
    """The report as plain Python rows, in report order."""
    def totals(window: str, i: int) -> Totals:
        w = getattr(report, window)
        return Totals(int(w.business[i]), int(w.uptime[i]), int(w.downtime[i]))

    return [
        Row(
            str(report.store_id[i]),
            int(report.store_key[i]),
            totals("hour", i),
            totals("day", i),
            totals("week", i),
        )
        for i in range(len(report.store_id))
    ]

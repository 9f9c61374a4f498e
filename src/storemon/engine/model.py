"""The engine's inputs and outputs: plain column arrays, one row per item.

Times are integers: epoch microseconds (UTC) for instants, seconds after
local midnight for business hours. Stores are identified inside the engine by
an integer ``store_key`` (any non-negative int64, as the data layer assigns
it); the opaque ``store_id`` string only matters for output and ordering.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

Interpolation = Literal["nearest", "previous"]
INTERPOLATIONS: tuple[Interpolation, ...] = ("nearest", "previous")

#: Used for a store with no timezone row (SPEC section 2).
DEFAULT_TIMEZONE = "America/Chicago"

MICROS_PER_SECOND = 1_000_000
#: Report totals are counted in ticks of half a microsecond: a poll's reach
#: ends at the midpoint between two polls, which can fall on a half microsecond,
#: and integer ticks keep every sum exact.
TICKS_PER_MICROSECOND = 2
TICKS_PER_SECOND = TICKS_PER_MICROSECOND * MICROS_PER_SECOND
SECONDS_PER_DAY = 86_400
#: An end time of ``24:00`` is stored as this many seconds after midnight.
END_OF_DAY = SECONDS_PER_DAY

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def _ints(values: object) -> IntArray:
    return np.ascontiguousarray(values, dtype=np.int64)


@dataclass(frozen=True)
class Stores:
    """Every known store: ``key`` ascending and unique, ``store_id`` and
    ``timezone`` aligned with it (``timezone`` None means "no timezone row")."""

    key: IntArray
    store_id: npt.NDArray[np.object_]
    timezone: npt.NDArray[np.object_]

    @classmethod
    def build(cls, key: object, store_id: object, timezone: object | None = None) -> Stores:
        keys = _ints(key)
        ids = np.asarray(store_id, dtype=object)
        zones = (
            np.full(len(keys), None, dtype=object)
            if timezone is None
            else np.asarray(timezone, dtype=object)
        )
        order = np.argsort(keys, kind="stable")
        keys, ids, zones = keys[order], ids[order], zones[order]
        if len(keys) and np.any(np.diff(keys) == 0):
            raise ValueError("store keys must be unique")
        return cls(keys, ids, zones)

    def __len__(self) -> int:
        return len(self.key)


@dataclass(frozen=True)
class Polls:
    """Status polls; any order. ``active`` is True for ``active``."""

    store_key: IntArray
    ts_us: IntArray
    active: BoolArray

    @classmethod
    def build(cls, store_key: object, ts_us: object, active: object) -> Polls:
        return cls(_ints(store_key), _ints(ts_us), np.asarray(active, dtype=np.bool_))

    def __len__(self) -> int:
        return len(self.ts_us)


@dataclass(frozen=True)
class Hours:
    """Weekly business-hours rows: ``day`` 0 = Monday .. 6 = Sunday,
    ``start_s`` in [0, 86400), ``end_s`` in [0, 86400] (86400 = ``24:00``)."""

    store_key: IntArray
    day: IntArray
    start_s: IntArray
    end_s: IntArray

    @classmethod
    def build(cls, store_key: object, day: object, start_s: object, end_s: object) -> Hours:
        return cls(_ints(store_key), _ints(day), _ints(start_s), _ints(end_s))

    def __len__(self) -> int:
        return len(self.day)


#: ``start_s``/``end_s`` of a special-hours row with both times empty: it
#: opens nothing, but its date still sets the weekly rows aside.
CLOSED = -1


@dataclass(frozen=True)
class SpecialHours:
    """Date exceptions (SPEC 8.2): ``date`` is a local calendar date as days
    since 1970-01-01; times as in :class:`Hours`, or both :data:`CLOSED`."""

    store_key: IntArray
    date: IntArray
    start_s: IntArray
    end_s: IntArray

    @classmethod
    def build(cls, store_key: object, date: object, start_s: object, end_s: object) -> SpecialHours:
        special = cls(_ints(store_key), _ints(date), _ints(start_s), _ints(end_s))
        if np.any((special.start_s == CLOSED) != (special.end_s == CLOSED)):
            raise ValueError("a special-hours row has both times or neither")
        return special

    @classmethod
    def empty(cls) -> SpecialHours:
        return cls.build([], [], [], [])

    def __len__(self) -> int:
        return len(self.date)


@dataclass(frozen=True)
class Memberships:
    """Group memberships (SPEC 8.4) as aligned ``(store_id, group)`` pairs."""

    store_id: npt.NDArray[np.object_]
    group: npt.NDArray[np.object_]

    @classmethod
    def build(cls, store_id: object, group: object) -> Memberships:
        ids = np.asarray(store_id, dtype=object)
        groups = np.asarray(group, dtype=object)
        if len(ids) != len(groups):
            raise ValueError("store ids and groups must be aligned")
        return cls(ids, groups)

    @classmethod
    def empty(cls) -> Memberships:
        return cls.build([], [])

    def __len__(self) -> int:
        return len(self.group)


@dataclass(frozen=True)
class Snapshot:
    """Everything the report needs, as read from one consistent database state."""

    stores: Stores
    polls: Polls
    hours: Hours
    special: SpecialHours = field(default_factory=SpecialHours.empty)
    groups: Memberships = field(default_factory=Memberships.empty)

    def newest_poll_us(self) -> int | None:
        return int(self.polls.ts_us.max()) if len(self.polls) else None


@dataclass(frozen=True)
class WindowTotals:
    """Exact totals per store (or per group, or per day) for one window, in
    ticks (half microseconds).

    ``inactive`` is the business time spoken for by inactive polls; it is
    given only with a ``max_gap``, where business time can also have no data.
    Without it every moment has a status, so downtime is business - uptime.
    """

    business: IntArray
    uptime: IntArray
    inactive: IntArray | None = None

    @property
    def downtime(self) -> IntArray:
        return self.business - self.uptime if self.inactive is None else self.inactive

    @property
    def nodata(self) -> IntArray:
        return self.business - self.uptime - self.downtime

    def take(self, index: IntArray) -> WindowTotals:
        inactive = None if self.inactive is None else self.inactive[index]
        return WindowTotals(self.business[index], self.uptime[index], inactive)


@dataclass(frozen=True)
class Report:
    """One row per store with a poll at or before ``now_us``, in ``store_id``
    string order."""

    now_us: int
    interpolation: Interpolation
    store_id: npt.NDArray[np.object_]
    store_key: IntArray
    hour: WindowTotals
    day: WindowTotals
    week: WindowTotals
    #: The ``max_gap`` in microseconds the report was computed with, if any.
    max_gap_us: int | None = None

    def __len__(self) -> int:
        return len(self.store_id)


@dataclass(frozen=True)
class Daily:
    """Totals per store and local date (SPEC 8.3), sorted by ``store_id`` then
    ``date`` (days since 1970-01-01)."""

    now_us: int
    interpolation: Interpolation
    max_gap_us: int | None
    store_id: npt.NDArray[np.object_]
    store_key: IntArray
    date: IntArray
    totals: WindowTotals

    def __len__(self) -> int:
        return len(self.date)


@dataclass(frozen=True)
class GroupReport:
    """Per group (SPEC 8.4): the sums of its reported members' exact totals;
    ``stores`` counts those members. Sorted by ``group``."""

    now_us: int
    interpolation: Interpolation
    max_gap_us: int | None
    group: npt.NDArray[np.object_]
    stores: IntArray
    hour: WindowTotals
    day: WindowTotals
    week: WindowTotals

    def __len__(self) -> int:
        return len(self.group)


@dataclass(frozen=True)
class Outages:
    """Maximal stretches of business time estimated inactive (SPEC 8.5), cut
    to ``[from_us, to_us]``; ends in ticks, sorted by ``store_id`` then start."""

    now_us: int
    interpolation: Interpolation
    max_gap_us: int | None
    from_us: int
    to_us: int
    store_id: npt.NDArray[np.object_]
    store_key: IntArray
    start_tick: IntArray
    end_tick: IntArray

    @property
    def length_ticks(self) -> IntArray:
        return self.end_tick - self.start_tick

    def __len__(self) -> int:
        return len(self.start_tick)

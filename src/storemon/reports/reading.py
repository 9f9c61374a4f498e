"""Reading a finished report without downloading it: one page of its rows,
sorted and filtered, and a summary of the whole.

Works on any report frame (see :mod:`storemon.reports.frame`) by its
columns, not its kind: the first text column is the row's key (``store_id``
or ``group``); ``uptime*``, ``downtime*`` and ``nodata*`` columns with the
same suffix (``_last_hour``, ``_last_day``, ``_last_week``, or none in a
daily report) form a window. All work is Arrow compute or numpy over whole
columns; a decoded frame keeps the sort orders it has computed, so paging
through a large report sorts it once per column and direction.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

#: Window suffixes in the order a summary lists them, with their unit.
WINDOWS = (
    ("_last_hour", "minutes"),
    ("_last_day", "hours"),
    ("_last_week", "hours"),
    ("", "hours"),
)
#: Rows a summary names as the worst.
WORST = 5


class ReadingError(ValueError):
    """A sort, filter or page the report cannot answer (a column it lacks)."""


@dataclass(frozen=True)
class RowQuery:
    """``sort`` None: the worst first (the widest window's downtime,
    descending). Thresholds compare exactly, in the column's own unit."""

    sort: str | None = None
    descending: bool | None = None
    prefix: str = ""
    #: Keep rows whose key is one of these (a group's members; a group name
    #: for a group report).
    keys: Sequence[str] | None = None
    minimum: Mapping[str, Decimal] = field(default_factory=dict)
    maximum: Mapping[str, Decimal] = field(default_factory=dict)
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class Page:
    columns: list[str]
    rows: list[dict[str, Any]]
    #: Rows matching the filters in all.
    total: int
    sort: str
    descending: bool


def _json_value(value: object) -> object:
    if isinstance(value, Decimal):
        # The nearest double of a 2-decimal value prints back as that value.
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Window:
    suffix: str
    unit: str
    uptime: str
    downtime: str
    nodata: str | None
    business: str | None


def _stable_order(values: npt.NDArray[np.int64], descending: bool) -> npt.NDArray[np.int64]:
    """Indices sorting ``values``, ties in index order.

    >>> _stable_order(np.array([5, 1, 5, 3]), descending=True).tolist()
    [0, 2, 3, 1]
    """
    count = len(values)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    low, high = int(values.min()), int(values.max())
    if (high - low + 1) * count < 2**62:
        # One unstable sort of rank * count + index is stable by construction
        # and several times faster than numpy's stable argsort.
        rank = high - values if descending else values - low
        keys = np.sort(rank * count + np.arange(count, dtype=np.int64))
        return keys % count
    return np.argsort(-values if descending else values, kind="stable").astype(np.int64)


class ReportTable:
    """A decoded report frame, ready to page through.

    Number columns are read once as integers (a decimal as its unscaled
    value, exact), so sorting, thresholds and sums are numpy over whole
    columns. Every kind of report is sorted by its key (SPEC 5, 8.3, 8.4), so
    rows of one key are adjacent: runs of equal keys are the distinct keys.
    Thread-safe: what it caches is at worst computed twice, never wrongly.
    """

    def __init__(self, frame: pa.Table) -> None:
        self.frame = frame.combine_chunks()
        names = self.frame.column_names
        text = [n for n in names if pa.types.is_string(self.frame.schema.field(n).type)]
        if not text:
            raise ReadingError("the report has no text column to name its rows")
        self.key = text[0]
        self.windows = [
            Window(
                suffix,
                unit,
                f"uptime{suffix}",
                f"downtime{suffix}",
                f"nodata{suffix}" if f"nodata{suffix}" in names else None,
                "business_hours" if not suffix and "business_hours" in names else None,
            )
            for suffix, unit in WINDOWS
            if f"uptime{suffix}" in names and f"downtime{suffix}" in names
        ]
        self._orders: dict[tuple[str, bool], npt.NDArray[np.int64]] = {}
        self._values: dict[str, npt.NDArray[np.int64]] = {}
        self._summary: dict[str, Any] | None = None

    @property
    def nbytes(self) -> int:
        return int(self.frame.nbytes)

    def default_sort(self) -> tuple[str, bool]:
        """The worst first: the widest window's downtime, most first."""
        if self.windows:
            return self.windows[-1].downtime, True
        return self.key, False

    def _check_column(self, name: str) -> None:
        if name not in self.frame.column_names:
            raise ReadingError(
                f"the report has no column {name!r}; it has {', '.join(self.frame.column_names)}"
            )

    def _scale(self, name: str) -> int:
        kind = self.frame.schema.field(name).type
        return int(kind.scale) if pa.types.is_decimal(kind) else 0

    def values(self, name: str) -> npt.NDArray[np.int64]:
        """A number column as int64: a decimal's unscaled value (hundredths
        for the report's 2 decimals), an integer as it is."""
        cached = self._values.get(name)
        if cached is None:
            column = self.frame.column(name)
            array = column.chunk(0) if column.num_chunks else pa.array([], column.type)
            kind = array.type
            if pa.types.is_decimal(kind):
                if kind.bit_width != 128:
                    raise ReadingError(f"column {name!r}: no reading for {kind}")
                # A decimal128 is a 128-bit two's-complement integer: the low
                # word is the value wherever it fits an int64 (18 digits do).
                words = np.frombuffer(array.buffers()[1], dtype=np.int64)
                cached = words[2 * array.offset : 2 * (array.offset + len(array)) : 2].copy()
            elif pa.types.is_integer(kind):
                cached = array.to_numpy(zero_copy_only=False).astype(np.int64)
            else:
                raise ReadingError(f"column {name!r} is not a number")
            self._values[name] = cached
        return cached

    def order(self, column: str, descending: bool) -> npt.NDArray[np.int64]:
        """Row indices sorted by ``column``; ties keep the frame's own order
        (by key) in either direction."""
        cached = self._orders.get((column, descending))
        if cached is None:
            kind = self.frame.schema.field(column).type
            if pa.types.is_decimal(kind) or pa.types.is_integer(kind):
                cached = _stable_order(self.values(column), descending)
            else:
                # Arrow's sort is stable too: dates, instants and text.
                order = "descending" if descending else "ascending"
                indices = pc.sort_indices(self.frame.select([column]), sort_keys=[(column, order)])
                cached = indices.to_numpy()
            cached = cached.astype(np.int64, copy=False)
            self._orders[(column, descending)] = cached
        return cached

    def _mask(self, query: RowQuery) -> npt.NDArray[np.bool_] | None:
        mask: npt.NDArray[np.bool_] | None = None

        def both(condition: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
            return condition if mask is None else mask & condition

        key = self.frame.column(self.key)
        if query.prefix:
            matched = pc.fill_null(pc.starts_with(key, query.prefix), False)
            mask = both(np.asarray(matched.to_numpy(zero_copy_only=False), dtype=bool))
        if query.keys is not None:
            found = pc.is_in(key, value_set=pa.array(list(query.keys), pa.string()))
            mask = both(np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool))
        for bounds, is_minimum in ((query.minimum, True), (query.maximum, False)):
            for name, value in bounds.items():
                self._check_column(name)
                values = self.values(name)
                # Exact: the threshold in the column's units, rounded towards
                # the side the comparison keeps.
                scaled = value.scaleb(self._scale(name))
                if is_minimum:
                    mask = both(values >= int(scaled.to_integral_value(ROUND_CEILING)))
                else:
                    mask = both(values <= int(scaled.to_integral_value(ROUND_FLOOR)))
        return mask

    def page(self, query: RowQuery) -> Page:
        if query.sort is None:
            sort, descending = self.default_sort()
            if query.descending is not None:
                descending = query.descending
        else:
            self._check_column(query.sort)
            sort, descending = query.sort, bool(query.descending)
        order = self.order(sort, descending)
        mask = self._mask(query)
        if mask is not None:
            order = order[mask[order]]
        chosen = order[query.offset : query.offset + query.limit]
        rows = self.frame.take(pa.array(chosen, pa.int64())).to_pylist()
        return Page(
            columns=self.frame.column_names,
            rows=[{name: _json_value(value) for name, value in row.items()} for row in rows],
            total=len(order),
            sort=sort,
            descending=descending,
        )

    def filtered(self, query: RowQuery) -> ReportTable:
        """The rows ``query`` keeps (its sort and page aside), as a table of
        their own: a summary of one group, say."""
        mask = self._mask(query)
        return self if mask is None else ReportTable(self.frame.filter(pa.array(mask)))

    def _runs(self) -> npt.NDArray[np.int64]:
        """Start index of each run of equal keys (each distinct key)."""
        key = self.frame.column(self.key)
        if len(key) == 0:
            return np.zeros(0, dtype=np.int64)
        changes = pc.not_equal(key.slice(1), key.slice(0, len(key) - 1))
        changed = np.asarray(changes.to_numpy(zero_copy_only=False), dtype=bool)
        return np.concatenate([[0], np.flatnonzero(changed) + 1]).astype(np.int64)

    def summary(self) -> dict[str, Any]:
        """The whole report in a few numbers: rows, keys (stores or groups),
        stores, per window the business time and its uptime, downtime and
        no-data shares and how many keys had any downtime, and the worst
        keys by the widest window's downtime."""
        if self._summary is None:
            runs = self._runs()
            self._summary = {
                "rows": self.frame.num_rows,
                "key": self.key,
                "keys": len(runs),
                "stores": self._stores(len(runs)),
                "windows": [self._window_summary(window, runs) for window in self.windows],
                "worst": self._worst(runs),
            }
        return self._summary

    def _stores(self, keys: int) -> int:
        if self.key == "store_id":
            return keys
        if "stores" in self.frame.column_names:
            # A group report: a store counts once per group it belongs to.
            return int(self.values("stores").sum())
        return 0

    def _total(self, name: str) -> Decimal:
        return Decimal(int(self.values(name).sum())).scaleb(-self._scale(name))

    def _window_summary(self, window: Window, runs: npt.NDArray[np.int64]) -> dict[str, Any]:
        uptime, downtime = self._total(window.uptime), self._total(window.downtime)
        nodata = self._total(window.nodata) if window.nodata else None
        if window.business:
            business = self._total(window.business)
        else:
            business = uptime + downtime + (nodata or Decimal(0))
        down = self.values(window.downtime) > 0
        with_downtime = int(np.logical_or.reduceat(down, runs).sum()) if len(runs) else 0

        def share(part: Decimal | None) -> float | None:
            return None if part is None or business == 0 else float(part / business)

        return {
            "window": window.suffix.removeprefix("_") or "day",
            "unit": window.unit,
            "business": float(business),
            "uptime": float(uptime),
            "downtime": float(downtime),
            "nodata": None if nodata is None else float(nodata),
            "uptime_share": share(uptime),
            "downtime_share": share(downtime),
            "nodata_share": share(nodata),
            "with_downtime": with_downtime,
        }

    def _worst(self, runs: npt.NDArray[np.int64]) -> list[dict[str, Any]]:
        if not self.windows or len(runs) == 0:
            return []
        window = self.windows[-1]
        names = [window.uptime, window.downtime] + ([window.nodata] if window.nodata else [])
        # Per key totals (one row per key except in a daily report).
        totals = {name: np.add.reduceat(self.values(name), runs) for name in names}
        # Most downtime first; ties in key order, as the runs are.
        top = np.argsort(-totals[window.downtime], kind="stable")[:WORST]
        top = top[totals[window.downtime][top] > 0]
        keys = self.frame.column(self.key).take(pa.array(runs[top])).to_pylist()
        return [
            {
                self.key: key,
                **{
                    name: float(Decimal(int(totals[name][i])).scaleb(-self._scale(name)))
                    for name in names
                },
            }
            for key, i in zip(keys, top.tolist(), strict=True)
        ]


class ReportTableCache:
    """Decoded reports by id, the least recently read dropped first once
    they hold more than ``max_bytes``. A finished report never changes, so
    an entry is valid for as long as its report exists."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._tables: OrderedDict[str, ReportTable] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, report_id: str, load: Callable[[], pa.Table]) -> ReportTable:
        with self._lock:
            table = self._tables.get(report_id)
            if table is not None:
                self._tables.move_to_end(report_id)
                return table
        # Decoded outside the lock: two first readers may both decode.
        table = ReportTable(load())
        if table.nbytes > self.max_bytes:
            return table
        with self._lock:
            self._tables[report_id] = table
            self._tables.move_to_end(report_id)
            used = sum(t.nbytes for t in self._tables.values())
            while used > self.max_bytes:
                _, dropped = self._tables.popitem(last=False)
                used -= dropped.nbytes
        return table

    def forget(self, report_id: str) -> None:
        with self._lock:
            self._tables.pop(report_id, None)

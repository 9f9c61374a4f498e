"""Special hours (SPEC 8.2): writing a feed's date exceptions, and reading
them all back as arrays for the report.

Writers run inside the caller's transaction and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl
from sqlalchemy.engine import Connection

from storemon.data.columnar import read_integers
from storemon.data.dataset import refusals_translated, replace_store_rows
from storemon.data.schema import special_hours

_COLUMNS = ("store_key", "date_days", "start_s", "end_s")
#: Stands for NULL in comparisons and reads: no time of day is negative.
_NO_TIME = -1


@refusals_translated
def replace_special_hours(conn: Connection, rows: pl.DataFrame) -> int:
    """Give every store in ``rows`` (``store_key``, ``date`` as a polars Date,
    ``start_s``, ``end_s``, both null on a closed row) exactly these special
    rows; other stores keep theirs. Returns the number of stores changed."""
    new = rows.select(
        pl.col("store_key").cast(pl.Int64),
        pl.col("date").cast(pl.Int32).cast(pl.Int64).alias("date_days"),
        pl.col("start_s").cast(pl.Int64),
        pl.col("end_s").cast(pl.Int64),
    )
    row_text = pl.format(
        "{}/{}/{}",
        "date_days",
        pl.col("start_s").fill_null(_NO_TIME),
        pl.col("end_s").fill_null(_NO_TIME),
    )
    return replace_store_rows(conn, special_hours, new, row_text)


IntArray = npt.NDArray[np.int64]
Int32Array = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class SpecialHoursRows:
    """Every special row, sorted by ``store_key``, ``date_days``, then times.

    ``date_days``: the local date as days since 1970-01-01. ``closed``: the
    row has no times (it opens nothing that date); its ``start_s`` and
    ``end_s`` are 0. Otherwise seconds after local midnight, 86400 for an end
    of 24:00, as in the weekly hours.
    """

    store_key: IntArray
    date_days: Int32Array
    start_s: Int32Array
    end_s: Int32Array
    closed: BoolArray

    def __len__(self) -> int:
        return len(self.store_key)


def read_special_hours(
    conn: Connection, store_keys: Sequence[int] | None = None
) -> SpecialHoursRows:
    """All special rows (or those of ``store_keys``), as arrays, in one read."""
    columns = read_integers(
        conn,
        "special_hours",
        {
            "store_key": "store_key",
            "date_days": "date_days",
            "start_s": f"coalesce(start_s, {_NO_TIME})",
            "end_s": f"coalesce(end_s, {_NO_TIME})",
        },
    )
    keys, days, starts, ends = columns.values()
    if store_keys is not None:
        wanted = np.isin(keys, np.asarray(store_keys, dtype=np.int64))
        keys, days, starts, ends = keys[wanted], days[wanted], starts[wanted], ends[wanted]
    # Sorted here rather than by the database: cheaper, and the same everywhere.
    order = np.lexsort((ends, starts, days, keys))
    keys, days, starts, ends = keys[order], days[order], starts[order], ends[order]
    closed = starts == _NO_TIME
    return SpecialHoursRows(
        store_key=keys.astype(np.int64, copy=False),
        date_days=days.astype(np.int32, copy=False),
        start_s=np.where(closed, 0, starts).astype(np.int32, copy=False),
        end_s=np.where(closed, 0, ends).astype(np.int32, copy=False),
        closed=closed,
    )

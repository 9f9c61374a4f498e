"""What one shard of a report stages, and the report assembled from them:
exactly the frame the report computed whole would have.

- ``stores`` and ``daily``: a shard stages its final rows (the frame of its
  stores). Every value of a row depends on its store only, so assembling is
  putting the rows in the report's order: by store id, as the engine orders
  them (the same stable sort on the same ids; the dates of one store stay
  in order).
- ``groups``: a group's values are sums over its members, who can sit in
  any shard. A shard stages, per group, its members' exact integer totals
  (ticks) and how many they are; the sums of those are the whole report's
  sums, exactly, and are rounded only once assembled. A membership belongs
  to its store, so no member is counted in two shards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from storemon.engine import GroupReport, WindowTotals
from storemon.reports.frame import decode_frame, encode_frame
from storemon.reports.frames import group_frame, report_frame_of

if TYPE_CHECKING:
    from storemon.reports.service import ReportRequest, Result

WINDOWS = ("hour", "day", "week")


def shard_rows(result: Result, request: ReportRequest) -> tuple[bytes, int]:
    """The encoded rows a shard stages, and how many."""
    if isinstance(result, GroupReport):
        table = _partial_sums(result)
    else:
        table = report_frame_of(result, request)
    return encode_frame(table), table.num_rows


def assemble(staged: list[bytes], request: ReportRequest, now_us: int) -> tuple[bytes, int]:
    """The report's encoded frame from its shards' staged rows (in shard
    order), and its row count."""
    tables = [decode_frame(data) for data in staged]
    if request.kind == "groups":
        frame = group_frame(_summed(tables, request, now_us), request)
    else:
        joined = pa.concat_tables(tables)
        ids = joined.column("store_id").to_numpy(zero_copy_only=False)
        # The engine's own order (``Fleet.id_order``): a stable sort on the
        # ids as numpy strings. Shards are in store-key order and each is
        # already in this order, so ties (if any) break as they do whole.
        order = np.argsort(ids.astype(str), kind="stable")
        frame = joined.take(pa.array(order)).combine_chunks()
    return encode_frame(frame), frame.num_rows


def _partial_sums(groups: GroupReport) -> pa.Table:
    columns: dict[str, pa.Array] = {
        "group": pa.array(groups.group, pa.string()),
        "stores": pa.array(groups.stores, pa.int64()),
    }
    for window in WINDOWS:
        totals: WindowTotals = getattr(groups, window)
        columns[f"{window}_business"] = pa.array(totals.business, pa.int64())
        columns[f"{window}_uptime"] = pa.array(totals.uptime, pa.int64())
        if totals.inactive is not None:
            columns[f"{window}_inactive"] = pa.array(totals.inactive, pa.int64())
    return pa.table(columns)


def _summed(tables: list[pa.Table], request: ReportRequest, now_us: int) -> GroupReport:
    joined = pa.concat_tables(tables)
    names = joined.column("group").to_numpy(zero_copy_only=False).astype(str)
    # Sorted in code point order, as the engine sorts groups.
    groups, slot = np.unique(names, return_inverse=True)
    slot = np.asarray(slot, dtype=np.int64).ravel()

    def summed(name: str) -> np.ndarray:
        values = np.asarray(joined.column(name).to_numpy(), dtype=np.int64)
        total = np.zeros(len(groups), dtype=np.int64)
        np.add.at(total, slot, values)  # integers: exact
        return total

    def window(name: str) -> WindowTotals:
        inactive = summed(f"{name}_inactive") if request.max_gap_us is not None else None
        return WindowTotals(summed(f"{name}_business"), summed(f"{name}_uptime"), inactive)

    return GroupReport(
        now_us=now_us,
        interpolation=request.interpolation,
        max_gap_us=request.max_gap_us,
        group=np.asarray(groups, dtype=object),
        stores=summed("stores"),
        hour=window("hour"),
        day=window("day"),
        week=window("week"),
    )

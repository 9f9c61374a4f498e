"""Totals per group of stores (SPEC 8.4), from a store report's exact totals."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from storemon.engine.model import GroupReport, IntArray, Report, WindowTotals


def group_report(report: Report, member_store_id: object, member_group: object) -> GroupReport:
    """Sum the members' exact totals per group.

    Memberships are ``(store_id, group)`` pairs given as two aligned sequences
    (repeats count once). A group appears when at least one member has a row
    in ``report``; ``stores`` counts those members. Sorted by group in code
    point order.
    """
    store_ids = np.asarray(member_store_id, dtype=object)
    groups = np.asarray(member_group, dtype=object)
    if len(store_ids) != len(groups):
        raise ValueError("store ids and groups must be aligned")
    reported = report.store_id.astype(str)  # sorted in code point order
    wanted = store_ids.astype(str)
    position = np.searchsorted(reported, wanted)
    found = position < len(reported)
    found[found] = reported[position[found]] == wanted[found]
    names, group_index = np.unique(groups[found].astype(str), return_inverse=True)
    # One key per distinct (group, report row) pair, in group order.
    pair = np.unique(np.asarray(group_index, dtype=np.int64) * len(reported) + position[found])
    member_group_index = pair // max(len(reported), 1)
    member_row = pair % max(len(reported), 1)
    new_group = np.ones(len(pair), dtype=np.bool_)
    new_group[1:] = member_group_index[1:] != member_group_index[:-1]
    starts = np.flatnonzero(new_group)
    present = member_group_index[starts]
    stores = np.diff(np.append(starts, len(pair))).astype(np.int64)

    def summed(values: IntArray) -> IntArray:
        if len(pair) == 0:
            return np.zeros(0, dtype=np.int64)
        # Integer sums: the fleet's totals can pass 2**53 ticks.
        result: IntArray = np.add.reduceat(values[member_row], starts)
        return result

    def window(totals: WindowTotals) -> WindowTotals:
        return WindowTotals(
            summed(totals.business),
            summed(totals.uptime),
            None if totals.inactive is None else summed(totals.inactive),
        )

    group_names: npt.NDArray[np.object_] = np.asarray(names[present], dtype=object)
    return GroupReport(
        now_us=report.now_us,
        interpolation=report.interpolation,
        max_gap_us=report.max_gap_us,
        group=group_names,
        stores=stores,
        hour=window(report.hour),
        day=window(report.day),
        week=window(report.week),
    )

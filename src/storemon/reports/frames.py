"""Every report kind as a typed frame (see :mod:`storemon.reports.frame`):
the daily breakdown, the group report and the outages, besides the section 5
report. Columns and their order are SPEC section 8's."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from storemon.engine import (
    TICKS_PER_MICROSECOND,
    TICKS_PER_SECOND,
    Daily,
    GroupReport,
    Outages,
    Report,
    outage_columns,
    rounded_columns,
)
from storemon.engine.report import round_hundredths
from storemon.reports.frame import decimal_column, report_frame, report_parameters, uptime_frame

if TYPE_CHECKING:
    from storemon.reports.service import OutagesRequest, ReportRequest

_HOUR_TICKS = 3_600 * TICKS_PER_SECOND


def report_frame_of(result: Report | Daily | GroupReport, request: ReportRequest) -> pa.Table:
    """The frame of a report of any kind."""
    if isinstance(result, Daily):
        return daily_frame(result, request)
    if isinstance(result, GroupReport):
        return group_frame(result, request)
    return uptime_frame(result, request)


def _decimals(values: npt.NDArray[np.float64]) -> pa.Array:
    # The engine's rounded values are hundredths / 100 as the nearest double:
    # scaling back and rounding recovers the integer exactly.
    return decimal_column(np.rint(np.asarray(values) * 100).astype(np.int64))


def daily_frame(daily: Daily, request: ReportRequest) -> pa.Table:
    """``store_id, date, business_hours, uptime, downtime`` (and ``nodata``
    with a max gap), in hours."""
    totals = daily.totals
    values = {
        "business_hours": totals.business,
        "uptime": totals.uptime,
        "downtime": totals.downtime,
    }
    if daily.max_gap_us is not None:
        values["nodata"] = totals.nodata
    columns: dict[str, pa.Array] = {
        "store_id": pa.array(daily.store_id, pa.string()),
        "date": pa.array(daily.date.astype(np.int32), pa.date32()),
    }
    for name, ticks in values.items():
        columns[name] = _decimals(round_hundredths(ticks, _HOUR_TICKS))
    return report_frame("daily", columns, daily.now_us, report_parameters(request))


def group_frame(groups: GroupReport, request: ReportRequest) -> pa.Table:
    """``group, stores``, then section 5's values (and the nodata values with
    a max gap), each from the members' summed exact totals."""
    columns: dict[str, pa.Array] = {
        "group": pa.array(groups.group, pa.string()),
        "stores": pa.array(groups.stores, pa.int64()),
    }
    for name, values in rounded_columns(groups).items():
        columns[name] = _decimals(values)
    return report_frame("groups", columns, groups.now_us, report_parameters(request))


def outages_frame(outages: Outages, request: OutagesRequest) -> pa.Table:
    """``store_id, start_utc, end_utc, minutes``; instants truncated to the
    microsecond."""

    def instants(ticks: npt.NDArray[np.int64]) -> pa.Array:
        # Floor division: truncation of the written timestamp, before 1970 too.
        return pa.array(ticks // TICKS_PER_MICROSECOND, pa.timestamp("us", "UTC"))

    columns: dict[str, pa.Array] = {
        "store_id": pa.array(outages.store_id, pa.string()),
        "start_utc": instants(outages.start_tick),
        "end_utc": instants(outages.end_tick),
        "minutes": _decimals(outage_columns(outages)["minutes"]),  # type: ignore[arg-type]
    }
    parameters = {
        "from_us": outages.from_us,
        "to_us": outages.to_us,
        "as_of_us": request.as_of_us,
        "interpolation": request.interpolation,
        "max_gap_us": request.max_gap_us,
        "store_ids": list(request.store_ids) if request.store_ids is not None else None,
    }
    return report_frame("outages", columns, outages.now_us, parameters)

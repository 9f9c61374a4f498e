"""The pure report engine: business hours (weekly and special), status
estimation (with an optional max gap), and the report kinds: window totals
per store, per group, per local date, and outages.

No I/O, no clock, no settings: everything arrives as arrays and ``now`` is an
argument. Work is vectorized across all stores; any subset of stores can be
computed on its own (see ``shards``), which is how the work splits across
workers.
"""

from storemon.engine.daily import compute_daily, daily_columns
from storemon.engine.groups import group_report
from storemon.engine.model import (
    CLOSED,
    DEFAULT_TIMEZONE,
    INTERPOLATIONS,
    TICKS_PER_MICROSECOND,
    TICKS_PER_SECOND,
    Daily,
    GroupReport,
    Hours,
    Interpolation,
    Memberships,
    Outages,
    Polls,
    Report,
    Snapshot,
    SpecialHours,
    Stores,
    WindowTotals,
)
from storemon.engine.outages import compute_outages, outage_columns
from storemon.engine.report import COLUMNS, NODATA_COLUMNS, compute_report, rounded_columns
from storemon.engine.timeline import Timeline, store_timeline

__all__ = [
    "CLOSED",
    "COLUMNS",
    "DEFAULT_TIMEZONE",
    "INTERPOLATIONS",
    "NODATA_COLUMNS",
    "TICKS_PER_MICROSECOND",
    "TICKS_PER_SECOND",
    "Daily",
    "GroupReport",
    "Hours",
    "Interpolation",
    "Memberships",
    "Outages",
    "Polls",
    "Report",
    "Snapshot",
    "SpecialHours",
    "Stores",
    "Timeline",
    "WindowTotals",
    "compute_daily",
    "compute_outages",
    "compute_report",
    "daily_columns",
    "group_report",
    "outage_columns",
    "rounded_columns",
    "store_timeline",
]

"""The pure report engine: business hours, status estimation and window totals.

No I/O, no clock, no settings: everything arrives as arrays and ``now`` is an
argument. Work is vectorized across all stores; any subset of stores can be
computed on its own (see ``shards``), which is how the work splits across
workers.
"""

from storemon.engine.model import (
    DEFAULT_TIMEZONE,
    INTERPOLATIONS,
    TICKS_PER_SECOND,
    Hours,
    Interpolation,
    Polls,
    Report,
    Snapshot,
    Stores,
    WindowTotals,
)
from storemon.engine.report import COLUMNS, compute_report, rounded_columns
from storemon.engine.timeline import Timeline, store_timeline

__all__ = [
    "COLUMNS",
    "DEFAULT_TIMEZONE",
    "INTERPOLATIONS",
    "TICKS_PER_SECOND",
    "Hours",
    "Interpolation",
    "Polls",
    "Report",
    "Snapshot",
    "Stores",
    "Timeline",
    "WindowTotals",
    "compute_report",
    "rounded_columns",
    "store_timeline",
]

"""A small section 5 report whose store ids exercise every CSV rule: commas,
quotes, line breaks, formula starts, apostrophes, spaces and non-ASCII."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from storemon.engine import Hours, Polls, Report, Snapshot, Stores, compute_report

TRICKY_IDS = (
    "8419537941919820732",
    "3f1c1c8e-5d0e-4a57-9b7b-1c2a3f4e5d6a",
    "with,comma",
    'with"quote',
    "line\nbreak",
    "carriage\rreturn",
    "=HYPERLINK(1)",
    "+1",
    "-1",
    "@SUM(A1)",
    "\ttab",
    "'apostrophe",
    " spaced ",
    "ünïcødé ✓",
)
NOW = datetime(2023, 1, 25, 18, 13, 22, 479220, tzinfo=UTC)
NOW_US = int(NOW.timestamp()) * 1_000_000 + NOW.microsecond


def tricky_report() -> Report:
    """Each store polls every 47 minutes for 8 days; store ``i`` is inactive
    on every ``(i + 2)``-th poll, so every store has its own values."""
    n = len(TRICKY_IDS)
    step_us = 47 * 60 * 1_000_000
    times = np.arange(NOW_US - 8 * 86_400_000_000, NOW_US, step_us)
    store = np.repeat(np.arange(n), len(times))
    ts = np.tile(times, n) + store * 1_000_003  # a little offset per store
    index = np.tile(np.arange(len(times)), n)
    active = index % (store + 2) != 0
    zones = ["America/New_York", "Europe/Berlin", "Asia/Kolkata", None] * n
    snapshot = Snapshot(
        Stores.build(np.arange(n), list(TRICKY_IDS), zones[:n]),
        Polls.build(store, ts, active),
        # Store 0 opens 09:00-17:30 on weekdays; the others are open 24x7.
        Hours.build([0] * 5, range(5), [9 * 3600] * 5, [17 * 3600 + 1800] * 5),
    )
    return compute_report(snapshot, NOW_US)

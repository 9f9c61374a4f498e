"""Pruning polls past the retention: what goes, what stays, and that a
report within the retention is unchanged while one reaching before it is
refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storemon.data.retention import prune_polls
from storemon.data.schema import polls, stores
from storemon.data.snapshot import PrunedHistoryError, reader_for
from storemon.engine import Report
from storemon.engine.report import DAY_US, HOUR_US
from storemon.ingest.service import load_chunks
from storemon.reports.frame import uptime_frame
from storemon.reports.rendering import render_csv
from storemon.reports.service import ReportRequest, build_report

from .builders import status_chunk, us

NEWEST = us("2023-04-30 12:00")



def csv_of(report: Report) -> bytes:
    """The report as the CSV a user downloads."""
    return render_csv(uptime_frame(report, ReportRequest()))

def _load(engine: Engine) -> None:
    """Store a: a poll every 6 hours for 30 days; b: one old poll and one
    recent; c: recent polls only."""
    rows = [("a", NEWEST - k * 6 * HOUR_US, k % 3 != 0) for k in range(120)]
    rows += [("b", NEWEST - 20 * DAY_US, True), ("b", NEWEST - 2 * DAY_US, False)]
    rows += [("c", NEWEST - k * HOUR_US, True) for k in range(5)]
    load_chunks(engine, "status", [status_chunk(rows)])


def _stored(engine: Engine) -> dict[str, list[int]]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(stores.c.store_id, polls.c.ts_us)
            .join(polls, polls.c.store_key == stores.c.store_key)
            .order_by(stores.c.store_id, polls.c.ts_us)
        ).all()
    found: dict[str, list[int]] = {}
    for store_id, ts in rows:
        found.setdefault(store_id, []).append(ts)
    return found


def test_pruning_keeps_the_retention_and_each_stores_last_poll_before_it(
    engine: Engine,
) -> None:
    _load(engine)
    before = _stored(engine)

    with engine.begin() as connection:
        deleted, horizon = prune_polls(connection, keep_days=10)

    horizon_expected = NEWEST - 10 * DAY_US
    assert horizon == horizon_expected
    after = _stored(engine)
    last_a_before = max(t for t in before["a"] if t < horizon_expected)
    assert after["a"] == [last_a_before] + [t for t in before["a"] if t >= horizon_expected]
    assert after["b"] == before["b"]  # its old poll is the last one before the horizon
    assert after["c"] == before["c"]
    assert deleted == len(before["a"]) - len(after["a"])
    with engine.connect() as connection:
        query = sa.select(stores.c.store_id, stores.c.first_poll_us)
        firsts = dict(connection.execute(query).all())
    assert firsts == {"a": last_a_before, "b": before["b"][0], "c": before["c"][0]}


def test_a_report_within_the_retention_is_unchanged_and_one_before_it_is_refused(
    engine: Engine, database_url: str
) -> None:
    _load(engine)
    reader = reader_for(database_url)
    inside = [None, NEWEST - 2 * DAY_US, NEWEST - 3 * DAY_US + 7]
    reports_before = [csv_of(build_report(reader, ReportRequest(t)).report) for t in inside]
    version_before = reader.read_snapshot()[1].version

    with engine.begin() as connection:
        prune_polls(connection, keep_days=10)

    after = [csv_of(build_report(reader, ReportRequest(t)).report) for t in inside]
    assert after == reports_before
    assert reader.read_snapshot()[1].version > version_before
    with pytest.raises(PrunedHistoryError, match="have been deleted"):
        build_report(reader, ReportRequest(NEWEST - 4 * DAY_US))


def test_a_second_prune_to_the_same_horizon_changes_nothing(engine: Engine) -> None:
    _load(engine)
    with engine.begin() as connection:
        prune_polls(connection, keep_days=10)
    stored = _stored(engine)

    with engine.begin() as connection:
        deleted, horizon = prune_polls(connection, keep_days=20)

    assert (deleted, horizon) == (0, NEWEST - 10 * DAY_US)
    assert _stored(engine) == stored

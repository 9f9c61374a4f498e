"""A report reads only the week it covers (plus each store's poll before it)
and still equals the report computed on every stored poll."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storemon.data.dataset import refresh_store_bounds
from storemon.data.schema import polls, stores
from storemon.data.snapshot import Span, reader_for
from storemon.engine import Report, compute_daily, compute_outages, compute_report
from storemon.engine.model import END_OF_DAY
from storemon.engine.report import HOUR_US, WEEK_US
from storemon.ingest.service import load_chunks
from storemon.reports.frame import uptime_frame
from storemon.reports.frames import report_frame_of
from storemon.reports.rendering import render_csv
from storemon.reports.service import (
    OutagesRequest,
    ReportRequest,
    build_outages,
    build_report,
)

from .builders import hours_chunk, status_chunk, timezones_chunk, us

START = us("2023-01-01 00:00")


def csv_of(report: Report) -> bytes:
    """The report as the CSV a user downloads."""
    return render_csv(uptime_frame(report, ReportRequest()))


def _load_random_history(engine: Engine, seed: int, lone_early_polls: bool = True) -> list[str]:
    """Stores with polls over five weeks at random gaps, some stores starting
    late, stopping early, or (``lone_early_polls``) with one lone poll long
    before the rest."""
    rng = np.random.default_rng(seed)
    ids = [f"s{i}" for i in range(12)]
    rows: list[tuple[str, int, bool]] = []
    for i, store in enumerate(ids):
        first = START + int(rng.integers(0, 4 * WEEK_US)) if i % 3 == 0 else START
        last = START + 5 * WEEK_US - (int(rng.integers(0, 3 * WEEK_US)) if i % 4 == 1 else 0)
        ts = first
        while ts < last:
            rows.append((store, ts, bool(rng.random() < 0.8)))
            ts += int(rng.integers(HOUR_US // 4, 30 * HOUR_US))
        if lone_early_polls and i % 5 == 2:
            rows.append((store, START - 9 * WEEK_US, True))
    load_chunks(engine, "timezones", [timezones_chunk([("s1", "Asia/Tokyo"), ("s2", "UTC")])])
    load_chunks(engine, "hours", [hours_chunk([("s1", 0, 3600, END_OF_DAY), ("s4", 5, 0, 7200)])])
    load_chunks(engine, "status", [status_chunk(rows)])
    return ids


def _as_of_moments() -> list[int | None]:
    return [
        None,
        START - 10 * WEEK_US,  # before every poll
        START + 30 * 60 * 1_000_000,
        START + WEEK_US + 7 * HOUR_US + 13,
        START + 3 * WEEK_US + 1,
        START + 6 * WEEK_US,  # after every poll
    ]


# Without the lone early polls, reports near the start of the history take
# PostgreSQL's short-history read (every poll up to now), later ones the span read.
@pytest.mark.parametrize(("seed", "lone_early_polls"), [(1, True), (2, False)])
def test_the_windowed_report_equals_the_report_on_every_poll(
    engine: Engine, database_url: str, seed: int, lone_early_polls: bool
) -> None:
    ids = _load_random_history(engine, seed, lone_early_polls)
    reader = reader_for(database_url)
    everything, state = reader.read_snapshot()
    # SQLite: the server's sqlite3 read and the commands' ADBC read alike.
    readers = [reader]
    if database_url.startswith("sqlite"):
        readers.append(reader_for(database_url, sqlite_adbc=True))

    for reader, as_of in itertools.product(readers, _as_of_moments()):
        for interpolation in ("nearest", "previous"):
            for chosen in (None, ["s0", "s2", "s7", "nobody"], ids[:1]):
                request = ReportRequest(as_of, interpolation, chosen)
                built = build_report(reader, request)
                now = as_of if as_of is not None else state.newest_poll_us
                assert now is not None
                full = compute_report(everything, now, interpolation, chosen)
                assert csv_of(built.report) == csv_of(full)


def test_daily_reports_and_outages_read_their_range_and_equal_those_on_every_poll(
    engine: Engine, database_url: str
) -> None:
    _load_random_history(engine, seed=4)
    reader = reader_for(database_url)
    everything, state = reader.read_snapshot()
    first_day = START // (24 * HOUR_US)
    ranges = [(first_day + 8, first_day + 9), (first_day + 20, first_day + 40)]

    for as_of in _as_of_moments():
        now = as_of if as_of is not None else state.newest_poll_us
        assert now is not None
        for interpolation in ("nearest", "previous"):
            for first, last in ranges:
                request = ReportRequest(
                    as_of, interpolation, kind="daily", first_date=first, last_date=last
                )
                built = build_report(reader, request)
                full = compute_daily(everything, now, first, last, interpolation)
                assert render_csv(report_frame_of(built.report, request)) == render_csv(
                    report_frame_of(full, request)
                )
            for start in (None, START + 2 * WEEK_US + 5):
                asked = OutagesRequest(from_us=start, as_of_us=as_of, interpolation=interpolation)
                outages = build_outages(reader, asked).outages
                expected = compute_outages(everything, now, start, None, interpolation)
                for name in ("store_id", "start_tick", "end_tick"):
                    assert getattr(outages, name).tolist() == getattr(expected, name).tolist()


def test_the_windowed_read_is_enough_under_a_max_gap_too(engine: Engine, database_url: str) -> None:
    _load_random_history(engine, seed=3)
    reader = reader_for(database_url)
    everything, state = reader.read_snapshot()

    for as_of in _as_of_moments():
        now = as_of if as_of is not None else state.newest_poll_us
        assert now is not None
        week, _ = reader.read_snapshot(span=Span(now - WEEK_US, now))
        for interpolation in ("nearest", "previous"):
            windowed = compute_report(week, now, interpolation, max_gap_us=5 * HOUR_US)
            full = compute_report(everything, now, interpolation, max_gap_us=5 * HOUR_US)
            assert csv_of(windowed) == csv_of(full)


def test_a_span_read_holds_the_polls_in_it_and_each_stores_last_before_it(
    engine: Engine, database_url: str
) -> None:
    load_chunks(
        engine,
        "status",
        [
            status_chunk(
                [
                    ("a", us("2023-01-01 00:00"), True),
                    ("a", us("2023-01-02 00:00"), False),
                    ("a", us("2023-01-05 00:00"), True),
                    ("a", us("2023-01-09 00:00"), True),
                    ("b", us("2023-01-06 00:00"), True),
                    ("c", us("2023-01-20 00:00"), True),
                ]
            )
        ],
    )
    span = Span(us("2023-01-04 00:00"), us("2023-01-08 00:00"))

    snapshot, _ = reader_for(database_url).read_snapshot(span=span)

    by_key = dict(zip(snapshot.stores.key.tolist(), snapshot.stores.store_id.tolist(), strict=True))
    polls_read = zip(snapshot.polls.store_key.tolist(), snapshot.polls.ts_us.tolist(), strict=True)
    read = sorted((by_key[key], ts) for key, ts in polls_read)
    assert read == [
        ("a", us("2023-01-02 00:00")),
        ("a", us("2023-01-05 00:00")),
        ("b", us("2023-01-06 00:00")),
    ]


def test_a_short_history_is_read_whole_where_the_backend_scans_and_a_long_one_by_span(
    engine: Engine, database_url: str
) -> None:
    day = 24 * HOUR_US
    week = [("a", START + n * day, True) for n in range(8)]
    load_chunks(engine, "status", [status_chunk([*week, ("a", START + day // 2, False)])])
    reader = reader_for(database_url)
    # Polls before the span cover a day and a half, less than half its week.
    short, _ = reader.read_snapshot(span=Span(START + day + day // 2, START + WEEK_US + day))
    # Scanned: every poll; by span: from the poll before it (day 1) on.
    assert len(short.polls.ts_us) == (9 if reader.scans_short_history else 7)

    # Six days before the span: its polls and the one before it only.
    long, _ = reader.read_snapshot(span=Span(START + 6 * day, START + WEEK_US + 6 * day))
    assert long.polls.ts_us.tolist() == [START + n * day for n in (5, 6, 7)]


def _first_polls(engine: Engine) -> dict[str, int | None]:
    with engine.connect() as connection:
        rows = connection.execute(sa.select(stores.c.store_id, stores.c.first_poll_us)).all()
    return {store_id: first for store_id, first in rows}


def test_ingest_keeps_each_stores_first_poll_and_a_delete_can_refresh_it(
    engine: Engine,
) -> None:
    t1, t2, t3 = us("2023-01-03 00:00"), us("2023-01-04 00:00"), us("2023-01-05 00:00")
    load_chunks(engine, "status", [status_chunk([("a", t2, True), ("b", t3, True)])])
    load_chunks(engine, "timezones", [timezones_chunk([("z", "UTC")])])
    load_chunks(engine, "status", [status_chunk([("a", t1, False), ("a", t3, True)])])

    assert _first_polls(engine) == {"a": t1, "b": t3, "z": None}

    with engine.begin() as connection:
        connection.execute(sa.delete(polls).where(polls.c.ts_us < t3))
        keys = connection.execute(sa.select(stores.c.store_key)).scalars().all()
        refresh_store_bounds(connection, keys)

    assert _first_polls(engine) == {"a": t3, "b": t3, "z": None}


def test_deleting_a_stores_oldest_polls_moves_its_first_poll(engine: Engine) -> None:
    from storemon.data.dataset import delete_polls

    t1, t2 = us("2023-01-03 00:00"), us("2023-01-04 00:00")
    load_chunks(engine, "status", [status_chunk([("a", t1, True), ("a", t2, False)])])
    with engine.begin() as connection:
        key = connection.execute(sa.select(stores.c.store_key)).scalar_one()
        delete_polls(connection, key, to_us=t1)

    assert _first_polls(engine) == {"a": t2}

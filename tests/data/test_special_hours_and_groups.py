"""SPEC 8.2 and 8.4: the special hours and groups feeds, from file to
database and back as arrays, on every database."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storemon.data import columnar
from storemon.data.groups import group_counts, read_memberships
from storemon.data.ingest_log import COMPLETE, FAILED, get_ingest
from storemon.data.rejects import read_rejects
from storemon.data.schema import stores
from storemon.data.special_hours import SpecialHoursRows, read_special_hours
from storemon.ingest.feeds import Feed
from storemon.ingest.service import IngestResult, ingest_feed

from .readback import state

SPECIAL_HEADER = "store_id,date,start_time_local,end_time_local\n"
GROUPS_HEADER = "store_id,group\n"
EPOCH = date(1970, 1, 1)
ONE_TIME_EMPTY = (
    "one of start_time_local and end_time_local is empty (leave both empty for a closed date)"
)


def _load(engine: Engine, feed: Feed, text: str, *, strict: bool = False) -> IngestResult:
    return ingest_feed(engine, feed, io.BytesIO(text.encode()), strict=strict)


def _days(text: str) -> int:
    return (date.fromisoformat(text) - EPOCH).days


def _special(engine: Engine) -> dict[str, list[tuple[str, int, int] | tuple[str, None, None]]]:
    """Special rows by store id: (date, start_s, end_s), None times when closed."""
    with engine.connect() as conn:
        rows = read_special_hours(conn)
        ids = dict(conn.execute(sa.select(stores.c.store_key, stores.c.store_id)).all())
    found: dict[str, list[tuple[str, int, int] | tuple[str, None, None]]] = {}
    for key, day, start, end, closed in zip(
        rows.store_key.tolist(),
        rows.date_days.tolist(),
        rows.start_s.tolist(),
        rows.end_s.tolist(),
        rows.closed.tolist(),
        strict=True,
    ):
        when = date.fromordinal(EPOCH.toordinal() + day).isoformat()
        found.setdefault(ids[key], []).append((when, None, None) if closed else (when, start, end))
    return found


def _memberships(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        table = read_memberships(conn)
    return list(zip(table["store_id"].to_pylist(), table["group"].to_pylist(), strict=True))


# Special hours


def test_each_invalid_special_row_is_rejected_with_its_line_and_reason(engine: Engine) -> None:
    text = SPECIAL_HEADER + (
        "a,2023-12-25,10:00,14:00\n"  # 2: valid
        ",2023-12-25,10:00,14:00\n"  # 3
        "a,25.12.2023,10:00,14:00\n"  # 4
        "a,2023-02-30,10:00,14:00\n"  # 5
        "a,2023-12-25,,14:00\n"  # 6
        "a,2023-12-25,10:00,\n"  # 7
        "a,2023-12-25,noon,14:00\n"  # 8
        "a,2023-12-25,10:00,25:00\n"  # 9
        "a,2023-12-25,24:00,24:00\n"  # 10
        "a,2023-12-26,,\n"  # 11: valid, closed
        "a,1899-12-31,10:00,14:00\n"  # 12
    )

    result = _load(engine, Feed.SPECIAL_HOURS, text)

    assert (result.loaded, result.rejected) == (2, 9)
    assert result.first_rejects == [
        (3, "empty store_id"),
        (4, "date '25.12.2023' is not a date YYYY-MM-DD"),
        (5, "date '2023-02-30' is not a date YYYY-MM-DD"),
        (6, ONE_TIME_EMPTY),
        (7, ONE_TIME_EMPTY),
        (8, "start_time_local 'noon' is not a time HH:MM or HH:MM:SS"),
        (9, "end_time_local '25:00' is out of range"),
        (10, "start_time_local '24:00' is out of range (24:00 is only valid as an end time)"),
        (12, "date '1899-12-31' is out of range (1900-01-01 to 2199-12-31)"),
    ]
    assert read_rejects(engine, result.ingest_id)[3].raw == "a,2023-12-25,,14:00"
    assert _special(engine) == {
        "a": [("2023-12-25", 36000, 50400), ("2023-12-26", None, None)],
    }


def test_special_rows_are_read_back_as_arrays_with_a_closed_flag(engine: Engine) -> None:
    _load(
        engine,
        Feed.SPECIAL_HOURS,
        SPECIAL_HEADER
        + "b,2023-12-24,,\n"
        + "a,2024-01-01,,\n"
        + "a,2023-12-31,22:00,02:00\n"
        + "a,2023-12-24,09:00:30,24:00\n"
        + "a,2023-12-24,09:00:30,24:00:00\n",
    )

    with engine.connect() as conn:
        everything = read_special_hours(conn)
        key_a = conn.execute(sa.select(stores.c.store_key).where(stores.c.store_id == "a")).scalar()
        rows = read_special_hours(conn, store_keys=[key_a])

    assert isinstance(rows, SpecialHoursRows) and (len(everything), len(rows)) == (5, 4)
    assert rows.store_key.dtype.name == "int64" and rows.closed.dtype.name == "bool"
    assert rows.date_days.dtype.name == rows.start_s.dtype.name == rows.end_s.dtype.name == "int32"
    assert rows.store_key.tolist() == [key_a] * 4
    # Sorted by date; duplicate rows are kept (the union counts them once);
    # 24:00 is 86400; a closed row has zero times.
    times = zip(rows.date_days.tolist(), rows.start_s.tolist(), rows.end_s.tolist(), strict=True)
    assert list(times) == [
        (_days("2023-12-24"), 32430, 86400),
        (_days("2023-12-24"), 32430, 86400),
        (_days("2023-12-31"), 79200, 7200),
        (_days("2024-01-01"), 0, 0),
    ]
    assert rows.closed.tolist() == [False, False, False, True]


def test_special_hours_replace_every_row_of_the_stores_a_feed_names_only(engine: Engine) -> None:
    _load(
        engine,
        Feed.SPECIAL_HOURS,
        SPECIAL_HEADER + "a,2023-12-24,,\na,2023-12-25,10:00,12:00\nb,2023-12-25,,\n",
    )

    _load(engine, Feed.SPECIAL_HOURS, SPECIAL_HEADER + "a,2024-01-01,08:00,09:00\n")

    assert _special(engine) == {
        "a": [("2024-01-01", 28800, 32400)],
        "b": [("2023-12-25", None, None)],
    }


def test_a_store_whose_special_rows_are_all_rejected_keeps_its_rows(engine: Engine) -> None:
    _load(engine, Feed.SPECIAL_HOURS, SPECIAL_HEADER + "a,2023-12-25,,\n")

    result = _load(engine, Feed.SPECIAL_HOURS, SPECIAL_HEADER + "a,2023-12-26,10:00,\n")

    assert (result.loaded, result.rejected) == (0, 1)
    assert _special(engine) == {"a": [("2023-12-25", None, None)]}


def test_reloading_the_same_special_hours_changes_nothing(
    engine: Engine, database_url: str
) -> None:
    text = SPECIAL_HEADER + "a,2023-12-25,,\na,2023-12-24,10:00,12:00\nb,2023-12-25,01:00,01:00\n"
    start = state(database_url).version
    _load(engine, Feed.SPECIAL_HOURS, text)
    loaded = state(database_url)
    assert loaded.version == start + 1

    reordered = (
        SPECIAL_HEADER + "b,2023-12-25,01:00,01:00\na,2023-12-24,10:00,12:00\na,2023-12-25,,\n"
    )
    again = _load(engine, Feed.SPECIAL_HOURS, reordered)

    assert again.loaded == 3
    assert state(database_url) == loaded
    assert _special(engine)["a"] == [("2023-12-24", 36000, 43200), ("2023-12-25", None, None)]


@pytest.mark.parametrize(
    ("feed", "text"),
    [
        (Feed.SPECIAL_HOURS, SPECIAL_HEADER + "a,2023-12-25,,\nb,2023-12-25,10:00,\n"),
        (Feed.GROUPS, GROUPS_HEADER + "a,west\nb,\n"),
    ],
)
def test_a_strict_load_with_a_reject_loads_nothing_of_the_feed_but_keeps_the_rejects(
    engine: Engine, database_url: str, feed: Feed, text: str
) -> None:
    before = state(database_url)

    result = _load(engine, feed, text, strict=True)

    assert not result.committed
    assert (result.loaded, result.rejected) == (0, 1)
    assert state(database_url) == before
    assert _special(engine) == {} and _memberships(engine) == []
    assert [r.line for r in read_rejects(engine, result.ingest_id)] == [3]
    with engine.connect() as conn:
        record = get_ingest(conn, result.ingest_id)
    assert record is not None and (record.status, record.feed) == (FAILED, feed.value)


def test_headers_are_matched_as_for_the_other_feeds(engine: Engine) -> None:
    text = (
        "\ufeff End_Time_Local ,extra, DATE,store_id,start_time_local\r\n"
        "14:00,x,2023-12-25,a,10:00\r\n"
    )

    result = _load(engine, Feed.SPECIAL_HOURS, text)

    assert (result.loaded, result.rejected) == (1, 0)
    assert _special(engine) == {"a": [("2023-12-25", 36000, 50400)]}


# Groups


def test_a_groups_row_with_an_empty_store_id_or_group_is_rejected(engine: Engine) -> None:
    text = GROUPS_HEADER + "a,west\n,west\nb,\nb,  \nc," + "g" * 256 + "\n"

    result = _load(engine, Feed.GROUPS, text)

    assert (result.loaded, result.rejected) == (1, 4)
    assert result.first_rejects == [
        (3, "empty store_id"),
        (4, "empty group"),
        (5, "empty group"),
        (6, "group is longer than 255 characters"),
    ]
    assert _memberships(engine) == [("a", "west")]


def test_groups_replace_the_memberships_of_the_stores_a_feed_names_only(engine: Engine) -> None:
    _load(engine, Feed.GROUPS, GROUPS_HEADER + "a,west\na,brand-x\nb,west\n")

    result = _load(engine, Feed.GROUPS, GROUPS_HEADER + "a,east\na,east\n")

    assert result.loaded == 2
    assert _memberships(engine) == [("a", "east"), ("b", "west")]


def test_group_names_are_opaque_and_case_sensitive(engine: Engine) -> None:
    _load(engine, Feed.GROUPS, GROUPS_HEADER + 'a,West\na,west\na,"west, coast"\nb,Ünï\n')

    assert _memberships(engine) == [
        ("a", "West"),
        ("a", "west"),
        ("a", "west, coast"),
        ("b", "Ünï"),
    ]


def test_reloading_the_same_groups_changes_nothing(engine: Engine, database_url: str) -> None:
    text = GROUPS_HEADER + "a,west\nb,west\na,brand-x\n"
    _load(engine, Feed.GROUPS, text)
    loaded = state(database_url)

    again = _load(engine, Feed.GROUPS, GROUPS_HEADER + "a,brand-x\nb,west\na,west\n")

    assert state(database_url) == loaded
    with engine.connect() as conn:
        record = get_ingest(conn, again.ingest_id)
    assert record is not None and (record.status, record.rows_loaded) == (COMPLETE, 3)


def test_groups_are_listed_in_code_point_order_with_their_member_counts(engine: Engine) -> None:
    _load(engine, Feed.GROUPS, GROUPS_HEADER + "a,b\nb,b\nc,B\na,é\nb,a\nc,a\nd,a\n")

    with engine.connect() as conn:
        first, total = group_counts(conn, limit=2)
        rest, _ = group_counts(conn, limit=10, offset=2)

    assert total == 4
    assert [(g.group, g.members) for g in first + rest] == [("B", 1), ("a", 3), ("b", 2), ("é", 1)]


def test_special_rows_read_the_same_when_the_server_cuts_the_aggregated_text(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MySQL caps group_concat at a length; a cut text falls back to plain rows.
    text = SPECIAL_HEADER + "".join(
        f"s{i},2023-12-{i % 28 + 1:02d},10:00,12:00\n" for i in range(50)
    )
    _load(engine, Feed.SPECIAL_HOURS, text)
    with engine.connect() as conn:
        whole = read_special_hours(conn)
    monkeypatch.setattr(columnar, "_TEXT_LIMIT", 64)

    with engine.connect() as conn:
        again = read_special_hours(conn)
        if engine.dialect.name in ("mysql", "mariadb"):
            columns = {"store_key": "store_key", "date_days": "date_days"}
            assert columnar._mysql_integers(conn, "special_hours", columns) is None

    assert len(again) == 50
    for name in ("store_key", "date_days", "start_s", "end_s", "closed"):
        assert getattr(again, name).tolist() == getattr(whole, name).tolist()

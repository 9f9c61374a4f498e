"""SPEC section 1, "Repeats and updates" and "Rejected rows", on every database."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storemon.data.ingest_log import COMPLETE, FAILED, get_ingest
from storemon.data.rejects import Reject, read_rejects
from storemon.data.schema import ingests
from storemon.ingest.parse import ParsedChunk
from storemon.ingest.service import FIRST_REJECTS, ingest_feed, load_chunks

from .builders import hours_chunk, status_chunk, timezones_chunk, us
from .readback import hours_by_id, polls_by_id, state, timezones_by_id

T1, T2, T3 = us("2023-01-24 10:00:00"), us("2023-01-24 11:00:00"), us("2023-01-24 12:00:00")


# Polls


def test_a_later_poll_replaces_an_earlier_one_with_the_same_key_in_one_chunk(
    engine: Engine, database_url: str
) -> None:
    rows = [("a", T1, True), ("b", T1, True), ("a", T1, False)]
    load_chunks(engine, "status", [status_chunk(rows)])

    assert polls_by_id(database_url) == {("a", T1): False, ("b", T1): True}


def test_a_later_poll_replaces_an_earlier_one_in_a_later_chunk_of_the_same_file(
    engine: Engine, database_url: str
) -> None:
    chunks = [
        status_chunk([("a", T1, False), ("a", T2, True)], first_line=2),
        status_chunk([("a", T1, True)], first_line=4),
    ]
    result = load_chunks(engine, "status", chunks)

    assert result.loaded == 3
    assert polls_by_id(database_url) == {("a", T1): True, ("a", T2): True}


def test_a_later_file_replaces_polls_with_the_same_key_and_keeps_the_others(
    engine: Engine, database_url: str
) -> None:
    load_chunks(engine, "status", [status_chunk([("a", T1, True), ("a", T2, True)])])
    load_chunks(engine, "status", [status_chunk([("a", T2, False), ("a", T3, True)])])

    assert polls_by_id(database_url) == {("a", T1): True, ("a", T2): False, ("a", T3): True}


def test_reloading_the_same_polls_changes_nothing(engine: Engine, database_url: str) -> None:
    def feed() -> list[ParsedChunk]:
        return [
            status_chunk([("a", T1, True), ("b", T2, False), ("a", T1, False)], first_line=2),
            status_chunk([("a", T2, False), ("c", T3, True)], first_line=5),
        ]

    load_chunks(engine, "status", feed())
    before, polls = state(database_url), polls_by_id(database_url)

    again = load_chunks(engine, "status", feed())

    assert again.loaded == 5
    assert state(database_url) == before
    assert polls_by_id(database_url) == polls


def test_reloading_a_file_that_repeats_a_key_across_chunks_ends_in_the_same_state(
    engine: Engine, database_url: str
) -> None:
    # Chunks commit one by one, so the reload replays the repeat in file order
    # (the version moves), but the end state is the same.
    def feed() -> list[ParsedChunk]:
        return [
            status_chunk([("a", T1, True)], first_line=2),
            status_chunk([("a", T1, False)], first_line=3),
        ]

    load_chunks(engine, "status", feed())
    newest, polls = state(database_url).newest_poll_us, polls_by_id(database_url)

    load_chunks(engine, "status", feed())

    assert polls_by_id(database_url) == polls == {("a", T1): False}
    assert state(database_url).newest_poll_us == newest


def test_newest_poll_is_kept_and_never_lowered_by_an_older_file(
    engine: Engine, database_url: str
) -> None:
    assert state(database_url).newest_poll_us is None

    load_chunks(engine, "status", [status_chunk([("a", T2, True), ("b", T1, True)])])
    assert state(database_url).newest_poll_us == T2

    load_chunks(engine, "status", [status_chunk([("c", T1, True)])])
    assert state(database_url).newest_poll_us == T2

    load_chunks(engine, "status", [status_chunk([("a", T3, True)])])
    assert state(database_url).newest_poll_us == T3


def test_every_committed_chunk_that_changes_polls_bumps_the_version(
    engine: Engine, database_url: str
) -> None:
    start = state(database_url).version
    load_chunks(
        engine,
        "status",
        [status_chunk([("a", T1, True)], 2), status_chunk([("a", T2, True)], 3)],
    )
    assert state(database_url).version == start + 2

    load_chunks(engine, "status", [status_chunk([("a", T1, False)])])
    assert state(database_url).version == start + 3


def test_store_ids_are_opaque_strings(engine: Engine, database_url: str) -> None:
    ids = ["007", "7", "Store-A", "store-a", "store-a ", "ü-store"]
    load_chunks(engine, "status", [status_chunk([(i, T1, True) for i in ids])])

    assert sorted(store for store, _ in polls_by_id(database_url)) == sorted(ids)


def test_store_ids_no_database_can_hold_are_rejected(engine: Engine, database_url: str) -> None:
    csv = (
        "store_id,status,timestamp_utc\n"
        f"{'x' * 256},active,2023-01-24 10:00:00\n"
        "a,active,2023-01-24 10:00:00\n"
        "nul\x00id,active,2023-01-24 10:00:00\n"
    )
    result = ingest_feed(engine, "status", io.BytesIO(csv.encode()))

    assert (result.loaded, result.rejected) == (1, 2)
    assert result.first_rejects == [
        (2, "store_id is longer than 255 characters"),
        (4, "store_id contains a NUL character"),
    ]
    # PostgreSQL holds no NUL in text: the reject keeps a replacement.
    assert read_rejects(engine, result.ingest_id)[1].raw == "nul\ufffdid,active,2023-01-24 10:00:00"
    assert polls_by_id(database_url) == {("a", T1): True}


# Business hours


def test_hours_replace_the_schedule_of_the_stores_the_feed_mentions_only(
    engine: Engine, database_url: str
) -> None:
    load_chunks(
        engine,
        "hours",
        [hours_chunk([("a", 0, 0, 3600), ("a", 1, 0, 3600), ("b", 0, 0, 86400)])],
    )
    load_chunks(engine, "hours", [hours_chunk([("a", 2, 7200, 86400)])])

    assert hours_by_id(database_url) == {"a": [(2, 7200, 86400)], "b": [(0, 0, 86400)]}


def test_a_store_whose_hours_span_chunks_keeps_every_row_of_this_load(
    engine: Engine, database_url: str
) -> None:
    load_chunks(engine, "hours", [hours_chunk([("a", 6, 0, 60)])])

    load_chunks(
        engine,
        "hours",
        [
            hours_chunk([("b", 0, 0, 60), ("a", 0, 0, 3600)], first_line=2),
            hours_chunk([("a", 1, 0, 3600), ("a", 1, 7200, 9000)], first_line=4),
        ],
    )

    assert hours_by_id(database_url) == {
        "a": [(0, 0, 3600), (1, 0, 3600), (1, 7200, 9000)],
        "b": [(0, 0, 60)],
    }


def test_a_store_whose_hours_rows_are_all_rejected_keeps_its_schedule(
    engine: Engine, database_url: str
) -> None:
    load_chunks(engine, "hours", [hours_chunk([("a", 0, 0, 60), ("b", 0, 0, 60)])])

    load_chunks(
        engine,
        "hours",
        [hours_chunk([("b", 1, 0, 60)], rejects=[(2, "bad dayOfWeek '9'", "a,9,00:00,01:00")])],
    )

    assert hours_by_id(database_url) == {"a": [(0, 0, 60)], "b": [(1, 0, 60)]}


def test_several_rows_for_one_store_and_day_are_all_kept(engine: Engine, database_url: str) -> None:
    rows = [("a", 0, 0, 3600), ("a", 0, 0, 3600), ("a", 0, 7200, 3600)]
    load_chunks(engine, "hours", [hours_chunk(rows)])

    assert hours_by_id(database_url) == {"a": sorted(r[1:] for r in rows)}


def test_reloading_the_same_hours_changes_nothing(engine: Engine, database_url: str) -> None:
    rows = [("a", 0, 0, 3600), ("b", 3, 100, 200), ("a", 5, 0, 86400)]
    load_chunks(engine, "hours", [hours_chunk(rows)])
    before = state(database_url)

    load_chunks(engine, "hours", [hours_chunk(list(reversed(rows)))])

    assert state(database_url) == before
    assert hours_by_id(database_url)["a"] == [(0, 0, 3600), (5, 0, 86400)]


def test_changed_hours_bump_the_version_once_per_load(engine: Engine, database_url: str) -> None:
    start = state(database_url).version
    chunks = [hours_chunk([("a", 0, 0, 1)], 2), hours_chunk([("b", 0, 0, 1)], 3)]
    load_chunks(engine, "hours", chunks)

    assert state(database_url).version == start + 1


# Timezones


def test_timezones_upsert_per_store_and_a_later_row_wins(engine: Engine, database_url: str) -> None:
    load_chunks(engine, "status", [status_chunk([("c", T1, True)])])
    first = timezones_chunk([("a", "Asia/Tokyo"), ("b", "Europe/Paris")])
    load_chunks(engine, "timezones", [first])

    load_chunks(
        engine,
        "timezones",
        [
            timezones_chunk([("a", "America/Denver"), ("d", "UTC")], first_line=2),
            timezones_chunk([("a", "America/New_York")], first_line=4),
        ],
    )

    assert timezones_by_id(database_url) == {
        "a": "America/New_York",
        "b": "Europe/Paris",
        "c": None,
        "d": "UTC",
    }


def test_reloading_the_same_timezones_changes_nothing(engine: Engine, database_url: str) -> None:
    chunk = timezones_chunk([("a", "Asia/Tokyo"), ("b", "Europe/Paris")])
    load_chunks(engine, "timezones", [chunk])
    before = state(database_url)

    load_chunks(engine, "timezones", [chunk])

    assert state(database_url) == before


def test_one_store_key_per_store_id_across_feeds(engine: Engine, database_url: str) -> None:
    load_chunks(engine, "timezones", [timezones_chunk([("a", "Asia/Tokyo")])])
    load_chunks(engine, "hours", [hours_chunk([("a", 0, 0, 60)])])
    load_chunks(engine, "status", [status_chunk([("a", T1, True)])])

    from storemon.data.snapshot import reader_for

    snapshot, _ = reader_for(database_url).read_snapshot()
    assert snapshot.stores.store_id.tolist() == ["a"]
    key = snapshot.stores.key[0]
    assert snapshot.polls.store_key.tolist() == [key]
    assert snapshot.hours.store_key.tolist() == [key]


# Rejects and strict loading


def test_rejected_rows_are_counted_kept_and_readable_in_line_order(
    engine: Engine, database_url: str
) -> None:
    chunks = [
        status_chunk([("a", T1, True)], 2, rejects=[(3, "bad status 'x'", "a,x,2023")]),
        status_chunk(
            [("b", T1, True)],
            4,
            rejects=[(line, "unparsable timestamp", f"b,active,t{line}") for line in range(5, 20)],
        ),
    ]

    result = load_chunks(engine, "status", chunks)

    assert (result.loaded, result.rejected) == (2, 16)
    assert result.first_rejects == [(3, "bad status 'x'")] + [
        (line, "unparsable timestamp") for line in range(5, 5 + FIRST_REJECTS - 1)
    ]
    rejects = read_rejects(engine, result.ingest_id)
    assert rejects[0] == Reject(3, "bad status 'x'", "a,x,2023")
    assert [r.line for r in rejects] == [3, *range(5, 20)]
    with engine.connect() as conn:
        record = get_ingest(conn, result.ingest_id)
    assert record is not None
    assert (record.status, record.rows_loaded, record.rows_rejected) == (COMPLETE, 2, 16)
    assert record.finished_at is not None
    assert polls_by_id(database_url) == {("a", T1): True, ("b", T1): True}


def test_an_empty_raw_text_and_odd_characters_survive_in_rejects(
    engine: Engine, database_url: str
) -> None:
    raw = ["", 'a,"quoted, comma",x', "tab\there", "ünï\u00e7ode", "new\nline"]
    chunk = timezones_chunk([], rejects=[(i + 2, "bad", text) for i, text in enumerate(raw)])

    result = load_chunks(engine, "timezones", [chunk])

    assert [r.raw for r in read_rejects(engine, result.ingest_id)] == raw


@pytest.mark.parametrize("feed", ["status", "hours", "timezones"])
def test_a_strict_load_with_a_reject_loads_nothing_of_the_feed_but_keeps_the_rejects(
    engine: Engine, database_url: str, feed: str
) -> None:
    good = {
        "status": lambda line: status_chunk([("a", T1 + line, True)], line),
        "hours": lambda line: hours_chunk([("a", line % 7, 0, 60)], line),
        "timezones": lambda line: timezones_chunk([(f"s{line}", "UTC")], line),
    }[feed]
    chunks = [
        good(2),
        ParsedChunk(
            good(3).valid.head(0), status_chunk([], rejects=[(3, "bad row", "?")]).rejects, 1
        ),
        good(4),
    ]
    before = state(database_url)

    result = load_chunks(engine, feed, chunks, strict=True)

    assert not result.committed
    assert (result.loaded, result.rejected) == (0, 1)
    assert state(database_url) == before
    assert polls_by_id(database_url) == {}
    assert hours_by_id(database_url) == {}
    assert timezones_by_id(database_url) == {}
    assert read_rejects(engine, result.ingest_id) == [Reject(3, "bad row", "?")]
    with engine.connect() as conn:
        record = get_ingest(conn, result.ingest_id)
    assert record is not None and record.status == FAILED and record.rows_loaded == 0


def test_a_strict_load_without_rejects_loads_everything(engine: Engine, database_url: str) -> None:
    chunks = [
        status_chunk([("a", T1, True), ("b", T1, True)], 2),
        # Repeats a key of the first chunk, written in the same transaction.
        status_chunk([("a", T2, False), ("b", T1, False)], 4),
    ]

    result = load_chunks(engine, "status", chunks, strict=True)

    assert result.committed and result.loaded == 4
    assert polls_by_id(database_url) == {("a", T1): True, ("a", T2): False, ("b", T1): False}
    assert state(database_url).newest_poll_us == T2


def _failing_after(chunks: list[ParsedChunk]) -> Iterator[ParsedChunk]:
    yield from chunks
    raise OSError("disk vanished")


def test_polls_keep_every_committed_chunk_when_a_load_fails_midway(
    engine: Engine, database_url: str
) -> None:
    with pytest.raises(OSError, match="disk vanished"):
        load_chunks(engine, "status", _failing_after([status_chunk([("a", T1, True)])]))

    assert polls_by_id(database_url) == {("a", T1): True}
    with engine.connect() as conn:
        newest = conn.execute(sa.select(sa.func.max(ingests.c.id))).scalar_one()
        record = get_ingest(conn, newest)
    assert record is not None
    assert (record.status, record.error) == (FAILED, "disk vanished")


def test_hours_load_all_or_nothing_when_a_load_fails_midway(
    engine: Engine, database_url: str
) -> None:
    load_chunks(engine, "hours", [hours_chunk([("a", 0, 0, 60)])])
    before = state(database_url)

    with pytest.raises(OSError):
        load_chunks(engine, "hours", _failing_after([hours_chunk([("a", 1, 0, 60)])]))

    assert hours_by_id(database_url) == {"a": [(0, 0, 60)]}
    assert state(database_url) == before


def test_progress_is_reported_in_lines_read(engine: Engine, database_url: str) -> None:
    seen: list[int] = []
    chunks = [
        status_chunk([("a", T1, True)], 2, rejects=[(3, "bad", "")]),
        status_chunk([("a", T2, True)], 4),
    ]

    load_chunks(engine, "status", chunks, on_progress=seen.append)

    assert seen == [2, 3]

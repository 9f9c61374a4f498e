"""Whole files through the parser into the database (``ingest_feed``)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storemon.data.ingest_log import FAILED, get_ingest
from storemon.data.rejects import read_rejects
from storemon.data.schema import ingests
from storemon.ingest.errors import IngestError
from storemon.ingest.feeds import Feed
from storemon.ingest.service import ingest_feed, read_ahead

from .builders import us
from .readback import hours_by_id, polls_by_id, state, timezones_by_id

STATUS = """\ufeffstore_id,status,timestamp_utc
a,active,2023-01-24 10:00:00 UTC
b,INACTIVE,2023-01-24 10:00:00.5
,active,2023-01-24 10:00:00
a,sleeping,2023-01-24 11:00:00
a,inactive,2023-01-24T10:00:00Z
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_status_file_loads_its_valid_rows_and_keeps_its_rejects(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    path = _write(tmp_path, "status.csv", STATUS)
    progress: list[int] = []

    result = ingest_feed(engine, Feed.STATUS, path, on_progress=progress.append)

    assert (result.feed, result.loaded, result.rejected) == (Feed.STATUS, 3, 2)
    assert [line for line, _ in result.first_rejects] == [4, 5]
    assert [r.line for r in read_rejects(engine, result.ingest_id)] == [4, 5]
    t = us("2023-01-24 10:00:00")
    # Line 6 repeats line 2's key in another spelling: the later row wins.
    assert polls_by_id(database_url) == {("a", t): False, ("b", t + 500_000): False}
    assert progress and progress[-1] == 6
    with engine.connect() as conn:
        record = get_ingest(conn, result.ingest_id)
    assert record is not None and record.source == str(path)


def test_loading_the_same_files_again_changes_nothing(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    files = {
        Feed.TIMEZONES: _write(tmp_path, "tz.csv", "store_id,timezone_str\na,Asia/Tokyo\n"),
        Feed.HOURS: _write(
            tmp_path,
            "hours.csv",
            "store_id,dayOfWeek,start_time_local,end_time_local\na,0,09:00,24:00\n",
        ),
        Feed.STATUS: _write(tmp_path, "status.csv", STATUS),
    }
    for feed, path in files.items():
        ingest_feed(engine, feed, path)
    before = state(database_url)
    contents = polls_by_id(database_url), hours_by_id(database_url), timezones_by_id(database_url)

    for feed, path in files.items():
        ingest_feed(engine, feed, path)

    assert state(database_url) == before
    assert (
        polls_by_id(database_url),
        hours_by_id(database_url),
        timezones_by_id(database_url),
    ) == (contents)
    assert contents[1] == {"a": [(0, 9 * 3600, 86400)]}


def test_a_stream_can_be_loaded(engine: Engine, database_url: str) -> None:
    source = io.BytesIO(b"store_id,timezone_str\na,Europe/Paris\n")

    result = ingest_feed(engine, "timezones", source)

    assert result.loaded == 1
    assert timezones_by_id(database_url) == {"a": "Europe/Paris"}


def test_an_unreadable_file_fails_the_ingest_with_its_reason(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    path = _write(tmp_path, "status.csv", "store_id,timestamp_utc\na,2023-01-24 10:00:00\n")

    with pytest.raises(IngestError, match="status"):
        ingest_feed(engine, Feed.STATUS, path)

    with engine.connect() as conn:
        newest = conn.execute(sa.select(sa.func.max(ingests.c.id))).scalar_one()
        record = get_ingest(conn, newest)
    assert record is not None and record.status == FAILED and record.error


def test_reading_ahead_passes_items_and_errors_through_in_order() -> None:
    def items():  # type: ignore[no-untyped-def]
        yield 1
        yield 2
        raise ValueError("broken")

    seen = []
    with pytest.raises(ValueError, match="broken"), read_ahead(items()) as ahead:
        seen.extend(ahead)
    assert seen == [1, 2]


def test_reading_ahead_stops_when_the_reader_stops_early() -> None:
    produced = []

    def items():  # type: ignore[no-untyped-def]
        for i in range(1000):
            produced.append(i)
            yield i

    with read_ahead(items()) as ahead:
        assert next(ahead) == 0
    assert len(produced) < 10

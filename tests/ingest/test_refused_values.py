"""A value the database refuses (PostgreSQL holds no NUL in text) comes out
of the data layer as ``RefusedValue``, whatever the driver raised, and the
ingest is logged as failed."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy.engine import Engine

from storemon.data import dataset, ingest_log
from storemon.ingest.feeds import Feed
from storemon.ingest.parse import ParsedChunk
from storemon.ingest.reader import empty_rejects
from storemon.ingest.service import load_chunks


@pytest.fixture
def postgresql(engine: Engine) -> Engine:
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL refuses NUL in text")
    return engine


def test_a_store_id_the_database_refuses_is_a_refused_value(postgresql: Engine) -> None:
    frame = pl.DataFrame({"store_id": ["fine", "nul\x00id"]})
    with postgresql.begin() as conn, pytest.raises(dataset.RefusedValue, match="refused a value"):
        dataset.StoreKeys.load(conn).attach(conn, frame)


def test_a_refused_value_in_a_load_fails_the_ingest_and_keeps_nothing(postgresql: Engine) -> None:
    # Rows that got past validation some other way, written by COPY.
    valid = pl.DataFrame(
        {"store_id": ["a"], "timezone": ["Bad\x00Zone"], "line": [2]},
        schema={"store_id": pl.String, "timezone": pl.String, "line": pl.Int64},
    )
    chunk = ParsedChunk(valid=valid, rejects=empty_rejects(), lines=2)

    with pytest.raises(dataset.RefusedValue):
        load_chunks(postgresql, Feed.TIMEZONES, [chunk])

    with postgresql.connect() as conn:
        record = ingest_log.get_ingest(conn, 1)
        assert record is not None
        assert record.status == ingest_log.FAILED
        assert record.error is not None and record.error.startswith("the database refused")
        assert dataset.StoreKeys.load(conn).known.is_empty()

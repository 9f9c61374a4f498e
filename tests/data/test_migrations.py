"""The migrations build exactly the schema the code declares, on every database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from storemon.data import reports
from storemon.data.database import make_engine
from storemon.data.migrate import HEAD_REVISION, alembic_config, migrate, upgrade
from storemon.data.schema import metadata
from storemon.data.snapshot import reader_for
from storemon.data.types import Moment
from storemon.reports.frame import decode_frame
from storemon.reports.rendering import render_csv

#: A report CSV as stored before frames, with every kind of store id the CSV escapes or quotes.
GOLDEN_CSV = Path(__file__).parents[1] / "reports" / "golden" / "uptime_report.csv"


def schema_is_current(url: str) -> bool:
    return reader_for(url).revision() == HEAD_REVISION


def test_the_migrated_schema_matches_the_declared_metadata(engine: Engine) -> None:
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)

    assert differences == []


def test_the_head_revision_constant_names_the_newest_migration() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


def test_a_blank_database_is_not_current_until_migrated(blank_database_url: str) -> None:
    assert not schema_is_current(blank_database_url)

    migrate(blank_database_url)

    assert schema_is_current(blank_database_url)


def test_migrating_again_changes_nothing(database_url: str) -> None:
    migrate(database_url)

    assert schema_is_current(database_url)


def test_downgrading_to_nothing_and_upgrading_again_works(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            upgrade(conn, "base", downgrade=True)
            conn.commit()
        assert not schema_is_current(database_url)
        migrate(engine)
        assert schema_is_current(database_url)
    finally:
        engine.dispose()


def test_a_missing_sqlite_file_is_not_current_and_is_not_created(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "absent.db"

    assert not schema_is_current(f"sqlite:///{path}")
    assert not path.exists()


# The two tables as revision 0001 left them.
_OLD_REPORTS = sa.table(
    "reports",
    *(sa.column(name) for name in ("id", "status", "as_of_us", "interpolation", "store_ids")),
    *(sa.column(name) for name in ("params_key", "row_count", "now_us", "data_version")),
    *(sa.column(name) for name in ("attempts", "csv_bytes")),
    sa.column("created_at", Moment),
)
_OLD_FILES = sa.table("report_files", sa.column("report_id"), sa.column("csv", sa.LargeBinary))


def _store_old_report(
    engine: Engine, report_id: str, csv: bytes, store_ids: list[str] | None
) -> None:
    with engine.begin() as conn:
        conn.execute(
            _OLD_REPORTS.insert().values(
                id=report_id,
                status="Complete",
                as_of_us=None,
                interpolation="previous",
                store_ids=None if store_ids is None else json.dumps(store_ids),
                params_key="k",
                row_count=csv.count(b"\n") - 1,
                now_us=1_674_670_402_479_220,
                data_version=3,
                attempts=1,
                csv_bytes=len(csv),
                created_at=datetime(2023, 1, 25, tzinfo=UTC),
            )
        )
        conn.execute(_OLD_FILES.insert().values(report_id=report_id, csv=csv))


def test_stored_csv_reports_become_frames_that_render_the_same_csv(
    blank_database_url: str,
) -> None:
    golden = GOLDEN_CSV.read_bytes()
    empty = golden.split(b"\n")[0] + b"\n"
    engine = make_engine(blank_database_url)
    try:
        with engine.connect() as conn:
            upgrade(conn, "0001")
            conn.commit()
        _store_old_report(engine, "a" * 32, golden, None)
        _store_old_report(engine, "b" * 32, empty, ["x"])

        migrate(engine)

        with engine.connect() as conn:
            for report_id, csv in (("a" * 32, golden), ("b" * 32, empty)):
                stored = reports.read_frame(conn, report_id)
                record = reports.get(conn, report_id)
                assert stored is not None and record is not None
                frame = decode_frame(stored)
                assert render_csv(frame) == csv
                assert record.frame_bytes == len(stored)
            assert frame.schema.metadata[b"kind"] == b"uptime"
            assert json.loads(frame.schema.metadata[b"parameters"]) == {
                "as_of_us": None,
                "interpolation": "previous",
                "store_ids": ["x"],
            }
            assert int(frame.schema.metadata[b"now"]) == 1_674_670_402_479_220
    finally:
        engine.dispose()


def test_downgrading_the_report_frames_writes_the_same_csv_back(blank_database_url: str) -> None:
    golden = GOLDEN_CSV.read_bytes()
    engine = make_engine(blank_database_url)
    try:
        with engine.connect() as conn:
            upgrade(conn, "0001")
            conn.commit()
        _store_old_report(engine, "a" * 32, golden, None)
        migrate(engine)

        with engine.connect() as conn:
            upgrade(conn, "0001", downgrade=True)
            conn.commit()

        with engine.connect() as conn:
            csv = conn.execute(sa.select(_OLD_FILES.c.csv)).scalar_one()
            size = conn.execute(sa.select(_OLD_REPORTS.c.csv_bytes)).scalar_one()
        assert bytes(csv) == golden and size == len(golden)
    finally:
        engine.dispose()


def test_the_poll_history_migration_fills_each_stores_first_poll(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            upgrade(conn, "report_options", downgrade=True)
            conn.exec_driver_sql(
                "INSERT INTO stores (store_key, store_id) VALUES (1, 'a'), (2, 'b')"
            )
            conn.exec_driver_sql(
                "INSERT INTO polls (store_key, ts_us, active) VALUES (1, 50, true), (1, 20, false)"
            )
            conn.commit()
        migrate(engine)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(
                "SELECT store_id, first_poll_us FROM stores ORDER BY store_id"
            ).all()
    finally:
        engine.dispose()

    assert [tuple(row) for row in rows] == [("a", 20), ("b", None)]

"""The migrations build exactly the schema the code declares, on every database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from storemon.data.database import make_engine
from storemon.data.migrate import HEAD_REVISION, alembic_config, migrate, upgrade
from storemon.data.schema import metadata
from storemon.data.snapshot import reader_for


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

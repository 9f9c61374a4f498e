"""Finding and opening the database."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from storemon.data.database import DatabaseError, make_engine, parse_url, shown


@pytest.mark.parametrize(
    ("given", "resolved"),
    [
        ("postgresql://u:p@h:5/db", "postgresql+psycopg://u:p@h:5/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("mysql://root@h/db", "mysql+pymysql://root@h/db"),
        ("mariadb://root@h/db", "mysql+pymysql://root@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////abs/x.db", "sqlite:////abs/x.db"),
    ],
)
def test_bare_server_urls_get_the_drivers_the_project_ships(given: str, resolved: str) -> None:
    assert parse_url(given).render_as_string(hide_password=False) == resolved


def test_a_password_never_shows_in_messages() -> None:
    assert shown("postgresql+psycopg://me:secret@h/db") == "postgresql+psycopg://me:***@h/db"
    assert shown(parse_url("postgresql://me:p%40ss@h/db")) == "postgresql+psycopg://me:***@h/db"


@pytest.mark.parametrize("url", ["not a url", "oracle://u@h/db", "sqlite+nodriver:///x.db"])
def test_a_bad_url_is_one_clear_error(url: str) -> None:
    with pytest.raises(DatabaseError) as caught:
        make_engine(url)

    assert "\n" not in str(caught.value)


@pytest.mark.postgresql
def test_an_unreachable_server_is_one_clear_error() -> None:
    with pytest.raises(
        DatabaseError, match=r"^cannot open database postgresql\+psycopg://u:\*\*\*@"
    ):
        make_engine("postgresql://u:pw@127.0.0.1:1/nothing?connect_timeout=2")


@pytest.mark.sqlite
def test_sqlite_connections_use_wal_and_enforce_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
    finally:
        engine.dispose()


@pytest.mark.sqlite
def test_sqlite_transactions_are_real_transactions(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        with engine.connect() as conn:
            conn.begin()
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            conn.rollback()
            assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_value_refused_by_copy_is_sqlalchemys_data_error(engine: sa.Engine) -> None:
    """COPY goes around SQLAlchemy; its driver error still reaches callers
    as the one exception they handle for a refused value."""
    import polars as pl

    from storemon.data.dataset import copy_csv

    with pytest.raises(sa.exc.DataError, match="0x00"), engine.begin() as connection:
        copy_csv(connection, "stores", ["store_id"], pl.DataFrame({"store_id": ["a\x00b"]}))

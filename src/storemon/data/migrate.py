"""Schema migrations, run from code: no alembic.ini is needed where the user
runs the program. Alembic is imported only when a migration has to run."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from storemon.data.database import DatabaseError, make_engine, shown
from storemon.messages import first_line

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.engine import URL, Connection, Engine

#: The newest revision in ``migrations/versions``; a test keeps them in step.
HEAD_REVISION = "report_shards"

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(target: str | URL | Engine) -> None:
    """Upgrade the database (a URL or an engine) to the newest schema.
    Running it on an up-to-date database does nothing."""
    from sqlalchemy import exc
    from sqlalchemy.engine import Engine

    engine = target if isinstance(target, Engine) else make_engine(target)
    try:
        with engine.connect() as connection:
            upgrade(connection)
            connection.commit()
    except exc.DBAPIError as error:
        raise DatabaseError(
            f"cannot migrate database {shown(engine.url)}: {first_line(error.orig)}"
        ) from None
    finally:
        if engine is not target:
            engine.dispose()


def upgrade(connection: Connection, revision: str = "head", *, downgrade: bool = False) -> None:
    """Move the schema on ``connection`` to ``revision`` (up, or down with
    ``downgrade=True``); the caller commits."""
    from alembic import command

    config = alembic_config()
    config.attributes["connection"] = connection
    if downgrade:
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)

"""What every command shares: the ``--db`` option and the services built
from the process's settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from storemon.cli.errors import UserError

if TYPE_CHECKING:
    from storemon.bootstrap import Services
    from storemon.settings import Settings

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="Database URL (default: $STOREMON_DATABASE_URL, else sqlite:///storemon.db).",
        show_default=False,
    ),
]


def settings_of(ctx: typer.Context, db: str | None = None, **overrides: Any) -> Settings:
    """The process's settings, with a command's own options on top."""
    settings: Settings = ctx.obj
    changes = {"database_url": db, **overrides}
    changes = {name: value for name, value in changes.items() if value is not None}
    return settings.model_copy(update=changes) if changes else settings


def services_of(ctx: typer.Context, db: str | None) -> Services:
    from storemon.bootstrap import bootstrap

    return bootstrap(settings_of(ctx, db))


def existing(services: Services) -> Services:
    """``services`` of a database that exists: a command that only reads
    must not create one (a SQLite file would appear on first connect)."""
    from storemon.data.database import NoDatabaseError

    try:
        services.require_database()
    except NoDatabaseError as error:
        raise UserError(f"{error} (storemon ingest or storemon migrate creates it)") from None
    return services

"""``storemon polls``: commands on the stored polls."""

from __future__ import annotations

from typing import Annotated

import typer

from storemon.cli.errors import UserError
from storemon.cli.options import DbOption, existing, services_of

polls_app = typer.Typer(help="Stored polls.", no_args_is_help=True, rich_markup_mode=None)


def _instant(option: str, text: str | None) -> int | None:
    from storemon.ingest.timestamps import SUPPORTED_RANGE, in_supported_range, parse_timestamp

    if text is None:
        return None
    value = parse_timestamp(text)
    if value is None:
        raise UserError(f"{option} {text!r} is not a timestamp (e.g. '2023-01-25 18:00:00')")
    # As --as-of: a bound past the range would be compared with polls the
    # service no longer takes in, and is almost always a typo.
    if not in_supported_range(value):
        raise UserError(f"{option} {text!r} is outside the supported range ({SUPPORTED_RANGE})")
    return value


@polls_app.command("delete")
def delete_polls(
    ctx: typer.Context,
    store: Annotated[str, typer.Option("--store", metavar="ID", help="The store's id.")],
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="TS", help="First poll time deleted (UTC).", show_default=False
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", metavar="TS", help="Last poll time deleted (UTC).", show_default=False
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Delete a store's polls from --from to --to, both included (without
    them: all its polls). Logged in the ingest log; reports computed before
    are not reused."""
    from storemon.ingest.removal import remove_polls
    from storemon.messages import plural

    from_us, to_us = _instant("--from", from_), _instant("--to", to)
    if from_us is not None and to_us is not None and to_us < from_us:
        raise UserError("--to must not be before --from")
    source = " ".join(
        ["storemon polls delete --store", repr(store)]
        + ([f"--from {from_!r}"] if from_ else [])
        + ([f"--to {to!r}"] if to else [])
    )
    services = existing(services_of(ctx, db))
    try:
        removal = remove_polls(services.engine, store, from_us, to_us, source=source)
    finally:
        services.close()
    if removal is None:
        raise UserError(f"unknown store {store!r}")
    typer.echo(f"{plural(removal.deleted, 'poll')} deleted (ingest {removal.ingest_id})")


@polls_app.command("prune")
def prune_polls(
    ctx: typer.Context,
    keep_days: Annotated[
        float | None,
        typer.Option(
            min=7,
            metavar="DAYS",
            help="Days kept before the newest poll (default: $STOREMON_POLL_RETENTION_DAYS, 90).",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Delete polls older than the retention; each store keeps its last poll
    before it. Reports reaching before it are refused from then on."""
    from storemon.data.retention import prune_polls as prune
    from storemon.data.snapshot import format_utc
    from storemon.messages import plural

    services = existing(services_of(ctx, db))
    days = services.settings.poll_retention_days if keep_days is None else keep_days
    try:
        with services.engine.begin() as connection:
            deleted, horizon = prune(connection, days)
    finally:
        services.close()
    if horizon is None:
        typer.echo("no polls stored: nothing to prune")
        return
    typer.echo(f"{plural(deleted, 'poll')} deleted (before {format_utc(horizon)})")

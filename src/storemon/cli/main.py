"""The ``storemon`` command line (SPEC section 6).

Commands stay thin: they parse options, call the same services the API uses,
and print. Heavy modules are imported inside commands so ``storemon report``
starts fast. Every error ends as one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import click
import typer

from storemon.cli.errors import UserError, user_error_of

app = typer.Typer(
    name="storemon",
    help="Store uptime monitoring: ingest feeds, compute uptime/downtime reports, serve the API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy database URL (default: $STOREMON_DATABASE_URL, else sqlite:///storemon.db).",
        show_default=False,
    ),
]


class InterpolationChoice(StrEnum):
    nearest = "nearest"
    previous = "previous"


@app.callback()
def main(ctx: typer.Context, db: DbOption = None) -> None:
    """Store uptime monitoring."""
    ctx.obj = {"db": db}


def _db(ctx: typer.Context, db: str | None) -> str:
    from storemon.data.database import resolve_url

    return resolve_url(db or (ctx.obj or {}).get("db"))


def _echo(message: str) -> None:
    typer.echo(message, err=True)


@app.command()
def ingest(
    ctx: typer.Context,
    status: Annotated[Path | None, typer.Option(help="Status polls CSV.")] = None,
    hours: Annotated[Path | None, typer.Option(help="Business hours CSV.")] = None,
    timezones: Annotated[Path | None, typer.Option(help="Timezones CSV.")] = None,
    strict: Annotated[
        bool, typer.Option(help="Load nothing of a feed that has a rejected row.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Load feeds into the database. Prints rows loaded and rejected per feed."""
    from storemon.cli.progress import progress_reporter
    from storemon.data.database import make_engine
    from storemon.data.migrate import migrate
    from storemon.ingest.feeds import Feed
    from storemon.ingest.service import ingest_feed

    feeds = [(Feed.timezones, timezones), (Feed.hours, hours), (Feed.status, status)]
    chosen = [(feed, path) for feed, path in feeds if path is not None]
    if not chosen:
        raise UserError("nothing to ingest: give --status, --hours and/or --timezones")
    for _, path in chosen:
        if not path.is_file():
            raise UserError(f"no such file: {path}")
    url = _db(ctx, db)
    migrate(url)
    engine = make_engine(url)
    failed = False
    try:
        for feed, path in chosen:
            with progress_reporter(f"{feed.value:<9}") as on_progress:
                result = ingest_feed(
                    engine, feed, path, strict=strict, source_name=path.name,
                    on_progress=on_progress,
                )
            outcome = "loaded nothing (strict)" if strict and result.rejected else ""
            typer.echo(
                f"{feed.value}: {result.loaded} loaded, {result.rejected} rejected"
                + (f" — {outcome}" if outcome else "")
                + (f" (ingest {result.ingest_id})" if result.rejected else "")
            )
            for line, reason in result.first_rejects[:5]:
                _echo(f"  line {line}: {reason}")
            if result.rejected > 5:
                _echo(f"  … all {result.rejected}: storemon rejects {result.ingest_id}")
            failed = failed or (strict and result.rejected > 0)
    finally:
        engine.dispose()
    if failed:
        raise typer.Exit(code=1)


@app.command()
def report(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Where to write the CSV.")],
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Compute as of this UTC timestamp instead of the newest poll."),
    ] = None,
    interpolation: Annotated[
        InterpolationChoice, typer.Option(help="How status is estimated between polls.")
    ] = InterpolationChoice.nearest,
    store: Annotated[
        list[str] | None, typer.Option("--store", help="Only this store id (repeatable).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Write the uptime/downtime report CSV (SPEC section 5)."""
    from storemon.data.database import SchemaNotCurrentError
    from storemon.reports.csv_output import render_csv
    from storemon.reports.service import ReportRequest, build_report

    url = _db(ctx, db)
    as_of_us = _parse_as_of(as_of) if as_of is not None else None
    request = ReportRequest(as_of_us, interpolation.value, tuple(store) if store else None)
    try:
        built = build_report(url, request)
    except SchemaNotCurrentError:
        # A new or older database: bring it up to date (an empty one gives
        # an empty report), then read again.
        from storemon.data.migrate import migrate as upgrade

        upgrade(url)
        built = build_report(url, request)
    _write_atomically(out, render_csv(built.report))
    _echo(f"{len(built.report)} stores -> {out}")


@app.command()
def rejects(
    ctx: typer.Context,
    ingest_id: Annotated[int, typer.Argument(help="The ingest whose rejected rows to show.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Write them as CSV here instead of printing.")
    ] = None,
    db: DbOption = None,
) -> None:
    """Show the rejected rows of one ingest: line, reason, raw text."""
    from storemon.data.database import make_engine
    from storemon.data.rejects import read_rejects

    engine = make_engine(_db(ctx, db))
    try:
        rows = read_rejects(engine, ingest_id)
    finally:
        engine.dispose()
    import csv

    target = out.open("w", newline="") if out else sys.stdout
    try:
        writer = csv.writer(target, lineterminator="\n")
        writer.writerow(["line", "reason", "raw"])
        writer.writerows(rows)
    finally:
        if out:
            target.close()


@app.command()
def sample(
    out_dir: Annotated[Path, typer.Argument(help="Directory for the three CSV files.")],
    scale: Annotated[int, typer.Option(min=1, help="Copies of every store (1: ~14.4k stores).")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same files.")] = 20230125,
) -> None:
    """Write a realistic sample data set: real hours and timezones, synthetic polls."""
    from storemon.sample_feeds import write_sample

    summary = write_sample(out_dir, scale, seed)
    typer.echo(
        f"{out_dir}: {summary.stores} stores, {summary.polls} polls, "
        f"{summary.hours_rows} business-hours rows, {summary.timezone_rows} timezones"
    )


@app.command()
def migrate(ctx: typer.Context, db: DbOption = None) -> None:
    """Create or upgrade the database schema to this version."""
    from storemon.data.database import redact
    from storemon.data.migrate import migrate as upgrade

    url = _db(ctx, db)
    upgrade(url)
    typer.echo(f"schema up to date: {redact(url)}")


def _parse_as_of(text: str) -> int:
    from storemon.ingest.timestamps import parse_timestamp

    value = parse_timestamp(text)
    if value is None:
        raise UserError(f"--as-of {text!r} is not a timestamp (e.g. '2023-01-25 18:00:00')")
    return value


def _write_atomically(path: Path, data: bytes) -> None:
    """The file appears whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def run() -> None:
    """Console-script entry: run the app, turn every error into one line."""
    command = typer.main.get_command(app)
    try:
        # Not standalone: click returns a command's exit code instead of exiting.
        result = command.main(prog_name="storemon", standalone_mode=False)
    except click.exceptions.Abort:
        _echo("error: aborted")
        sys.exit(130)
    except click.ClickException as error:
        _echo(f"error: {error.format_message()}")
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        _echo("error: interrupted")
        sys.exit(130)
    except Exception as error:
        if os.environ.get("STOREMON_DEBUG"):
            raise
        _echo(f"error: {user_error_of(error)}")
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)

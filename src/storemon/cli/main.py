"""The ``storemon`` command line (SPEC section 6).

Commands stay thin: they parse options, call the same services the API uses,
and print. Heavy modules are imported inside commands so ``storemon report``
starts fast. Every error ends as one line on stderr and a non-zero exit.
"""

from __future__ import annotations

import gc
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from storemon.cli.errors import UserError, plain_words, user_error_of
from storemon.cli.options import DbOption
from storemon.cli.options import existing as _existing
from storemon.cli.options import services_of as _services
from storemon.cli.options import settings_of as _settings
from storemon.cli.polls import polls_app

if TYPE_CHECKING:
    from storemon.bootstrap import Services
    from storemon.settings import Settings

app = typer.Typer(
    name="storemon",
    help="Store uptime monitoring: ingest feeds, compute uptime/downtime reports, serve the API.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain help: option values named (FILE, URL), not typed (<str>, <bool>).
    rich_markup_mode=None,
)

#: The settings of this process, once read (``run`` needs STOREMON_DEBUG).
_loaded: Settings | None = None


class InterpolationChoice(StrEnum):
    nearest = "nearest"
    previous = "previous"


#: Commands that end soon after their start: the cyclic garbage collector
#: stays paused for all of them (see ``run``).
_SHORT_COMMANDS = frozenset({"report"})


@app.callback()
def main(ctx: typer.Context, db: DbOption = None) -> None:
    """Store uptime monitoring."""
    global _loaded
    from storemon.settings import load_settings

    # Read once, here, for every command: STOREMON_* variables and .env.
    ctx.obj = _loaded = load_settings(database_url=db)
    if ctx.invoked_subcommand not in _SHORT_COMMANDS:
        gc.enable()


def _echo(message: str) -> None:
    typer.echo(message, err=True)


@app.command()
def ingest(
    ctx: typer.Context,
    status: Annotated[Path | None, typer.Option(metavar="FILE", help="Status polls CSV.")] = None,
    hours: Annotated[Path | None, typer.Option(metavar="FILE", help="Business hours CSV.")] = None,
    timezones: Annotated[Path | None, typer.Option(metavar="FILE", help="Timezones CSV.")] = None,
    special_hours: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Special hours CSV (date exceptions).")
    ] = None,
    groups: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Group memberships CSV.")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Load nothing of a feed that has a rejected row.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Load feeds into the database. Prints rows loaded and rejected per feed."""
    from storemon.cli.progress import progress_reporter
    from storemon.data.migrate import migrate
    from storemon.ingest.feeds import Feed
    from storemon.ingest.service import ingest_feed

    feeds = [
        (Feed.TIMEZONES, timezones),
        (Feed.HOURS, hours),
        (Feed.SPECIAL_HOURS, special_hours),
        (Feed.GROUPS, groups),
        (Feed.STATUS, status),
    ]
    chosen = [(feed, path) for feed, path in feeds if path is not None]
    if not chosen:
        raise UserError(
            "nothing to ingest: give --status, --hours, --timezones, --special-hours"
            " and/or --groups"
        )
    for _, path in chosen:
        if not path.is_file():
            raise UserError(f"no such file: {path}")
    services = _services(ctx, db)
    engine = services.engine
    migrate(engine)
    failed = False
    try:
        for feed, path in chosen:
            with progress_reporter(f"{feed.value:<9}") as on_progress:
                result = ingest_feed(
                    engine,
                    feed,
                    path,
                    strict=strict,
                    source_name=path.name,
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
        services.close()
    if failed:
        raise typer.Exit(code=1)


AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="TIMESTAMP",
        help="Compute as of this UTC timestamp instead of the newest poll.",
    ),
]
InterpolationOption = Annotated[
    InterpolationChoice, typer.Option(help="How status is estimated between polls.")
]
StoreOption = Annotated[
    list[str] | None,
    typer.Option("--store", metavar="ID", help="Only this store id (repeatable)."),
]
MaxGapOption = Annotated[
    str | None,
    typer.Option(
        "--max-gap",
        metavar="MINUTES",
        help="How far one poll speaks, in minutes; time beyond it is no data.",
    ),
]


@app.command()
def report(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="Where to write the CSV.")],
    as_of: AsOfOption = None,
    interpolation: InterpolationOption = InterpolationChoice.nearest,
    store: StoreOption = None,
    max_gap: MaxGapOption = None,
    daily: Annotated[
        bool, typer.Option("--daily", help="One row per store and local date, --from to --to.")
    ] = False,
    from_date: Annotated[
        str | None,
        typer.Option("--from", metavar="DATE", help="First date of --daily (YYYY-MM-DD)."),
    ] = None,
    to_date: Annotated[
        str | None,
        typer.Option("--to", metavar="DATE", help="Last date of --daily (YYYY-MM-DD)."),
    ] = None,
    by_group: Annotated[
        bool, typer.Option("--by-group", help="One row per group of stores.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Write the uptime/downtime report CSV: one row per store, sorted by store
    id (or per store and date with --daily, per group with --by-group)."""
    from storemon.cli.progress import working
    from storemon.data.database import NoDatabaseError
    from storemon.messages import plural
    from storemon.reports.frames import report_frame_of
    from storemon.reports.rendering import render_csv
    from storemon.reports.service import ReportRequest, build_report

    if daily and by_group:
        raise UserError("--daily and --by-group cannot be combined: choose one")
    if not daily and (from_date is not None or to_date is not None):
        raise UserError("--from and --to go with --daily")
    if daily and (from_date is None or to_date is None):
        raise UserError("--daily needs --from DATE and --to DATE")
    first = _parse_date("--from", from_date) if from_date is not None else None
    last = _parse_date("--to", to_date) if to_date is not None else None
    if first is not None and last is not None and first > last:
        raise UserError(f"--from {from_date} is after --to {to_date}")
    as_of_us = _parse_as_of(as_of) if as_of is not None else None
    request = ReportRequest(
        as_of_us,
        interpolation.value,
        tuple(store) if store else None,
        kind="daily" if daily else "groups" if by_group else "stores",
        max_gap_us=_parse_max_gap(max_gap) if max_gap is not None else None,
        first_date=first,
        last_date=last,
    )
    services = _services(ctx, db)
    with working("computing the report"):
        try:
            built = build_report(services.reader, request)
        except NoDatabaseError as error:
            raise UserError(f"{error} (storemon ingest creates it)") from None
        _write_atomically(out, render_csv(report_frame_of(built.report, request)))
    _warn_unknown_stores(built.unknown_store_ids)
    if as_of_us is not None and (built.first_poll_us is None or as_of_us < built.first_poll_us):
        _echo(f"warning: --as-of {as_of} is before every poll: the report is empty")
    noun = {"stores": "store", "daily": "row", "groups": "group"}[request.kind]
    _echo(f"{plural(len(built.report), noun)} -> {out}")


@app.command()
def outages(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", metavar="FILE", help="Where to write the CSV.")],
    from_ts: Annotated[
        str | None,
        typer.Option(
            "--from", metavar="TIMESTAMP", help="Start of the range (default: a week before now)."
        ),
    ] = None,
    to_ts: Annotated[
        str | None,
        typer.Option("--to", metavar="TIMESTAMP", help="End of the range (default: now)."),
    ] = None,
    as_of: AsOfOption = None,
    interpolation: InterpolationOption = InterpolationChoice.nearest,
    max_gap: MaxGapOption = None,
    store: StoreOption = None,
    db: DbOption = None,
) -> None:
    """Write the outages CSV: every stretch of business time estimated
    inactive that overlaps the range, cut to it, sorted by store id and start."""
    from storemon.cli.progress import working
    from storemon.data.database import NoDatabaseError
    from storemon.messages import plural
    from storemon.reports.frames import outages_frame
    from storemon.reports.rendering import render_csv
    from storemon.reports.service import OutagesRequest, build_outages

    request = OutagesRequest(
        from_us=_parse_timestamp_option("--from", from_ts) if from_ts is not None else None,
        to_us=_parse_timestamp_option("--to", to_ts) if to_ts is not None else None,
        as_of_us=_parse_as_of(as_of) if as_of is not None else None,
        interpolation=interpolation.value,
        max_gap_us=_parse_max_gap(max_gap) if max_gap is not None else None,
        store_ids=tuple(store) if store else None,
    )
    services = _services(ctx, db)
    with working("finding outages"):
        try:
            built = build_outages(services.reader, request)
        except NoDatabaseError as error:
            raise UserError(f"{error} (storemon ingest creates it)") from None
        _write_atomically(out, render_csv(outages_frame(built.outages, request)))
    _warn_unknown_stores(built.unknown_store_ids)
    _echo(f"{plural(len(built.outages), 'outage')} -> {out}")


@app.command()
def rejects(
    ctx: typer.Context,
    ingest_id: Annotated[
        int, typer.Argument(metavar="INGEST_ID", help="The ingest whose rejected rows to show.")
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="Write them as CSV here instead of printing."),
    ] = None,
    db: DbOption = None,
) -> None:
    """Show the rejected rows of one ingest: line, reason, raw text."""
    import csv

    from storemon.data.ingest_log import get_ingest
    from storemon.data.rejects import list_rejects

    services = _existing(_services(ctx, db))
    try:
        with services.engine.connect() as connection:
            if get_ingest(connection, ingest_id) is None:
                raise UserError(f"no ingest {ingest_id} in this database")
            rows = list_rejects(connection, ingest_id)
    finally:
        services.close()

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
    out_dir: Annotated[
        Path, typer.Argument(metavar="DIR", help="Directory for the three CSV files.")
    ],
    scale: Annotated[
        int, typer.Option(min=1, metavar="N", help="Copies of every store (1: ~14.4k stores).")
    ] = 1,
    seed: Annotated[
        int, typer.Option(metavar="N", help="Random seed; same seed, same files.")
    ] = 20230125,
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
    from storemon.data.database import shown
    from storemon.data.migrate import migrate as upgrade

    services = _services(ctx, db)
    try:
        upgrade(services.engine)
    finally:
        services.close()
    typer.echo(f"schema up to date: {shown(services.url)}")


HostOption = Annotated[
    str | None,
    typer.Option(
        metavar="ADDRESS", help="Address to listen on (default: $STOREMON_HOST, 127.0.0.1)."
    ),
]
PortOption = Annotated[
    int | None,
    typer.Option(
        min=1, max=65535, metavar="PORT", help="Port to listen on (default: $STOREMON_PORT, 8000)."
    ),
]


@app.command()
def serve(
    ctx: typer.Context,
    host: HostOption = None,
    port: PortOption = None,
    sample: Annotated[
        bool,
        typer.Option(help="Load the sample data set first if the database has no polls."),
    ] = False,
    db: DbOption = None,
) -> None:
    """Serve the HTTP API until interrupted (settings: STOREMON_* variables)."""
    _serve(ctx, db, host, port, sample)


@app.command()
def demo(
    ctx: typer.Context,
    host: HostOption = None,
    port: PortOption = None,
    db: DbOption = None,
) -> None:
    """Migrate, load the sample data set into an empty database, and serve
    (`serve --sample`)."""
    _serve(ctx, db, host, port, sample=True)


def _serve(
    ctx: typer.Context, db: str | None, host: str | None, port: int | None, sample: bool
) -> None:
    import uvicorn

    from storemon.api.app import create_app
    from storemon.bootstrap import bootstrap
    from storemon.data.database import shown
    from storemon.data.migrate import migrate as upgrade

    settings = _settings(ctx, db, host=host, port=port)
    # Before anything changes the database: a server that cannot listen
    # must not migrate it or requeue reports.
    _check_port_free(settings.host, settings.port)
    services = bootstrap(settings, server=True)
    upgrade(services.engine)
    if sample:
        _load_sample_if_empty(services)
    where = f"[{settings.host}]" if ":" in settings.host else settings.host
    database = shown(services.url)
    typer.echo(f"storemon: serving http://{where}:{settings.port}/ (database {database})")
    uvicorn.run(
        create_app(services=services),
        host=settings.host,
        port=settings.port,
        log_level="info",
        access_log=settings.access_log,
    )


def _check_port_free(host: str, port: int) -> None:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # As uvicorn binds: a port left in TIME_WAIT by a previous run is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise UserError(
                f"cannot listen on {host} port {port}: {error.strerror or error} "
                "(choose another with --port or STOREMON_PORT)"
            ) from None


def _load_sample_if_empty(services: Services) -> None:
    import tempfile

    from storemon.data.stores import newest_poll_us
    from storemon.ingest.service import ingest_feed
    from storemon.sample_feeds import write_sample

    engine = services.engine
    with engine.connect() as connection:
        if newest_poll_us(connection) is not None:
            return
    with tempfile.TemporaryDirectory(prefix="storemon-sample-") as folder:
        _echo("storemon: the database has no polls; loading the sample data set…")
        write_sample(folder)
        for feed, name in (
            ("timezones", "timezones.csv"),
            ("hours", "menu_hours.csv"),
            ("status", "store_status.csv"),
        ):
            path = Path(folder) / name
            result = ingest_feed(engine, feed, path, source_name=f"sample/{name}")
            _echo(f"  {feed}: {result.loaded} loaded, {result.rejected} rejected")


@app.command()
def worker(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option(min=1, metavar="N", help="Reports run at once.")] = 1,
    loglevel: Annotated[str, typer.Option(metavar="LEVEL", help="Celery log level.")] = "INFO",
    db: DbOption = None,
) -> None:
    """Run a Celery worker for report jobs (for STOREMON_RUNNER=celery)."""
    from datetime import timedelta

    from storemon.data.database import shown
    from storemon.jobs.celery_runner import celery_app, start_worker_sweeper

    services = _services(ctx, db)
    settings = services.settings
    broker = settings.celery_broker_url
    _echo(f"storemon worker: broker {shown(broker)}, database {shown(services.url)}")
    lease = timedelta(seconds=settings.lease_seconds)
    start_worker_sweeper(services, settings.celery_key_prefix)
    celery_app(broker, settings.celery_key_prefix, services, lease).worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
        ]
    )


reports_app = typer.Typer(help="Stored reports.", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(reports_app, name="reports")
app.add_typer(polls_app, name="polls")


@reports_app.command("prune")
def prune_reports(
    ctx: typer.Context,
    older_than_days: Annotated[
        float | None,
        typer.Option(
            min=0,
            metavar="DAYS",
            help="Age limit in days (default: $STOREMON_REPORT_RETENTION_DAYS, 30).",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Delete reports that finished (Complete or Failed) before the retention."""
    from datetime import timedelta

    from storemon.data import reports
    from storemon.messages import plural

    services = _existing(_services(ctx, db))
    settings = services.settings
    days = settings.report_retention_days if older_than_days is None else older_than_days
    try:
        with services.engine.begin() as connection:
            deleted = reports.prune(connection, timedelta(days=days))
    finally:
        services.close()
    typer.echo(f"{plural(deleted, 'report')} deleted (finished more than {days:g} days ago)")


def _parse_as_of(text: str) -> int:
    return _parse_timestamp_option("--as-of", text)


def _parse_timestamp_option(option: str, text: str) -> int:
    from storemon.ingest.timestamps import SUPPORTED_RANGE, in_supported_range, parse_timestamp

    value = parse_timestamp(text)
    if value is None:
        raise UserError(f"{option} {text!r} is not a timestamp (e.g. '2023-01-25 18:00:00')")
    if not in_supported_range(value):
        raise UserError(f"{option} {text!r} is outside the supported range ({SUPPORTED_RANGE})")
    return value


def _parse_max_gap(text: str) -> int:
    from storemon.reports.options import minutes_to_us

    value = minutes_to_us(text)
    if value is None:
        raise UserError(
            f"--max-gap {text!r} is not a number of minutes greater than 0 (e.g. 90 or 7.5)"
        )
    return value


def _parse_date(option: str, text: str) -> int:
    from storemon.reports.options import date_to_days

    value = date_to_days(text)
    if value is None:
        raise UserError(f"{option} {text!r} is not a date YYYY-MM-DD from 1900 to 2199")
    return value


def _warn_unknown_stores(store_ids: tuple[str, ...]) -> None:
    if store_ids:
        unknown = ", ".join(repr(i) for i in store_ids)
        _echo(f"warning: the database has no store {unknown}")


def _write_atomically(path: Path, data: bytes) -> None:
    """The file appears whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def run() -> None:
    """Console-script entry: run the app, turn every error into one line."""
    # Start-up is imports: a great many objects that live as long as the
    # process, which the cyclic garbage collector walks again and again while
    # they are made, freeing nothing (7 % of a report's CPU time). It is
    # paused until the command starts (``main``), and for all of a short one:
    # a report allocates arrays, not reference cycles.
    gc.disable()
    try:
        sys.exit(_run_command())
    finally:
        # The interpreter's exit ends with a collection that walks every
        # object the process ever made, only to free what the exit frees
        # anyway (0.1 s after a report): frozen, they are not walked.
        gc.freeze()


def _run_command() -> int:
    """The command's exit code; errors said in one line."""
    command = typer.main.get_command(app)
    try:
        # Not standalone: click returns a command's exit code instead of exiting.
        result = command.main(prog_name="storemon", standalone_mode=False)
    except typer.Abort:
        _echo("error: aborted")
        return 130
    except typer.TyperException as error:  # a usage mistake: a missing or bad option
        _echo(f"error: {plain_words(error.format_message())}")
        return error.exit_code
    except KeyboardInterrupt:
        _echo("error: interrupted")
        return 130
    except Exception as error:
        if _loaded is not None and _loaded.debug:
            raise
        _echo(f"error: {plain_words(user_error_of(error))}")
        return 1
    return result if isinstance(result, int) else 0

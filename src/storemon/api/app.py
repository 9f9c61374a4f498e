"""Builds the FastAPI app and everything it depends on, in one place."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from functools import partial

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline

from storemon import __version__
from storemon.api.container import Container
from storemon.api.errors import install_error_handlers
from storemon.api.headers import SecurityHeaders
from storemon.api.metrics import install_metrics
from storemon.api.openapi import install_openapi
from storemon.api.routes import dashboard as dashboard_routes
from storemon.api.routes import groups as group_routes
from storemon.api.routes import ingest as ingest_routes
from storemon.api.routes import ops as ops_routes
from storemon.api.routes import outages as outage_routes
from storemon.api.routes import report_rows as report_rows_routes
from storemon.api.routes import reports as report_routes
from storemon.api.routes import stores as store_routes
from storemon.bootstrap import Services, bootstrap
from storemon.data.migrate import migrate
from storemon.jobs import build_runner
from storemon.messages import one_line
from storemon.reports.job import sweep_once
from storemon.reports.runner import ReportRunner
from storemon.settings import Settings
from storemon.web import router as web_router

log = logging.getLogger(__name__)

DESCRIPTION = """
Uptime and downtime of stores during their business hours, over the last
hour, day and week. Trigger a report, poll it, download the CSV.

When `STOREMON_API_KEY` is set, every endpoint that changes something needs
the header `X-API-Key`. Errors are JSON: `{"error": "..."}`.
"""


def create_app(
    settings: Settings | None = None,
    runner: ReportRunner | None = None,
    services: Services | None = None,
) -> FastAPI:
    """The app; the database is migrated and the runner started on start-up.
    ``services`` (from ``bootstrap(settings, server=True)``) are built here
    when not given; ``runner`` is the one ``settings.runner`` names unless
    given."""
    if services is None:
        from storemon.settings import load_settings

        services = bootstrap(settings or load_settings(), server=True)
    settings = services.settings
    built = services

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = built.engine
        migrate(engine)
        job_runner = runner or build_runner(built)
        job_runner.start()
        app.state.container = Container(built, job_runner)
        lease = timedelta(seconds=settings.lease_seconds)
        # Reports whose holder went away (this server's previous process,
        # another server, a worker): only those whose lease expired.
        sweep = partial(sweep_once, engine, settings.job_attempts, job_runner, lease)
        requeued = await asyncio.to_thread(_swept, sweep)
        if requeued:
            log.info("requeued %d unfinished reports", requeued)
        sweeper = asyncio.create_task(_sweep_forever(sweep, settings.sweep_interval_seconds))
        interval_h = settings.poll_prune_interval_hours
        pruner = asyncio.create_task(_prune_polls(app, interval_h)) if interval_h > 0 else None
        # Everything built so far lives as long as the server: keep it out of
        # the collector's sight, or full collections over it pause requests
        # for tens of milliseconds (the /get_report p99 under load).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            for task in (sweeper, pruner):
                if task is not None:
                    task.cancel()
            job_runner.shutdown()
            app.state.container.heavy_reads.shutdown()
            built.close()

    # /docs loads Swagger UI from files the package ships, served under
    # /static-offline-docs: no CDN, so it works offline. No ReDoc: its page
    # still fetches a logo from its maker's CDN, and one docs page is enough.
    app = FastAPIOffline(
        redoc_url=None,
        title="storemon",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["X-API-Key", "Content-Type"],
        )
    # On every answer, CORS preflights and errors included.
    app.add_middleware(SecurityHeaders)
    # Outermost (added last): it times everything, CORS included.
    install_metrics(app)
    install_error_handlers(app)
    app.include_router(report_routes.router)
    app.include_router(report_rows_routes.router)
    app.include_router(store_routes.router)
    app.include_router(outage_routes.router)
    app.include_router(ingest_routes.router)
    app.include_router(group_routes.router)
    app.include_router(dashboard_routes.router)
    app.include_router(ops_routes.router)
    app.include_router(web_router)
    install_openapi(app)
    return app


def _swept(sweep: Callable[[], int]) -> int:
    try:
        return sweep()
    except Exception as error:  # say, the database is away: the next round may succeed
        log.error("looking for reports to recover failed: %s", one_line(error))
        return 0


async def _sweep_forever(sweep: Callable[[], int], interval_s: float) -> None:
    """Every server, whatever its runner, recovers reports whose holder went
    away: a report is never stuck longer than its lease plus one interval
    once the database is reachable."""
    while True:
        await asyncio.sleep(interval_s)
        requeued = await asyncio.to_thread(_swept, sweep)
        if requeued:
            log.info("requeued %d reports whose lease expired", requeued)


async def _prune_polls(app: FastAPI, interval_h: float) -> None:
    """Prune polls past the retention now, then every ``interval_h`` hours."""
    from storemon.data.retention import prune_polls
    from storemon.data.snapshot import format_utc

    container: Container = app.state.container
    days = container.settings.poll_retention_days

    def prune() -> tuple[int, int | None]:
        with container.engine.begin() as connection:
            return prune_polls(connection, days)

    while True:
        try:
            deleted, horizon = await asyncio.to_thread(prune)
            if horizon is not None:
                log.info("pruned %d polls before %s", deleted, format_utc(horizon))
        except Exception:  # keep the schedule; the next round may succeed
            log.exception("pruning polls failed")
        await asyncio.sleep(interval_h * 3600)

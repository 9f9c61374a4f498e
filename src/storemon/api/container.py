"""Everything a request needs, built once per app (see ``app.create_app``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from storemon.data.database import backend_of, make_engine
from storemon.jobs.runner import ReportRunner
from storemon.settings import Settings

#: Connections the server keeps open, and how many more it may open at busy
#: times: more in all than the 40 threads that run routes plus the event
#: loop, so a request never waits for a connection.
POOL_SIZE, POOL_OVERFLOW = 20, 30


@dataclass
class Container:
    settings: Settings
    database_url: str
    engine: Engine
    runner: ReportRunner


def make_server_engine(database_url: str) -> Engine:
    """The server's engine: a pool of open connections on every backend.

    ``make_engine`` opens a SQLite file per use (the report's ADBC reads then
    seldom have to yield, see ``storemon.data.sqlite_access``), which costs
    more than a whole ``/get_report`` answer. The server does not compute
    reports (its workers do), so here connections stay open; an ADBC read in
    this process reads through ``sqlite3`` instead, still correct.
    """
    import sqlalchemy as sa

    options: dict[str, object] = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
    if backend_of(database_url) == "sqlite":
        options["poolclass"] = sa.QueuePool
    return make_engine(database_url, **options)


def build_runner(settings: Settings, database_url: str, engine: Engine) -> ReportRunner:
    if settings.runner == "celery":
        from storemon.jobs.celery_runner import CeleryRunner

        return CeleryRunner(settings.celery_broker_url, settings.celery_key_prefix)
    from storemon.jobs.inprocess import InProcessRunner

    return InProcessRunner(
        database_url, engine, settings.report_workers, max_attempts=settings.job_attempts
    )

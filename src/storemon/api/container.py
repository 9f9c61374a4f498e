"""Everything a request needs, built once per app (see ``app.create_app``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from storemon.jobs.runner import ReportRunner
from storemon.settings import Settings


@dataclass
class Container:
    settings: Settings
    database_url: str
    engine: Engine
    runner: ReportRunner


def build_runner(settings: Settings, database_url: str, engine: Engine) -> ReportRunner:
    if settings.runner == "celery":
        from storemon.jobs.celery_runner import CeleryRunner

        return CeleryRunner(database_url, settings.celery_broker_url)
    from storemon.jobs.inprocess import InProcessRunner

    return InProcessRunner(database_url, engine, settings.report_workers)

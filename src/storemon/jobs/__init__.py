"""Where report jobs run: a process pool inside the server, or Celery
workers. Both adapt ``storemon.reports.runner.ReportRunner``; the job itself
is ``storemon.reports.job``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storemon.bootstrap import Services
    from storemon.reports.runner import ReportRunner


def build_runner(services: Services) -> ReportRunner:
    """The report runner ``settings.runner`` names, for the server."""
    settings = services.settings
    if settings.runner == "celery":
        from datetime import timedelta

        from storemon.jobs.celery_runner import CeleryRunner

        lease = timedelta(seconds=settings.lease_seconds)
        return CeleryRunner(settings.celery_broker_url, settings.celery_key_prefix, lease)
    from storemon.jobs.inprocess import InProcessRunner

    return InProcessRunner(
        settings, services.engine, settings.report_workers, max_attempts=settings.job_attempts
    )

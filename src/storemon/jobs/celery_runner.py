"""The distributed runner: report jobs as Celery tasks on a broker (Redis by
default), run by ``storemon worker`` processes on any machine that reaches
the same database and broker.

Tasks are acknowledged late (after the job) and rejected back to the queue
when the worker process running them is lost, so a killed worker's task is
delivered again. A report waiting in the broker has no process renewing its
lease: each server's sweeper sends its task again whenever the lease
expires, and a report whose worker died (its heartbeat stopped) is queued
again once the lease expires. Extra deliveries are harmless: the job's claim
(Pending -> Running) runs each report once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from celery import Celery

from storemon.reports.runner import ReportRunner

if TYPE_CHECKING:
    from storemon.bootstrap import Services

TASK_NAME = "storemon.run_report"


def celery_app(
    broker_url: str,
    key_prefix: str = "",
    services: Services | None = None,
    lease: timedelta = timedelta(seconds=30),
) -> Celery:
    """The Celery app for the server (which sends) and ``storemon worker``
    (which runs, with ``services``: the task carries only the report id, so
    no database credentials travel through the broker). ``key_prefix`` puts
    every Redis key under a prefix, so several deployments (or test runs) can
    share one Redis."""
    app = Celery("storemon", broker=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,  # a worker that dies mid-report leaves the task queued
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        # One report is CPU work for a while; a worker takes one at a time.
        worker_concurrency=1,
        # The report row is the record; no events or result backend needed.
        worker_send_task_events=False,
    )
    # Redis hands a task that was delivered but not acknowledged (its worker
    # died with it) to another worker after the visibility timeout. The
    # lease recovers such a report sooner; twice the lease keeps the broker
    # from redelivering tasks of healthy long reports every lease.
    options: dict[str, object] = {"visibility_timeout": max(60, int(lease.total_seconds() * 2))}
    if key_prefix:
        options["global_keyprefix"] = key_prefix
    app.conf.broker_transport_options = options

    @app.task(name=TASK_NAME)
    def run_report(report_id: str) -> str:
        from storemon.reports.job import run_report

        if services is None:
            raise RuntimeError("this Celery app only sends tasks: start it with services")
        # The engine opens in each worker process at its first report (after
        # the fork), so no connection is shared between processes.
        lease_s = services.settings.lease_seconds
        return run_report(
            services.engine, services.reader, report_id, timedelta(seconds=lease_s)
        )

    return app


class CeleryRunner(ReportRunner):
    def __init__(
        self, broker_url: str, key_prefix: str = "", lease: timedelta = timedelta(seconds=30)
    ) -> None:
        self._app = celery_app(broker_url, key_prefix, lease=lease)

    def start(self) -> None:
        pass  # the broker connection opens with the first submit

    def submit(self, report_id: str) -> None:
        self._app.send_task(TASK_NAME, args=(report_id,))

    def check(self) -> None:
        with self._app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)

    def shutdown(self) -> None:
        self._app.pool.force_close_all()
        self._app.close()

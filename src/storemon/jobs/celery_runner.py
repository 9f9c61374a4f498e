"""The distributed runner: report jobs as Celery tasks on a broker (Redis by
default), run by ``storemon worker`` processes on any machine that reaches
the same database and broker.

A worker that dies mid-report leaves it Running; the job's claim (Pending ->
Running) keeps a redelivered task from running it twice, and the server's
periodic ``recover`` queues it again once it has been Running too long.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from celery import Celery

from storemon.reports.runner import ReportRunner

if TYPE_CHECKING:
    from storemon.bootstrap import Services

TASK_NAME = "storemon.run_report"


def celery_app(broker_url: str, key_prefix: str = "", services: Services | None = None) -> Celery:
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
    if key_prefix:
        app.conf.broker_transport_options = {"global_keyprefix": key_prefix}

    @app.task(name=TASK_NAME)
    def run_report(report_id: str) -> str:
        from storemon.reports.job import run_report

        if services is None:
            raise RuntimeError("this Celery app only sends tasks: start it with services")
        # The engine opens in each worker process at its first report (after
        # the fork), so no connection is shared between processes.
        return run_report(services.engine, services.reader, report_id)

    return app


class CeleryRunner(ReportRunner):
    def __init__(self, broker_url: str, key_prefix: str = "") -> None:
        self._app = celery_app(broker_url, key_prefix)

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

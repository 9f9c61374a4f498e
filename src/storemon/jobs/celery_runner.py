"""The distributed runner: report jobs as Celery tasks on a broker (Redis by
default), run by ``storemon worker`` processes on any machine that reaches
the same database and broker."""

from __future__ import annotations

from functools import lru_cache

from celery import Celery

from storemon.jobs.runner import ReportRunner

TASK_NAME = "storemon.run_report"


@lru_cache(maxsize=4)
def celery_app(broker_url: str) -> Celery:
    app = Celery("storemon", broker=broker_url)
    app.conf.update(
        task_acks_late=True,  # a worker that dies mid-report leaves the task queued
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
    )

    @app.task(name=TASK_NAME)
    def run_report(database_url: str, report_id: str) -> str:
        from storemon.jobs.report_job import run_report_job

        return run_report_job(database_url, report_id)

    return app


class CeleryRunner(ReportRunner):
    def __init__(self, database_url: str, broker_url: str) -> None:
        self._url = database_url
        self._app = celery_app(broker_url)

    def start(self) -> None:
        pass  # the broker connection opens with the first submit

    def submit(self, report_id: str) -> None:
        self._app.send_task(TASK_NAME, args=(self._url, report_id))

    def shutdown(self) -> None:
        self._app.close()

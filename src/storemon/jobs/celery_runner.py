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

With ``STOREMON_SHARD_STORES`` set, a report over every store is split by
the worker that claims it into shards of that many stores, sent as a group
of ``storemon.run_shard`` tasks that any worker runs (``reports.shards``).
A task carries ids only; the rows go through the database.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from celery import Celery, group

from storemon.reports.runner import ReportRunner

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from storemon.bootstrap import Services
    from storemon.data.reports import ReportRecord
    from storemon.settings import Settings

log = logging.getLogger(__name__)

TASK_NAME = "storemon.run_report"
SHARD_TASK_NAME = "storemon.run_shard"


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

    sender = CelerySender(app)

    # Not shared: a process may hold a sending app too (the worker's
    # sweeper), whose tasks must never replace the worker's own.

    def worker_services() -> Services:
        if services is None:
            raise RuntimeError("this Celery app only sends tasks: start it with services")
        return services

    @app.task(name=TASK_NAME, shared=False)
    def run_report(report_id: str) -> str:
        from storemon.reports.job import run_report
        from storemon.reports.shards import split

        # The engine opens in each worker process at its first report (after
        # the fork), so no connection is shared between processes.
        built = worker_services()
        settings = built.settings
        lease = timedelta(seconds=settings.lease_seconds)

        def in_shards(record: ReportRecord, owner: str) -> bool:
            return split(
                built.engine,
                record,
                owner,
                settings.shard_stores,
                lease,
                sender,
                settings.job_attempts,
            )

        return run_report(built.engine, built.reader, report_id, lease, in_shards)

    @app.task(name=SHARD_TASK_NAME, shared=False)
    def run_shard(report_id: str, number: int) -> str:
        from storemon.reports.shards import run_shard

        built = worker_services()
        settings = built.settings
        lease = timedelta(seconds=settings.lease_seconds)
        return run_shard(
            built.engine, built.reader, report_id, number, lease, settings.job_attempts, sender
        )

    return app


class CelerySender:
    """Sends report and shard tasks on ``app``: what a worker uses to send
    the shards of a report it split, or to send a report again."""

    def __init__(self, app: Celery) -> None:
        self._app = app

    def submit(self, report_id: str) -> None:
        self._app.send_task(TASK_NAME, args=(report_id,))

    def submit_shards(self, report_id: str, numbers: Sequence[int]) -> None:
        tasks = [self._app.signature(SHARD_TASK_NAME, args=(report_id, n)) for n in numbers]
        group(tasks).apply_async()


class CeleryRunner(ReportRunner):
    #: Workers may split reports; this server's sweeper looks after shards.
    runs_shards = True

    def __init__(
        self, broker_url: str, key_prefix: str = "", lease: timedelta = timedelta(seconds=30)
    ) -> None:
        self._app = celery_app(broker_url, key_prefix, lease=lease)
        self._sender = CelerySender(self._app)

    def start(self) -> None:
        pass  # the broker connection opens with the first submit

    def submit(self, report_id: str) -> None:
        self._sender.submit(report_id)

    def submit_shards(self, report_id: str, numbers: Sequence[int]) -> None:
        self._sender.submit_shards(report_id, numbers)

    def check(self) -> None:
        with self._app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1)

    def shutdown(self) -> None:
        self._app.pool.force_close_all()
        self._app.close()


def start_worker_sweeper(services: Services, key_prefix: str = "") -> None:
    """A process beside the ``storemon worker`` doing what a server's
    sweeper does (reports and shards whose lease expired are sent again), so
    that workers alone finish what a lost worker left, with no server
    running. A spawned process, not a thread: the worker forks its pool
    processes, and a fork taken while a thread holds a lock (a driver's, the
    logging module's) leaves the child waiting on it forever. It exits with
    the worker."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    context.Process(
        target=_sweep_forever,
        args=(services.settings, key_prefix, os.getpid()),
        name="storemon lease sweeper",
        daemon=True,
    ).start()


def _sweep_forever(settings: Settings, key_prefix: str, parent: int) -> None:
    import time

    import sqlalchemy as sa

    from storemon.data.database import make_engine
    from storemon.reports.job import sweep_once

    shown = "[%(asctime)s: %(levelname)s/Sweeper] %(message)s"
    logging.basicConfig(level=logging.INFO, format=shown)
    lease = timedelta(seconds=settings.lease_seconds)
    runner = CeleryRunner(settings.celery_broker_url, key_prefix, lease)
    engine: Engine | None = None
    while os.getppid() == parent:
        time.sleep(settings.sweep_interval_seconds)
        try:
            if engine is None:
                engine = make_engine(settings.database_url, poolclass=sa.NullPool)
            queued = sweep_once(engine, settings.job_attempts, runner, lease)
        except Exception as error:  # the database is away: the next round
            log.warning("sweeping for expired leases failed: %s", type(error).__name__)
            continue
        if queued:
            log.info("sent again %d reports or shards whose lease expired", queued)

"""The embedded runner: a small pool of worker processes owned by the server.

Processes, not threads: the report is CPU work, and in its own process it
never holds up the event loop answering ``/get_report`` polls. The pool is
bounded (``report_workers``); how many reports may wait is bounded by the API
(``queue_limit``, counted in the database).

The server holds the leases of the reports waiting in its pool (renewed by
one heartbeat thread); a worker that claims one holds it from then on. Any
number of servers can share a database: each takes over only reports whose
lease expired (``storemon.reports.job.recover``). A worker exits when its
server dies, so a killed server leaves no job running behind its back.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import timedelta
from functools import partial

from sqlalchemy.engine import Engine

from storemon.bootstrap import Services, bootstrap
from storemon.data import reports
from storemon.data.reports import ReportStatus
from storemon.messages import one_line
from storemon.reports.job import run_report
from storemon.reports.lease import Heartbeat, process_owner
from storemon.reports.runner import ReportRunner
from storemon.settings import Settings

log = logging.getLogger(__name__)

#: ``job(settings, report_id)``, run in a worker process; a module-level
#: function, so the spawned process can import it.
Job = Callable[[Settings, str], str]

#: The services of a worker process, built by its first job.
_worker: Services | None = None


def worker_services(settings: Settings) -> Services:
    """This worker process's services (built once, from the server's settings)."""
    global _worker
    if _worker is None:
        _worker = bootstrap(settings)
    return _worker


def run_in_worker(settings: Settings, report_id: str) -> str:
    """The job of a worker process: one report."""
    services = worker_services(settings)
    lease = timedelta(seconds=settings.lease_seconds)
    return run_report(services.engine, services.reader, report_id, lease)


#: How often a worker checks that its server is still there.
PARENT_CHECK_S = 0.5


def _exit_with_parent(parent: int) -> None:
    """Stop this worker process when ``parent`` (its server) dies. Once the
    parent is gone the worker is re-parented, so ``getppid`` changes; the
    report it was running keeps its lease until it expires, and another
    server takes it over."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def _start_worker(parent: int) -> None:
    _exit_with_parent(parent)
    _warm_up()


def _warm_up() -> None:
    # Pay for the heavy imports when the pool starts, not in the first report.
    import storemon.reports.frame
    import storemon.reports.service  # noqa: F401


class InProcessRunner(ReportRunner):
    """Runs each job in a pool of ``workers`` spawned processes.

    A worker that dies (killed, out of memory, ``os._exit``) breaks the whole
    pool: Python stops its other workers too and fails every job it held. The
    pool is then replaced; each report it held goes back to the queue, or is
    marked Failed once it has used up ``max_attempts`` starts, the same rule
    as recovery at start-up.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        workers: int = 1,
        max_attempts: int = 3,
        job: Job = run_in_worker,
    ) -> None:
        self._settings = settings
        self._engine = engine
        self._workers = workers
        self._max_attempts = max_attempts
        self._job = job
        self._pool: ProcessPoolExecutor | None = None
        self._closed = False
        # Broken pools a report was caught in before its job could claim it:
        # a pool that breaks before any job starts must not loop forever.
        self._breaks: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.queue_owner: str = process_owner()
        self._lease = timedelta(seconds=settings.lease_seconds)
        # Reports submitted to the pool and not yet finished: this process
        # renews their leases while they wait (a worker renews its own).
        self._held: Counter[str] = Counter()
        self._heartbeat: Heartbeat | None = None

    def start(self) -> None:
        with self._lock:
            self._closed = False
            if self._pool is None:
                self._pool = self._new_pool()
            if self._heartbeat is None:
                self._heartbeat = Heartbeat(
                    self._engine, self.queue_owner, self._lease, self._held_ids
                ).start()

    def _held_ids(self) -> list[str]:
        with self._lock:
            return list(self._held)

    def _new_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )
        # Start a worker now so the first report does not wait for it.
        pool.submit(_warm_up)
        return pool

    def submit(self, report_id: str) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the report runner is shut down")
            if self._pool is None:
                self._pool = self._new_pool()
            pool = self._pool
            try:
                future = pool.submit(self._job, self._settings, report_id)
            except BrokenProcessPool:
                pool = self._pool = self._new_pool()
                future = pool.submit(self._job, self._settings, report_id)
            self._held[report_id] += 1
        future.add_done_callback(partial(self._finished, report_id, pool))

    def _finished(self, report_id: str, pool: ProcessPoolExecutor, future: Future[str]) -> None:
        # Runs in the pool's management thread once the job is done.
        with self._lock:
            self._held[report_id] -= 1
            if self._held[report_id] <= 0:
                del self._held[report_id]
        if future.cancelled():
            return  # shut down before it started: Pending until its lease expires
        error = future.exception()
        if error is None:
            self._breaks.pop(report_id, None)
            return
        try:
            if isinstance(error, BrokenProcessPool):
                self._replace(pool)
                self._orphaned(report_id)
            else:
                # The job raised outside the report's own work: the database
                # stayed away beyond the job's retries. The report keeps the
                # worker's lease until it expires; a sweeper then queues it
                # again (here or in another server).
                log.error("report %s: job failed: %s", report_id, one_line(error))
        except Exception:
            log.exception("report %s: could not record how its job ended", report_id)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken and not self._closed:
                self._pool = self._new_pool()

    def _orphaned(self, report_id: str) -> None:
        self._breaks[report_id] += 1
        with reports.read_then_write(self._engine) as connection:
            record = reports.get(connection, report_id)
            if record is None or record.status not in reports.UNFINISHED:
                return  # finished or deleted before the pool broke
            started = record.status is ReportStatus.running
            attempts, limit = record.attempts, self._max_attempts
            if attempts >= limit or self._breaks[report_id] > limit:
                what = "the worker process running it died" if started else "the worker pool broke"
                reports.fail(connection, report_id, f"{what} ({attempts} of {limit} attempts)")
                log.error("report %s failed: %s", report_id, what)
                self._breaks.pop(report_id, None)
                return
            reports.requeue(connection, report_id, self.queue_owner, self._lease)
        log.warning("report %s: worker pool broke, queued again", report_id)
        with self._lock:
            if self._closed:
                return  # still Pending: taken over once its lease expires
        self.submit(report_id)

    def shutdown(self) -> None:
        """Finish the reports the workers have taken (each worker holds at
        most one more than it runs); the rest stay Pending in the database
        and are taken over by a server once their lease expires."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            heartbeat, self._heartbeat = self._heartbeat, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if heartbeat is not None:
            heartbeat.stop()

"""The embedded runner: a small pool of worker processes owned by the server.

Processes, not threads: the report is CPU work, and in its own process it
never holds up the event loop answering ``/get_report`` polls. The pool is
bounded (``report_workers``); how many reports may wait is bounded by the API
(``queue_limit``, counted in the database).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from sqlalchemy.engine import Engine

from storemon.data import reports
from storemon.jobs.report_job import one_line, run_report_job
from storemon.jobs.runner import ReportRunner

log = logging.getLogger(__name__)


def _warm_up() -> None:
    # Pay for the heavy imports when the pool starts, not in the first report.
    import storemon.reports.service  # noqa: F401


class InProcessRunner(ReportRunner):
    def __init__(self, database_url: str, engine: Engine, workers: int = 1) -> None:
        self._url = database_url
        self._engine = engine
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_warm_up,
        )
        # Start the workers now so the first report does not wait for them.
        pool.submit(_warm_up)
        return pool

    def submit(self, report_id: str) -> None:
        with self._lock:
            if self._pool is None:
                self._pool = self._new_pool()
            try:
                future = self._pool.submit(run_report_job, self._url, report_id)
            except BrokenProcessPool:
                self._pool = self._new_pool()
                future = self._pool.submit(run_report_job, self._url, report_id)
        future.add_done_callback(lambda done: self._finished(report_id, done))

    def _finished(self, report_id: str, future: Future[str]) -> None:
        error = future.exception()
        if error is None:
            return
        # The worker died (killed, out of memory) or the job could not even
        # start: record it, so the report does not stay Running.
        log.error("report %s: worker failed: %s", report_id, one_line(error))
        with self._engine.begin() as connection:
            reports.fail(connection, report_id, f"worker failed: {one_line(error)}")
        if isinstance(error, BrokenProcessPool):
            with self._lock:
                if self._pool is not None:
                    self._pool.shutdown(wait=False, cancel_futures=False)
                self._pool = self._new_pool()

    def shutdown(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None

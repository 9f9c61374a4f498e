"""One report job, start to finish, wherever it runs.

The job owns its transactions: claim (Pending -> Running, with a lease)
commits before the work starts, the result (Complete with its frame, or Failed
with the reason) commits in one transaction at the end, and a heartbeat
thread renews the lease in between. A process that dies in between stops
renewing; once the lease expires, ``recover`` (run by every server at start
and periodically) puts the report back in the queue.

The job's database work is tried again, with bounded backoff, after a
dropped connection or an aborted transaction. If the database stays away
longer, the report keeps its lease until it expires and is then recovered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import exc

from storemon.data import reports
from storemon.data.retry import retrying
from storemon.messages import first_line
from storemon.reports.lease import Heartbeat, process_owner

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from storemon.data.snapshot import SnapshotReader
    from storemon.reports.runner import ReportRunner

log = logging.getLogger(__name__)

T = TypeVar("T")

#: How long a lease lasts unless renewed (``STOREMON_LEASE_SECONDS``).
DEFAULT_LEASE = timedelta(seconds=30)

#: The job's database work is tried this often before the job gives up
#: (waits of 0.25, 0.5, 1, 2, 4, 5, 5 s: about 18 s in all).
DB_ATTEMPTS = 8

_DRIVER_MODULES = ("psycopg", "pymysql", "sqlite3", "adbc", "sqlalchemy")


def failure_reason(error: BaseException) -> str:
    """The short reason stored on a failed report, which anyone may read:
    a database error is named by its type only (its text can hold SQL and
    parameters; the server log has it all)."""
    if isinstance(error, exc.DBAPIError):
        return f"database error ({type(error.orig).__name__})"
    if type(error).__module__.split(".")[0] in _DRIVER_MODULES:
        return f"database error ({type(error).__name__})"
    text = first_line(error)
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(error).__name__}: {text}"


def retry_db(work: Callable[[], T], what: str) -> T:
    """``work``, a job's database work, tried again as the module says."""
    return retrying(work, attempts=DB_ATTEMPTS, first_wait_s=0.25, what=what)


#: ``split(record, owner)``: after the claim, hand the report to shards
#: (True) or leave it to be computed whole (False); see ``reports.shards``.
Splitter = Callable[["reports.ReportRecord", str], bool]


def run_report(
    engine: Engine,
    reader: SnapshotReader,
    report_id: str,
    lease: timedelta = DEFAULT_LEASE,
    split: Splitter | None = None,
) -> str:
    """Compute report ``report_id`` (reading through ``reader``) and store
    its frame (writing through ``engine``); returns the final status (or
    "Split" when ``split`` handed it to shards, which finish it).

    Never raises for a failure of the report itself: that is recorded on the
    report. A report someone else already claimed is left alone. Raises when
    the database stays away beyond the retries (the lease then expires and
    the report is recovered).
    """
    from storemon.reports.frame import encode_frame
    from storemon.reports.frames import report_frame_of
    from storemon.reports.service import build_report, request_of

    owner = process_owner()

    def claim() -> tuple[bool, reports.ReportRecord | None]:
        with engine.begin() as connection:
            claimed = reports.claim(connection, report_id, owner, lease)
            return claimed, reports.get(connection, report_id)

    claimed, record = retry_db(claim, f"claiming report {report_id}")
    if record is None:
        return "Missing"
    if not claimed:
        return record.status.value
    started = time.perf_counter()
    with Heartbeat(engine, owner, lease, lambda: [report_id]):
        try:
            if split is not None and split(record, owner):
                return "Split"
            request = request_of(record.params)
            built = retry_db(
                lambda: build_report(reader, request), f"reading for report {report_id}"
            )
            frame = encode_frame(report_frame_of(built.report, request))
        except Exception as error:  # recorded on the report, not lost
            log.exception("report %s failed", report_id)
            reason = failure_reason(error)

            def fail() -> None:
                with engine.begin() as connection:
                    reports.fail(connection, report_id, reason)

            retry_db(fail, f"failing report {report_id}")
            return reports.ReportStatus.failed.value

        def complete() -> bool:
            with engine.begin() as connection:
                return reports.complete(
                    connection,
                    report_id,
                    frame,
                    len(built.report),
                    built.now_us,
                    built.state.version,
                )

        stored = retry_db(complete, f"storing report {report_id}")
    log.info(
        "report %s: %d stores in %.2f s",
        report_id,
        len(built.report),
        time.perf_counter() - started,
    )
    return reports.ReportStatus.complete.value if stored else "Gone"


def recover(
    engine: Engine,
    max_attempts: int,
    submit: Callable[[str], None],
    owner: str | None = None,
    lease: timedelta = DEFAULT_LEASE,
) -> int:
    """Reports whose lease expired (their holder went away) go back to the
    queue, held by ``owner`` (the process that queues them: an in-process
    server; None under Celery, where the broker holds them), or are marked
    Failed once they used up their attempts. A report another process still
    holds is left alone, and of several servers sweeping at once exactly one
    takes each report. Returns how many were queued."""
    now = datetime.now(UTC)
    with reports.read_then_write(engine) as connection:
        queued = []
        for record in reports.expired(connection, now):
            if record.attempts >= max_attempts:
                reports.fail(
                    connection,
                    record.id,
                    f"gave up after {record.attempts} attempts: the process running it stopped",
                    only_expired=True,
                )
            elif reports.requeue(connection, record.id, owner, lease, only_expired=True):
                queued.append(record.id)
    for report_id in queued:  # queue only after the commit
        try:
            submit(report_id)
        except Exception as error:  # a broker that is down: the lease expires, next sweep
            log.error("report %s: could not queue it again: %s", report_id, failure_reason(error))
    return len(queued)


def sweep_once(engine: Engine, max_attempts: int, runner: ReportRunner, lease: timedelta) -> int:
    """One round of every sweeper: reports whose lease expired, and (with a
    runner that runs reports in shards) shards whose lease expired. Returns
    how many were queued again."""
    queued = recover(engine, max_attempts, runner.submit, runner.queue_owner, lease)
    if runner.runs_shards:
        from storemon.reports.shards import recover_shards

        queued += recover_shards(engine, max_attempts, runner, lease)
    return queued

"""Triggering reports: reuse what is already computed, bound the queue, and
queue a job only after its row is committed.

Triggers take the report queue's lock row first, so under any concurrency
equal triggers make one report and the queue never passes its limit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.engine import Engine

from storemon.data import reports
from storemon.data.reports import ReportParams, ReportRecord
from storemon.data.retry import retrying
from storemon.reports.job import DEFAULT_LEASE, failure_reason
from storemon.reports.runner import ReportRunner


class QueueFullError(Exception):
    """Too many reports are queued or running; try again shortly."""


class QueueUnavailableError(Exception):
    """The job could not be queued (say, the broker is down); the report was
    marked Failed."""


@dataclass(frozen=True)
class Triggered:
    record: ReportRecord
    #: True when an equal report (same parameters, same data) was returned
    #: instead of computing a new one.
    reused: bool


def trigger_report(
    engine: Engine,
    runner: ReportRunner,
    params: ReportParams,
    queue_limit: int,
    lease: timedelta = DEFAULT_LEASE,
) -> Triggered:
    """The report for ``params`` on the data as it is now: an equal one that
    is queued, running or complete on this data version, else a new one,
    held by the runner's queue for ``lease`` and queued once its row is
    committed. Raises :class:`QueueFullError` when ``queue_limit`` reports
    are already queued or running."""

    def find_or_create() -> Triggered:
        with reports.read_then_write(engine) as connection:
            reports.lock_report_queue(connection)
            version = reports.data_version(connection)
            same = reports.find_same(connection, params, version)
            if same is not None:
                return Triggered(same, reused=True)
            if reports.count_unfinished(connection) >= queue_limit:
                raise QueueFullError(
                    f"{queue_limit} reports are already queued or running; try again shortly"
                )
            record = reports.create(connection, params, version, runner.queue_owner, lease)
            return Triggered(record, reused=False)

    triggered = retrying(find_or_create, what="triggering a report")
    if triggered.reused:
        return triggered
    record = triggered.record
    try:
        runner.submit(record.id)
    except Exception as error:
        reason = f"could not queue the report: {failure_reason(error)}"
        with engine.begin() as connection:
            reports.fail(connection, record.id, reason)
        raise QueueUnavailableError(reason) from error
    return Triggered(record, reused=False)

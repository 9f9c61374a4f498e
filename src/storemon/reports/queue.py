"""Triggering reports: reuse what is already computed, bound the queue, and
queue a job only after its row is committed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from storemon.data import reports
from storemon.data.reports import ReportParams, ReportRecord
from storemon.messages import one_line
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
    engine: Engine, runner: ReportRunner, params: ReportParams, queue_limit: int
) -> Triggered:
    """The report for ``params`` on the data as it is now: an equal one that
    is queued, running or complete on this data version, else a new one,
    queued once its row is committed. Raises :class:`QueueFullError` when
    ``queue_limit`` reports are already queued or running."""
    with reports.read_then_write(engine) as connection:
        version = reports.data_version(connection)
        same = reports.find_same(connection, params, version)
        if same is not None:
            return Triggered(same, reused=True)
        if reports.count_unfinished(connection) >= queue_limit:
            raise QueueFullError(
                f"{queue_limit} reports are already queued or running; try again shortly"
            )
        record = reports.create(connection, params, version)
    try:
        runner.submit(record.id)
    except Exception as error:
        reason = f"could not queue the report: {one_line(error)}"
        with engine.begin() as connection:
            reports.fail(connection, record.id, reason)
        raise QueueUnavailableError(reason) from error
    return Triggered(record, reused=False)

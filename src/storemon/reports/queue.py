"""Triggering reports: reuse what is already computed, bound the queue, and
queue a job only after its row is committed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from storemon.data import reports
from storemon.data.reports import ReportParams, ReportRecord
from storemon.jobs.runner import ReportRunner


class QueueFullError(Exception):
    """Too many reports are queued or running; try again shortly."""


@dataclass(frozen=True)
class Triggered:
    record: ReportRecord
    #: True when an equal report (same parameters, same data) was returned
    #: instead of computing a new one.
    reused: bool


def trigger_report(
    engine: Engine, runner: ReportRunner, params: ReportParams, queue_limit: int
) -> Triggered:
    with engine.begin() as connection:
        same = reports.find_same(connection, params, reports.data_version(connection))
        if same is not None:
            return Triggered(same, reused=True)
        if reports.count_unfinished(connection) >= queue_limit:
            raise QueueFullError(
                f"{queue_limit} reports are already queued or running; try again shortly"
            )
        record = reports.create(connection, params)
    runner.submit(record.id)
    return Triggered(record, reused=False)

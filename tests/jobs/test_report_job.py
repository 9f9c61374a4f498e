"""One report job and the recovery of jobs a process left behind, on the
report rows themselves (every backend)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storemon.data import reports
from storemon.data.reports import ReportParams, ReportRecord, ReportStatus
from storemon.data.schema import reports as reports_table
from storemon.data.snapshot import reader_for
from storemon.reports.job import recover, run_report


def new_report(engine: Engine, params: ReportParams | None = None) -> ReportRecord:
    with engine.begin() as connection:
        return reports.create(
            connection, params or ReportParams(), reports.data_version(connection)
        )


def current(engine: Engine, report_id: str) -> ReportRecord:
    with engine.connect() as connection:
        record = reports.get(connection, report_id)
    assert record is not None
    return record


def claimed(engine: Engine, report_id: str, times: int = 1) -> None:
    with engine.begin() as connection:
        for _ in range(times):
            reports.requeue(connection, report_id)
            assert reports.claim(connection, report_id)


def test_a_job_completes_its_report_once(database_url: str, engine: Engine) -> None:
    record = new_report(engine)

    assert run_report(engine, reader_for(database_url), record.id) == "Complete"
    assert run_report(engine, reader_for(database_url), record.id) == "Complete"

    done = current(engine, record.id)
    assert done.attempts == 1
    assert done.row_count == 0
    assert done.data_version == record.data_version


def test_a_job_leaves_a_report_someone_else_claimed_alone(
    database_url: str, engine: Engine
) -> None:
    record = new_report(engine)
    claimed(engine, record.id)

    assert run_report(engine, reader_for(database_url), record.id) == "Running"
    assert current(engine, record.id).attempts == 1


def test_a_report_deleted_while_it_runs_stores_nothing(engine: Engine) -> None:
    record = new_report(engine)
    claimed(engine, record.id)
    with engine.begin() as connection:
        reports.delete(connection, [record.id])
        stored = reports.complete(connection, record.id, b"csv\n", 0, 0, 1)
        assert not stored
        assert reports.read_frame(connection, record.id) is None


def test_a_job_for_a_missing_report_does_nothing(database_url: str, engine: Engine) -> None:
    assert run_report(engine, reader_for(database_url), "0" * 32) == "Missing"


def test_recovery_queues_orphans_again_and_fails_those_out_of_attempts(engine: Engine) -> None:
    pending, running, exhausted, done = (new_report(engine) for _ in range(4))
    claimed(engine, running.id)
    claimed(engine, exhausted.id, times=3)
    claimed(engine, done.id)
    with engine.begin() as connection:
        reports.fail(connection, done.id, "finished before")
    submitted: list[str] = []

    assert recover(engine, 3, submitted.append) == 2

    assert sorted(submitted) == sorted([pending.id, running.id])
    assert current(engine, running.id).status is ReportStatus.pending
    gave_up = current(engine, exhausted.id)
    assert gave_up.status is ReportStatus.failed
    assert gave_up.error == "gave up after 3 attempts: the process running it stopped"
    assert current(engine, done.id).error == "finished before"


def test_recovery_with_an_age_leaves_younger_reports_to_their_workers(engine: Engine) -> None:
    young, old = new_report(engine), new_report(engine)
    claimed(engine, young.id)
    claimed(engine, old.id)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with engine.begin() as connection:
        connection.execute(
            sa.update(reports_table)
            .where(reports_table.c.id == old.id)
            .values(started_at=an_hour_ago)
        )
    submitted: list[str] = []

    recover(engine, 3, submitted.append, running_for=timedelta(minutes=15))

    assert submitted == [old.id]
    assert current(engine, young.id).status is ReportStatus.running


def test_prune_deletes_only_reports_finished_before_the_retention(engine: Engine) -> None:
    old, recent, unfinished = new_report(engine), new_report(engine), new_report(engine)
    for record in (old, recent):
        claimed(engine, record.id)
        with engine.begin() as connection:
            reports.complete(connection, record.id, b"x\n", 0, 0, 0)
    with engine.begin() as connection:
        long_ago = datetime.now(UTC) - timedelta(days=40)
        connection.execute(
            sa.update(reports_table)
            .where(reports_table.c.id == old.id)
            .values(finished_at=long_ago)
        )

    with engine.begin() as connection:
        assert reports.prune(connection, timedelta(days=30)) == 1

    with engine.connect() as connection:
        assert reports.get(connection, old.id) is None
        assert reports.read_frame(connection, old.id) is None
        assert reports.read_frame(connection, recent.id) == b"x\n"
        assert reports.get(connection, unfinished.id) is not None

"""One report job and the recovery of jobs a process left behind, on the
report rows themselves (every backend)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storemon.data import reports
from storemon.data.reports import ReportParams, ReportRecord, ReportStatus
from storemon.data.schema import reports as reports_table
from storemon.data.snapshot import reader_for
from storemon.reports.job import failure_reason, recover, run_report
from storemon.reports.lease import Heartbeat


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


def test_recovery_leaves_reports_whose_lease_is_live_to_their_holder(engine: Engine) -> None:
    live, expired = new_report(engine), new_report(engine)
    with engine.begin() as connection:
        assert reports.claim(connection, live.id, "other:1:a", timedelta(hours=1))
        assert reports.claim(connection, expired.id, "other:1:a", timedelta(0))
    submitted: list[str] = []

    recover(engine, 3, submitted.append, "me:2:b", timedelta(minutes=1))

    assert submitted == [expired.id]
    assert current(engine, live.id).status is ReportStatus.running
    taken = current(engine, expired.id)
    assert taken.status is ReportStatus.pending
    assert taken.lease_owner == "me:2:b"
    assert taken.lease_expires_at is not None
    assert taken.lease_expires_at > datetime.now(UTC) + timedelta(seconds=50)


def test_of_two_sweepers_only_one_takes_an_expired_report(engine: Engine) -> None:
    record = new_report(engine)
    first: list[str] = []
    second: list[str] = []

    recover(engine, 3, first.append, "one:1:a", timedelta(minutes=1))
    recover(engine, 3, second.append, "two:2:b", timedelta(minutes=1))

    assert (first, second) == ([record.id], [])
    assert current(engine, record.id).lease_owner == "one:1:a"


def test_a_heartbeat_keeps_the_lease_of_a_running_report(engine: Engine) -> None:
    record = new_report(engine)
    lease = timedelta(seconds=0.6)
    with engine.begin() as connection:
        reports.claim(connection, record.id, "me:1:a", lease)

    with Heartbeat(engine, "me:1:a", lease, lambda: [record.id]):
        time.sleep(1.5)
        with engine.connect() as connection:
            assert reports.expired(connection) == []

    time.sleep(0.7)
    with engine.connect() as connection:
        assert [r.id for r in reports.expired(connection)] == [record.id]


def test_a_heartbeat_does_not_renew_a_lease_taken_over_by_another_process(
    engine: Engine,
) -> None:
    record = new_report(engine)
    with engine.begin() as connection:
        reports.claim(connection, record.id, "dead:1:a", timedelta(0))
        assert reports.requeue(
            connection, record.id, "alive:2:b", timedelta(seconds=5), only_expired=True
        )
        assert reports.renew(connection, "dead:1:a", timedelta(hours=1), [record.id]) == 0

    assert current(engine, record.id).lease_owner == "alive:2:b"


def test_the_reason_stored_for_a_database_failure_holds_no_sql_or_parameters() -> None:
    error = sa.exc.OperationalError(
        "SELECT secret FROM polls WHERE store_id = %(id)s", {"id": "s3cr3t"}, OSError("gone")
    )

    assert failure_reason(error) == "database error (OSError)"
    assert failure_reason(ValueError("year 10000 is out of range")) == (
        "ValueError: year 10000 is out of range"
    )
    assert len(failure_reason(ValueError("x" * 5000))) < 250


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

"""The process-pool runner: real spawned workers on a real database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.engine import Engine

from storemon.data import reports
from storemon.data.reports import ReportParams, ReportRecord, ReportStatus
from storemon.jobs.inprocess import InProcessRunner
from storemon.reports.frame import decode_frame
from storemon.reports.rendering import render_csv
from storemon.settings import Settings

from .jobs_for_tests import DIE, SLOW, dies_on_request

TIMEOUT_S = 30


@contextmanager
def pool(url: str, engine: Engine, max_attempts: int = 1) -> Iterator[InProcessRunner]:
    settings = Settings(database_url=url)
    runner = InProcessRunner(
        settings, engine, workers=1, max_attempts=max_attempts, job=dies_on_request
    )
    runner.start()
    try:
        yield runner
    finally:
        runner.shutdown()


def queued(engine: Engine, runner: InProcessRunner, *store_ids: str) -> str:
    params = ReportParams(store_ids=tuple(store_ids) or None)
    with engine.begin() as connection:
        record = reports.create(connection, params, reports.data_version(connection))
    runner.submit(record.id)
    return record.id


def finished(engine: Engine, report_id: str) -> ReportRecord:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        with engine.connect() as connection:
            record = reports.get(connection, report_id)
        assert record is not None
        if record.status not in reports.UNFINISHED:
            return record
        assert time.monotonic() < deadline, f"report {report_id} is still {record.status}"
        time.sleep(0.05)


def test_the_pool_computes_a_report(database_url: str, engine: Engine) -> None:
    with pool(database_url, engine) as runner:
        record = finished(engine, queued(engine, runner))

    assert record.status is ReportStatus.complete
    with engine.connect() as connection:
        stored = reports.read_frame(connection, record.id)
        assert stored is not None
        assert render_csv(decode_frame(stored)) == (
            b"store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
            b"downtime_last_hour,downtime_last_day,downtime_last_week\n"
        )


def test_a_worker_dying_mid_job_fails_the_report_and_the_pool_keeps_working(
    database_url: str, engine: Engine
) -> None:
    with pool(database_url, engine, max_attempts=1) as runner:
        died = finished(engine, queued(engine, runner, DIE))
        after = finished(engine, queued(engine, runner))

    assert died.status is ReportStatus.failed
    assert died.error == "the worker process running it died (1 of 1 attempts)"
    assert after.status is ReportStatus.complete


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_report_whose_worker_died_is_tried_again_until_its_attempts_run_out(
    database_url: str, engine: Engine
) -> None:
    with pool(database_url, engine, max_attempts=3) as runner:
        died = finished(engine, queued(engine, runner, DIE))

    assert died.status is ReportStatus.failed
    assert died.attempts == 3
    assert died.error == "the worker process running it died (3 of 3 attempts)"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_reports_queued_behind_a_dying_one_still_run(database_url: str, engine: Engine) -> None:
    with pool(database_url, engine, max_attempts=1) as runner:
        doomed = queued(engine, runner, DIE)
        behind = [queued(engine, runner, str(n)) for n in range(3)]
        results = [finished(engine, report_id) for report_id in (doomed, *behind)]

    assert [r.status for r in results] == [ReportStatus.failed] + [ReportStatus.complete] * 3
    assert [r.attempts for r in results[1:]] == [1, 1, 1]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_shutdown_finishes_started_reports_and_leaves_the_rest_pending(
    database_url: str, engine: Engine
) -> None:
    with pool(database_url, engine) as runner:
        running = queued(engine, runner, SLOW)
        waiting = [queued(engine, runner, str(n)) for n in range(5)]
        deadline = time.monotonic() + TIMEOUT_S
        while _status(engine, running) is ReportStatus.pending:
            assert time.monotonic() < deadline
            time.sleep(0.02)

    after = [_status(engine, report_id) for report_id in waiting]
    assert _status(engine, running) is ReportStatus.complete
    # Python hands a worker its next job early; that one runs, the rest wait.
    assert ReportStatus.running not in after
    assert after[-1] is ReportStatus.pending
    with pytest.raises(RuntimeError, match="shut down"):
        runner.submit(waiting[-1])


def _status(engine: Engine, report_id: str) -> ReportStatus:
    with engine.connect() as connection:
        record = reports.get(connection, report_id)
    assert record is not None
    return record.status


_SERVER = """
import sys, time
from storemon.data.database import make_engine
from storemon.jobs.inprocess import InProcessRunner
from storemon.settings import Settings

url = sys.argv[1]
runner = InProcessRunner(Settings(database_url=url), make_engine(url), workers=1)
runner.start()
pool = runner._pool
while not pool._processes:
    time.sleep(0.05)
print(" ".join(str(pid) for pid in pool._processes), flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_pool_workers_exit_when_their_server_is_killed(database_url: str) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _SERVER, database_url], stdout=subprocess.PIPE, text=True
    ) as server:
        try:
            assert server.stdout is not None
            workers = [int(pid) for pid in server.stdout.readline().split()]
            assert len(workers) == 1 and all(_alive(pid) for pid in workers)
        finally:
            server.kill()

    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "a worker outlived its server"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: it only waits for its parent to read its status.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"

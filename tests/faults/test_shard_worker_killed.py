"""A Celery worker killed (kill -9, the whole worker) while it runs a shard
of a report: the shard's lease expires, a sweeper (here the other worker's:
no server runs) sends it again, the other worker takes it over, and the
report assembled is still exactly the report computed whole."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from jobs.workers import REDIS_URL, storemon_worker, worker_env
from reports.shard_data import new_report, whole
from storemon.data import reports, shards
from storemon.ingest.service import ingest_feed
from storemon.jobs.celery_runner import CeleryRunner
from storemon.reports.service import ReportRequest
from storemon.sample_feeds import write_sample

from .test_many_servers import QUICK


def _load_sample(engine: Engine, folder: Path) -> None:
    write_sample(folder)
    for feed, name in (
        ("timezones", "timezones.csv"),
        ("hours", "menu_hours.csv"),
        ("status", "store_status.csv"),
    ):
        ingest_feed(engine, feed, folder / name)


@pytest.mark.slow  # loading the 1.8 M-poll sample data set makes shards slow enough to kill
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_killed_mid_shard_leaves_the_shard_to_another_worker(
    database_url: str, engine: Engine, key_prefix: str, tmp_path: Path
) -> None:
    _load_sample(engine, tmp_path / "sample")
    env = worker_env(database_url, key_prefix, STOREMON_SHARD_STORES="5000", **QUICK)
    runner = CeleryRunner(REDIS_URL, key_prefix, timedelta(seconds=3))
    request = ReportRequest()
    report_id = new_report(database_url, request)
    with storemon_worker(env, tmp_path / "doomed.log") as doomed:
        runner.submit(report_id)
        deadline = time.monotonic() + 60
        while not (running := _running(engine, report_id)):
            assert time.monotonic() < deadline, (tmp_path / "doomed.log").read_text()
            time.sleep(0.005)
        os.killpg(doomed.pid, signal.SIGKILL)
    killed = time.monotonic()
    victim = running[0]
    seen: dict[int, tuple[int, str | None]] = {}
    with storemon_worker(env, tmp_path / "survivor.log"):
        while True:
            with engine.connect() as connection:
                record = reports.get(connection, report_id)
                for shard in shards.of_report(connection, report_id):
                    if shard.lease_owner is not None:
                        seen[shard.shard] = (shard.attempts, shard.lease_owner)
            assert record is not None
            if record.status not in reports.UNFINISHED:
                break
            assert time.monotonic() - killed < 60, (tmp_path / "survivor.log").read_text()
            time.sleep(0.02)
    took = time.monotonic() - killed
    runner.shutdown()

    assert record.status is reports.ReportStatus.complete, record.error
    attempts, owner = seen[victim.shard]
    assert attempts == 2
    assert owner != victim.lease_owner
    with engine.connect() as connection:
        assert reports.read_frame(connection, report_id) == whole(database_url, request)[0]
    assert took < 60


def _running(engine: Engine, report_id: str) -> list[shards.ShardRecord]:
    with engine.connect() as connection:
        return [s for s in shards.of_report(connection, report_id) if s.status == shards.RUNNING]

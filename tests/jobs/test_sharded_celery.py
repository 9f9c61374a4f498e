"""One report over several real ``storemon worker`` processes (Celery on
Redis), on every database: split into shards, run by any of the workers,
assembled into exactly the report computed whole in one process."""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from reports.shard_data import REQUESTS, load_shard_data, new_report, whole
from storemon.data import reports
from storemon.jobs.celery_runner import CeleryRunner

from .workers import REDIS_URL, storemon_worker, worker_env

TIMEOUT_S = 60
WORKERS = 3


def finished(engine: Engine, report_id: str, logs: list[Path]) -> reports.ReportRecord:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        with engine.connect() as connection:
            record = reports.get(connection, report_id)
        assert record is not None
        if record.status not in reports.UNFINISHED:
            return record
        if time.monotonic() > deadline:
            raise AssertionError("\n".join(log.read_text()[-3000:] for log in logs))
        time.sleep(0.05)


def test_a_report_split_over_three_workers_is_the_whole_report_byte_for_byte(
    database_url: str, engine: Engine, key_prefix: str, tmp_path: Path
) -> None:
    load_shard_data(database_url, tmp_path)
    env = worker_env(database_url, key_prefix, STOREMON_SHARD_STORES="4")
    logs = [tmp_path / f"worker-{n}.log" for n in range(WORKERS)]
    runner = CeleryRunner(REDIS_URL, key_prefix, timedelta(seconds=30))
    with ExitStack() as stack:
        for log in logs:
            stack.enter_context(storemon_worker(env, log))
        for name, request in REQUESTS.items():
            report_id = new_report(database_url, request)
            runner.submit(report_id)
            record = finished(engine, report_id, logs)
            assert record.status is reports.ReportStatus.complete, (name, record.error)
            with engine.connect() as connection:
                frame = reports.read_frame(connection, report_id)
            assert frame == whole(database_url, request)[0], name
        runner.shutdown()

    texts = [log.read_text() for log in logs]
    sharded = sum(1 for request in REQUESTS.values() if request.store_ids is None)
    assert sum(text.count("split into 8 shards") for text in texts) == sharded
    assert sum(text.count(": assembled,") for text in texts) == sharded
    # The shards ran on more than one worker.
    assert sum(1 for text in texts if "staged in" in text or "assembled in" in text) >= 2

"""A Celery worker killed (kill -9, the whole worker) mid-report: the
report's lease expires, the server's sweeper sends it again, and another
worker finishes it; on every database (the broker is Redis)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from cli.test_serve import poll_until_done, running
from jobs.workers import storemon_worker, worker_env

from .test_many_servers import QUICK, _row


def test_a_celery_worker_killed_mid_report_leaves_it_to_another_worker(
    database_url: str,
    key_prefix: str,
    tmp_path: Path,
) -> None:
    env = worker_env(database_url, key_prefix, **QUICK)
    with running(tmp_path, "demo", env=env) as server:
        for minute in range(5):
            with storemon_worker(env, tmp_path / f"worker-{minute}.log", "WARNING") as doomed:
                as_of = f"2023-01-25 18:{minute:02}:00"
                report_id = server.post("/trigger_report", {"as_of": as_of})["report_id"]
                while (state := _row(database_url, report_id))[0] == "Pending":
                    time.sleep(0.005)
                os.killpg(doomed.pid, signal.SIGKILL)
            if state[0] == "Running":
                break
        else:
            raise AssertionError("every report finished before the kill: use more data")
        killed = time.monotonic()
        with storemon_worker(env, tmp_path / "worker-after.log", "WARNING"):
            headers, _ = poll_until_done(server, report_id)
        took = time.monotonic() - killed

    assert headers["X-Report-Status"] == "Complete"
    assert took < 60

"""Two ``storemon serve`` processes on one database: kill -9 of the one
running a report (server and workers) gets the report finished by the
other within the lease."""

from __future__ import annotations

import json
import time
from pathlib import Path

import sqlalchemy as sa

from cli.test_serve import poll_until_done, running
from storemon.data.database import make_engine
from storemon.data.schema import reports

from .conftest import SERVERS

#: A short lease and sweep, so the test takes seconds.
QUICK = {"STOREMON_LEASE_SECONDS": "3", "STOREMON_SWEEP_INTERVAL_SECONDS": "0.5"}


def _row(url: str, report_id: str) -> tuple[str, str | None]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            row = connection.execute(
                sa.select(reports.c.status, reports.c.lease_owner).where(reports.c.id == report_id)
            ).one()
    finally:
        engine.dispose()
    return row.status, row.lease_owner


@SERVERS
def test_kill_9_of_a_server_mid_report_gets_it_finished_by_the_other(
    database_url: str, tmp_path: Path
) -> None:
    env = {**QUICK, "STOREMON_DATABASE_URL": database_url}
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    with running(second_dir, "serve", env=env) as second:
        for minute in range(5):
            with running(first_dir, "demo", env=env) as first:
                as_of = f"2023-01-25 18:{minute:02}:00"
                report_id = first.post("/trigger_report", {"as_of": as_of})["report_id"]
                while (state := _row(database_url, report_id))[0] == "Pending":
                    time.sleep(0.005)
                first.kill()
            if state[0] == "Running":
                break
        else:
            raise AssertionError("every report finished before the kill: use more data")
        killed = time.monotonic()
        headers, _ = poll_until_done(second, report_id)
        took = time.monotonic() - killed
        info = json.loads(second.get(f"/reports/{report_id}")[2])

    assert headers["X-Report-Status"] == "Complete"
    assert info["attempts"] == 2
    assert took < 30

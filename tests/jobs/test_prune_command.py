"""``storemon reports prune``: the retention of finished reports."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storemon.data import reports
from storemon.data.schema import reports as reports_table

STOREMON = str(Path(sys.executable).with_name("storemon"))


def finished_days_ago(engine: Engine, days: float) -> str:
    with engine.begin() as connection:
        record = reports.create(connection, reports.ReportParams(), 0)
        reports.fail(connection, record.id, "for the test")
        moment = datetime.now(UTC) - timedelta(days=days)
        connection.execute(
            sa.update(reports_table)
            .where(reports_table.c.id == record.id)
            .values(finished_at=moment)
        )
    return record.id


def prune(url: str, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [STOREMON, "reports", "prune", "--db", url, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_prune_deletes_reports_finished_before_the_retention(
    database_url: str, engine: Engine
) -> None:
    ancient, old, recent = (finished_days_ago(engine, days) for days in (40, 12, 1))

    by_default = prune(database_url, env={"STOREMON_REPORT_RETENTION_DAYS": "30"})
    by_flag = prune(database_url, "--older-than-days", "10")

    assert by_default == "1 report deleted (finished more than 30 days ago)"
    assert by_flag == "1 report deleted (finished more than 10 days ago)"
    with engine.connect() as connection:
        assert [reports.get(connection, i) is None for i in (ancient, old, recent)] == [
            True,
            True,
            False,
        ]

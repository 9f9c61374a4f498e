"""``storemon polls prune`` and what a report says about pruned history,
on the command line and through the API."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.api.fixtures_ops import api_client, load, us

from storemon.data.database import make_engine
from storemon.data.retention import prune_polls, retained_from_us

STOREMON = str(Path(sys.executable).with_name("storemon"))
ROWS = [("s", f"2023-{month:02d}-01 12:00", True) for month in range(1, 6)]


def storemon(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREMON_")}
    return subprocess.run(
        [STOREMON, "--db", url, *args], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_polls_prune_deletes_old_polls_and_a_report_before_the_horizon_fails_in_one_line(
    database_url: str, tmp_path: Path
) -> None:
    load(database_url, "status", ROWS)

    pruned = storemon(database_url, "polls", "prune", "--keep-days", "40")
    refused = storemon(database_url, "report", "--out", str(tmp_path / "r.csv"), "--as-of",
                       "2023-03-05 00:00:00")
    allowed = storemon(database_url, "report", "--out", str(tmp_path / "r.csv"), "--as-of",
                       "2023-04-15 00:00:00")

    assert pruned.returncode == 0, pruned.stderr
    # Of the polls before 2023-03-22 12:00, the one of 2023-03-01 stays.
    assert pruned.stdout.strip() == "2 polls deleted (before 2023-03-22 12:00:00 UTC)"
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error: polls before 2023-03-22 12:00:00 UTC have been deleted (retention): "
        "nothing can be computed from 2023-02-26 00:00:00 UTC"
    ]
    assert allowed.returncode == 0, allowed.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_polls_prune_refuses_a_retention_shorter_than_the_report_week(database_url: str) -> None:
    done = storemon(database_url, "polls", "prune", "--keep-days", "3")

    assert done.returncode == 2
    assert "--keep-days" in done.stderr


def _prune(url: str, keep_days: float) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            prune_polls(connection, keep_days)
    finally:
        engine.dispose()


def _horizon(url: str) -> int | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return retained_from_us(connection)
    finally:
        engine.dispose()


def test_the_server_prunes_polls_when_it_starts(database_url: str) -> None:
    load(database_url, "status", ROWS)

    with api_client(database_url, poll_retention_days=40):
        deadline = time.monotonic() + 20
        while _horizon(database_url) is None and time.monotonic() < deadline:
            time.sleep(0.05)

    assert _horizon(database_url) == us("2023-03-22 12:00")


def test_the_api_refuses_reports_and_time_lines_before_the_horizon(database_url: str) -> None:
    load(database_url, "status", ROWS)
    _prune(database_url, 40)
    with api_client(database_url, poll_prune_interval_hours=0) as client:
        old = client.post("/trigger_report", json={"as_of": "2023-03-05T00:00:00Z"})
        recent = client.post("/trigger_report", json={"as_of": "2023-04-15T00:00:00Z"})
        line = client.get("/stores/s/timeline", params={"start": "2023-03-10T00:00:00Z"})

    assert old.status_code == 422
    assert "have been deleted (retention)" in old.json()["error"]
    assert recent.status_code == 200
    assert line.status_code == 422


def test_the_api_refuses_daily_reports_and_outages_before_the_horizon(
    database_url: str,
) -> None:
    load(database_url, "status", ROWS)
    _prune(database_url, 40)
    with api_client(database_url, poll_prune_interval_hours=0) as client:
        old_daily = client.post(
            "/trigger_report", json={"kind": "daily", "from": "2023-03-20", "to": "2023-04-02"}
        )
        daily = client.post(
            "/trigger_report", json={"kind": "daily", "from": "2023-03-25", "to": "2023-04-02"}
        )
        old_outages = client.get("/outages", params={"from": "2023-03-01T00:00:00Z"})
        outages = client.get("/outages")

    assert old_daily.status_code == 422
    assert old_daily.json()["error"].startswith("from: polls before 2023-03-22 12:00:00 UTC")
    assert daily.status_code == 200
    assert old_outages.status_code == 422
    assert "have been deleted (retention)" in old_outages.json()["error"]
    assert outages.status_code == 200

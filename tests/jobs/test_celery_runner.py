"""The Celery runner with a real Redis broker and a real ``storemon worker``.

Every Redis key of a test run sits under its own prefix, deleted afterwards.
An unreachable Redis skips these tests, except under ``CI``, where it fails.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from storemon.api.app import create_app
from storemon.data.database import make_engine
from storemon.data.snapshot import reader_for
from storemon.ingest.service import ingest_feed
from storemon.reports.frame import uptime_frame
from storemon.reports.rendering import render_csv
from storemon.reports.service import ReportRequest, build_report
from storemon.settings import Settings

from .workers import REDIS_URL, storemon_worker, worker_env

TIMEOUT_S = 60


@pytest.fixture
def key_prefix() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        client.close()
        message = f"Redis unreachable at {REDIS_URL}: {error}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    prefix = f"storemon-test-{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
        client.close()


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture
def worker(database_url: str, key_prefix: str, tmp_path: Path) -> Iterator[Worker]:
    log = tmp_path / "worker.log"
    with storemon_worker(worker_env(database_url, key_prefix), log, "WARNING") as process:
        yield Worker(process, log)


def load_polls(url: str, folder: Path) -> None:
    status = folder / "status.csv"
    status.write_text(
        "store_id,status,timestamp_utc\n"
        "a,active,2023-01-25 17:00:00\n"
        "a,inactive,2023-01-25 18:00:00\n"
        "b,active,2023-01-25 18:10:00\n"
    )
    engine = make_engine(url)
    try:
        ingest_feed(engine, "status", status)
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_celery_worker_computes_the_triggered_report(
    database_url: str,
    key_prefix: str,
    worker: Worker,
    tmp_path: Path,
) -> None:
    load_polls(database_url, tmp_path)
    settings = Settings(
        database_url=database_url,
        runner="celery",
        celery_broker_url=REDIS_URL,
        celery_key_prefix=key_prefix,
    )
    with TestClient(create_app(settings)) as client:
        report_id = client.post("/trigger_report").json()["report_id"]
        deadline = time.monotonic() + TIMEOUT_S
        while (response := client.get(f"/get_report/{report_id}")).headers["X-Report-Status"] in (
            "Pending",
            "Running",
        ):
            assert worker.process.poll() is None, worker.log.read_text()
            assert time.monotonic() < deadline, worker.log.read_text()
            time.sleep(0.05)

    assert response.headers["X-Report-Status"] == "Complete"
    request = ReportRequest()
    expected = build_report(reader_for(database_url), request)
    assert response.content == render_csv(uptime_frame(expected.report, request))
    assert response.content.count(b"\n") == 3


def test_a_trigger_with_the_broker_down_is_a_503_and_the_report_fails(database_url: str) -> None:
    settings = Settings(
        database_url=database_url,
        runner="celery",
        celery_broker_url="redis://127.0.0.1:1/0",  # nothing listens there
    )
    with TestClient(create_app(settings)) as client:
        refused = client.post("/trigger_report")
        listed = client.get("/reports").json()["items"]

    assert refused.status_code == 503
    assert refused.json()["error"].startswith("could not queue the report: ")
    assert [item["status"] for item in listed] == ["Failed"]
    assert listed[0]["error"] == refused.json()["error"]

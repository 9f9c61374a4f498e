"""The database cut off and restored under a running service: routes answer
JSON 503 with Retry-After while it is away, the service recovers by itself,
a job waits out a short outage, and a report stuck by an outage is finished
once the database is back."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from api.harness import ThreadRunner, running_api, wait_for_report
from storemon.data import reports
from storemon.data.database import make_engine
from storemon.data.reports import ReportParams, ReportStatus
from storemon.data.snapshot import reader_for
from storemon.reports.job import run_report

from .conftest import SERVERS
from .proxy import TcpProxy

STATUS_CSV = b"store_id,status,timestamp_utc\ns1,active,2026-01-01 10:00:00 UTC\n"

DATA_ROUTES = [
    ("GET", "/reports"),
    ("GET", "/reports/0123456789abcdef0123456789abcdef"),
    ("GET", "/get_report/0123456789abcdef0123456789abcdef"),
    ("GET", "/stores"),
    ("GET", "/store_summary/s1"),
    ("GET", "/stores/s1/timeline"),
    ("GET", "/groups"),
    ("POST", "/trigger_report"),
]


@SERVERS
def test_while_the_database_is_cut_every_data_route_answers_json_503_then_recovers(
    database_url: str, proxy: TcpProxy
) -> None:
    url = proxy.proxied(database_url)
    with running_api(url, ThreadRunner(url)) as client:
        loaded = client.post(
            "/ingest/status", content=STATUS_CSV, headers={"Content-Type": "text/csv"}
        )
        assert loaded.status_code == 200, loaded.text
        proxy.cut()
        answers = [client.request(method, path) for method, path in DATA_ROUTES]
        ingest = client.post(
            "/ingest/status", content=STATUS_CSV, headers={"Content-Type": "text/csv"}
        )
        proxy.restore()
        after = [client.request(method, path).status_code for method, path in DATA_ROUTES[:1]]

    for response in [*answers, ingest]:
        assert response.status_code == 503, (response.request.url, response.text)
        assert response.headers["content-type"] == "application/json"
        assert response.headers["retry-after"] == "5"
        assert response.json() == {"error": "the database is unavailable; try again shortly"}
    assert after == [200]


@SERVERS
def test_a_job_waits_out_a_short_outage_and_completes(database_url: str, proxy: TcpProxy) -> None:
    url = proxy.proxied(database_url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            record = reports.create(connection, ReportParams(), reports.data_version(connection))
        proxy.cut()
        result: list[str] = []
        job = threading.Thread(
            target=lambda: result.append(run_report(engine, reader_for(url), record.id))
        )
        job.start()
        time.sleep(1.5)
        proxy.restore()
        job.join(timeout=30)
    finally:
        engine.dispose()

    assert result == ["Complete"]


@SERVERS
def test_a_report_stuck_by_an_outage_finishes_within_a_lease_of_the_database_returning(
    database_url: str, proxy: TcpProxy
) -> None:
    url = proxy.proxied(database_url)
    quick = {"lease_seconds": 3, "sweep_interval_seconds": 0.5}
    with running_api(url, ThreadRunner(url), **quick) as client:
        direct = make_engine(database_url)
        try:
            # A process claimed it, then lost the database and died with it.
            with direct.begin() as connection:
                record = reports.create(connection, ReportParams(), 0)
                reports.claim(connection, record.id, "gone:1:a", timedelta(seconds=3))
        finally:
            direct.dispose()
        proxy.cut()
        time.sleep(4)  # the lease expires while the sweepers cannot reach the database
        proxy.restore()
        returned = time.monotonic()
        done = wait_for_report(client, record.id)
        took = time.monotonic() - returned

    assert done.headers["X-Report-Status"] == ReportStatus.complete.value
    assert took < 5

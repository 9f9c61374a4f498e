"""Liveness, readiness and the Prometheus metrics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from storemon.data import reports
from storemon.data.migrate import HEAD_REVISION
from storemon.data.reports import ReportParams
from storemon.data.schema import reports as reports_table

from .fixtures_ops import api_client, load, sqlite_url


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient]:
    """An API client on every backend."""
    with api_client(database_url) as client:
        yield client


def _samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_health_answers_without_touching_anything(tmp_path: Path) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        client.app.state.container.engine.dispose()  # type: ignore[attr-defined]
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_the_database_is_at_the_current_schema(api: TestClient) -> None:
    response = api.get("/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_not_ready_when_the_schema_is_not_current(api: TestClient) -> None:
    engine = api.app.state.container.engine  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(sa.text("update alembic_version set version_num = '0000'"))
    try:
        response = api.get("/ready")
        assert response.status_code == 503
        assert "'0000'" in response.json()["error"]
    finally:
        with engine.begin() as connection:
            connection.execute(
                sa.text("update alembic_version set version_num = :head"),
                {"head": HEAD_REVISION},
            )


def test_not_ready_when_the_database_is_gone(tmp_path: Path) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        (tmp_path / "storemon.db").unlink()
        response = client.get("/ready")
    assert response.status_code == 503
    assert "error" in response.json()


def test_requests_are_counted_by_route_template_not_raw_path(api: TestClient) -> None:
    api.get("/store_summary/a")
    api.get("/store_summary/b")
    api.get("/no/such/path/123")
    api.get("/no/such/path/456")

    samples = _samples(api)

    route = "/store_summary/{store_id}"
    assert (
        _value(samples, "storemon_http_requests_total", method="GET", route=route, status="404")
        == 2
    )
    assert (
        _value(
            samples,
            "storemon_http_request_duration_seconds_count",
            method="GET",
            route=route,
            status="404",
        )
        == 2
    )
    unmatched = _value(
        samples, "storemon_http_requests_total", method="GET", route="<unmatched>", status="404"
    )
    assert unmatched == 2
    assert not any("/store_summary/a" in str(labels) for _, labels in samples)


def test_report_and_ingest_figures_come_from_the_database(api: TestClient) -> None:
    engine = api.app.state.container.engine  # type: ignore[attr-defined]
    url = api.app.state.container.services.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]
    started = datetime(2023, 1, 25, 12, 0, tzinfo=UTC)
    with engine.begin() as connection:
        ids = [reports.create(connection, ReportParams(as_of_us=i), 0).id for i in range(5)]
        for report_id in ids[1:]:
            assert reports.claim(connection, report_id)
        reports.complete(connection, ids[2], b"csv", 1, 0, 1)
        reports.complete(connection, ids[3], b"csv", 1, 0, 1)
        reports.fail(connection, ids[4], "boom")
        for report_id, seconds in ((ids[2], 2), (ids[3], 45), (ids[4], 0.2)):
            connection.execute(
                sa.update(reports_table)
                .where(reports_table.c.id == report_id)
                .values(started_at=started, finished_at=started + timedelta(seconds=seconds))
            )
    load(url, "status", [("s", "2023-01-25 10:00", True), ("t", "2023-01-25 11:00", False)])
    load(url, "timezones", [("s", "Asia/Tokyo")])

    samples = _samples(api)

    assert _value(samples, "storemon_database_up") == 1
    assert _value(samples, "storemon_reports", status="Pending") == 1
    assert _value(samples, "storemon_reports", status="Running") == 1
    assert _value(samples, "storemon_reports", status="Complete") == 2
    assert _value(samples, "storemon_reports", status="Failed") == 1
    assert _value(samples, "storemon_report_queue_depth") == 2
    histogram = "storemon_report_duration_seconds"
    assert _value(samples, f"{histogram}_count", status="Complete") == 2
    assert _value(samples, f"{histogram}_bucket", status="Complete", le="2.5") == 1
    assert _value(samples, f"{histogram}_bucket", status="Complete", le="60.0") == 2
    assert abs(_value(samples, f"{histogram}_sum", status="Complete") - 47) < 1.01  # type: ignore[operator]
    assert _value(samples, f"{histogram}_count", status="Failed") == 1
    assert _value(samples, "storemon_rows_ingested_total", feed="status") == 2
    assert _value(samples, "storemon_rows_ingested_total", feed="timezones") == 1
    assert _value(samples, "storemon_rows_ingested_total", feed="hours") == 0
    assert _value(samples, "storemon_rows_rejected_total", feed="status") == 0
    assert _value(samples, "storemon_ingests", feed="status", status="complete") == 1
    newest = datetime(2023, 1, 25, 11, 0, tzinfo=UTC).timestamp()
    assert _value(samples, "storemon_newest_poll_timestamp_seconds") == newest


def test_a_scrape_still_answers_when_the_database_does_not(tmp_path: Path) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        engine = client.app.state.container.engine  # type: ignore[attr-defined]
        engine.dispose()
        (tmp_path / "storemon.db").unlink()
        (tmp_path / "storemon.db").mkdir()  # not a file SQLite can open
        samples = _samples(client)
    assert _value(samples, "storemon_database_up") == 0

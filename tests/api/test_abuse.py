"""Odd and hostile input: stored rows no listing can choke on, keys and ids
that are not plain text, store ids with slashes, bodies of the wrong type
or encoding, and the headers every answer carries."""

from __future__ import annotations

import gzip
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from tests.cli.test_serve import request, running

from storemon.data import reports
from storemon.data.reports import ReportParams

from .fixtures_ops import API_KEY, api_client, load, sqlite_url
from .test_security import _mutating_routes

#: 9999-12-31T23:59:59-23:00: past the last year ``datetime`` holds.
BEYOND_YEAR_9999_US = 253_402_387_199_000_000
CSV = "store_id,status,timestamp_utc\ns1,active,2023-01-25 10:00:00\n"


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient]:
    """An API client on every backend."""
    with api_client(database_url) as client:
        yield client


def _url(client: TestClient) -> str:
    return client.app.state.container.services.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]


def _store_report(client: TestClient, params: ReportParams) -> str:
    """A report row written straight to the database, as an older version
    (without the supported range) could have written it."""
    with client.app.state.container.engine.begin() as connection:  # type: ignore[attr-defined]
        return reports.create(connection, params, data_version=1).id


# --- stored rows that no listing may choke on ---------------------------------


def test_a_report_stored_with_an_as_of_past_year_9999_still_lists(api: TestClient) -> None:
    report_id = _store_report(api, ReportParams(as_of_us=BEYOND_YEAR_9999_US))

    listing = api.get("/reports")
    one = api.get(f"/reports/{report_id}")
    status = api.get(f"/get_report/{report_id}")

    assert listing.status_code == 200, listing.text
    assert [item["report_id"] for item in listing.json()["items"]] == [report_id]
    assert one.status_code == 200, one.text
    assert str(BEYOND_YEAR_9999_US) in one.json()["as_of"]
    assert status.status_code == 200, status.text


def test_a_trigger_past_year_9999_is_refused(api: TestClient) -> None:
    response = api.post("/trigger_report", json={"as_of": "9999-12-31T23:59:59-23:00"})

    assert response.status_code == 422, response.text
    assert api.get("/reports").json()["total"] == 0


# --- keys and ids that are not plain text --------------------------------------


def test_a_non_ascii_api_key_is_refused_with_401_on_every_mutating_route(
    tmp_path: Path,
) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        routes = list(_mutating_routes(client))
        for method, path in routes:
            for key in ("ключ".encode(), "clé".encode("latin-1"), API_KEY.encode() + b"\xff"):
                response = client.request(method, path, headers={"X-API-Key": key}, content=CSV)
                assert response.status_code == 401, (method, path, key, response.text)


REPORT_ROUTES = [
    ("GET", "/get_report/{}"),
    ("GET", "/get_report?report_id={}"),
    ("GET", "/reports/{}"),
    ("GET", "/reports/{}/download"),
    ("GET", "/download_report?report_id={}"),
    ("DELETE", "/reports/{}"),
]


@pytest.mark.parametrize(("method", "path"), REPORT_ROUTES)
def test_a_nul_in_a_report_id_is_an_unknown_report(api: TestClient, method: str, path: str) -> None:
    for report_id in ("a%00b", "%00", "0" * 31 + "%00"):
        response = api.request(method, path.format(report_id))
        assert response.status_code == 404, (path, report_id, response.text)


# --- store ids with slashes -----------------------------------------------------


def _store_routes_answer(get: Any, post: Any, store_id: str) -> None:
    """Every ``{store_id}`` route finds ``store_id``, sent with a literal
    ``/`` and with every reserved character percent-encoded."""
    for sent in (urllib.parse.quote(store_id, safe="/"), urllib.parse.quote(store_id, safe="")):
        summary, body = get(f"/store_summary/{sent}")
        assert summary == 200, (sent, body)
        assert json.loads(body)["store_id"] == store_id
        timeline, body = get(f"/stores/{sent}/timeline")
        assert timeline == 200, (sent, body)
        assert json.loads(body)["store_id"] == store_id
        trigger, body = post(f"/trigger_single_store_report/{sent}")
        assert trigger == 200, (sent, body)
        outages, body = get(f"/stores/{sent}/outages?from=2023-01-25T00:00:00Z")
        assert outages == 200, (sent, body)


@pytest.mark.parametrize("store_id", ["a/b", "/lead", "trail/", "a//b"])
def test_a_store_id_with_a_slash_reaches_every_store_route(api: TestClient, store_id: str) -> None:
    load(_url(api), "status", [(store_id, "2023-01-25 10:00", True)])

    def get(path: str) -> tuple[int, bytes]:
        response = api.get(path)
        return response.status_code, response.content

    def post(path: str) -> tuple[int, bytes]:
        response = api.post(path)
        return response.status_code, response.content

    _store_routes_answer(get, post, store_id)


def test_a_store_id_with_an_encoded_slash_in_it_is_reached_over_http(tmp_path: Path) -> None:
    # A real server: the test client decodes a path twice, so it cannot send
    # a literal "%2F" (sent as "%252F").
    url = sqlite_url(tmp_path)
    with running(tmp_path, "serve", "--db", url) as server:
        load(url, "status", [(store, "2023-01-25 10:00", True) for store in ("a%2Fb", "a/b")])

        def post(path: str) -> tuple[int, bytes]:
            status, _, body = request(server.base + path, "POST", {})
            return status, body

        def get(path: str) -> tuple[int, bytes]:
            status, _, body = server.get(path)
            return status, body

        _store_routes_answer(get, post, "a%2Fb")
        _store_routes_answer(get, post, "a/b")


# --- bodies of the wrong type or encoding -------------------------------------


def test_json_sent_to_the_csv_upload_is_refused_with_415(api: TestClient) -> None:
    response = api.post("/ingest/status", json={"polls": []})

    assert response.status_code == 415, response.text
    assert "text/csv" in response.json()["error"]


@pytest.mark.parametrize(
    "content_type", ["text/csv", "text/csv; charset=utf-8", "text/plain", "application/csv"]
)
def test_the_csv_upload_takes_csv_types(tmp_path: Path, content_type: str) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        response = client.post(
            "/ingest/status", content=CSV, headers={"Content-Type": content_type}
        )
    assert response.status_code == 200, response.text
    assert response.json()["loaded"] == 1


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/polls", "text/csv"),
        ("/polls", "application/x-www-form-urlencoded"),
        ("/trigger_report", "text/plain"),
        ("/trigger_report", "multipart/form-data; boundary=x"),
    ],
)
def test_json_routes_refuse_other_types_with_415(
    tmp_path: Path, path: str, content_type: str
) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        response = client.post(path, content=b"{}", headers={"Content-Type": content_type})
    assert response.status_code == 415, response.text


def test_a_trigger_without_a_body_needs_no_content_type(tmp_path: Path) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        response = client.post("/trigger_report", headers={"Content-Type": "text/plain"})
    assert response.status_code == 200, response.text


def test_a_gzip_upload_is_inflated(api: TestClient) -> None:
    poll = {"store_id": "s2", "status": "active", "timestamp_utc": "2023-01-25 11:00:00"}
    polls = {"polls": [poll]}
    csv = api.post(
        "/ingest/status",
        content=gzip.compress(CSV.encode()),
        headers={"Content-Type": "text/csv", "Content-Encoding": "gzip"},
    )
    batch = api.post(
        "/polls",
        content=gzip.compress(json.dumps(polls).encode()),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )

    assert csv.status_code == 200, csv.text
    assert csv.json()["loaded"] == 1
    assert batch.status_code == 200, batch.text
    assert batch.json()["loaded"] == 1


def test_a_gzip_body_that_inflates_past_the_limit_is_refused(tmp_path: Path) -> None:
    bomb = gzip.compress(CSV.encode() + b"s1,active,2023-01-25 10:00:00\n" * 200_000)
    limit = 1_000_000
    assert len(bomb) < limit // 10
    with api_client(sqlite_url(tmp_path), max_upload_bytes=limit) as client:
        response = client.post("/ingest/status", content=bomb, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 413, response.text


@pytest.mark.parametrize(
    "body",
    [b"not gzip at all", gzip.compress(CSV.encode())[:-4], gzip.compress(CSV.encode()) + b"x"],
    ids=["garbage", "cut-short", "trailing-bytes"],
)
def test_a_broken_gzip_body_is_a_400(tmp_path: Path, body: bytes) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        response = client.post("/ingest/status", content=body, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 400, response.text


def test_an_encoding_a_route_cannot_decode_is_refused_with_415(tmp_path: Path) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        upload = client.post("/ingest/status", content=CSV, headers={"Content-Encoding": "br"})
        trigger = client.post(
            "/trigger_report", content=gzip.compress(b"{}"), headers={"Content-Encoding": "gzip"}
        )
    assert upload.status_code == 415, upload.text
    assert trigger.status_code == 415, trigger.text


# --- headers on every answer ----------------------------------------------------


def test_every_answer_carries_security_headers(tmp_path: Path) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        answers = {
            path: client.get(path)
            for path in ("/health", "/stores", "/reports", "/get_report/nope", "/", "/docs")
        }
    for path, response in answers.items():
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["x-frame-options"] == "DENY", path
        assert response.headers["referrer-policy"] == "no-referrer", path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
    # Data loads nothing; pages load their own scripts and styles.
    assert "default-src 'none'" in answers["/stores"].headers["content-security-policy"]
    assert "default-src" not in answers["/docs"].headers["content-security-policy"]
    assert answers["/reports"].headers["cache-control"] == "no-store"
    assert answers["/"].headers["cache-control"] == "no-cache"  # the page's own choice


def test_ready_names_the_database_only_to_a_caller_with_the_key(tmp_path: Path) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        (tmp_path / "storemon.db").unlink()
        anonymous = client.get("/ready", headers={"X-API-Key": ""})
        with_key = client.get("/ready")
    assert anonymous.status_code == with_key.status_code == 503
    assert "storemon.db" not in anonymous.text
    assert str(tmp_path) not in anonymous.text
    assert "storemon.db" in with_key.json()["error"]


def test_not_ready_when_the_report_queue_broker_does_not_answer(tmp_path: Path) -> None:
    from storemon.api.app import create_app
    from storemon.jobs.celery_runner import CeleryRunner

    from .fixtures_ops import KEY_HEADER, settings_for

    closed_port = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    app = create_app(settings_for(sqlite_url(tmp_path)), runner=CeleryRunner(closed_port))
    with TestClient(app, headers=KEY_HEADER) as client:
        response = client.get("/ready")
    assert response.status_code == 503, response.text
    assert "report queue" in response.json()["error"]


# --- rate limits ------------------------------------------------------------------


def test_changes_over_the_rate_limit_get_429_with_retry_after(tmp_path: Path) -> None:
    with api_client(sqlite_url(tmp_path), rate_limit="3/minute") as client:
        answers = [client.post("/polls", json={"polls": []}) for _ in range(4)]
        other_key = client.post(
            "/polls", json={"polls": []}, headers={"X-API-Key": "wrong-key-0123456789"}
        )
        reads = [client.get("/reports") for _ in range(10)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert "3 per 1 minute" in answers[-1].json()["error"]
    assert 1 <= int(answers[-1].headers["retry-after"]) <= 60
    assert other_key.status_code == 401  # the key is checked first
    assert {r.status_code for r in reads} == {200}  # reading is not limited


def test_there_is_no_rate_limit_by_default(tmp_path: Path) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        statuses = {client.post("/polls", json={"polls": []}).status_code for _ in range(100)}
    assert statuses == {200}


def test_a_rate_limit_that_does_not_parse_stops_start_up() -> None:
    from storemon.settings import Settings

    with pytest.raises(ValueError, match="rate_limit"):
        Settings(_env_file=None, rate_limit="lots")  # type: ignore[call-arg]

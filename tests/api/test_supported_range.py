"""The supported timestamp range over HTTP: polls outside it are rejected
with a reason, an ``as_of`` (or a timeline bound) outside it is a JSON 422."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from .fixtures_ops import api_client, sqlite_url

OUTSIDE = "is outside the supported range (1900-01-01 to 2200-01-01 UTC)"
EVIL = ["9999-12-31 23:59:59", "9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+23:59"]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    with api_client(sqlite_url(tmp_path)) as client:
        yield client


def _poll(store_id: str, ts: str) -> dict[str, str]:
    return {"store_id": store_id, "status": "active", "timestamp_utc": ts}


def test_polls_outside_the_supported_range_are_rejected_in_a_batch_and_a_file(
    api: TestClient,
) -> None:
    batch = [_poll("ok", "2023-01-25 10:00:00"), *(_poll("evil", ts) for ts in EVIL)]
    response = api.post("/polls", json={"polls": batch})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["loaded"], body["rejected"]) == (1, 3)
    assert body["first_rejects"] == [
        {"line": line, "reason": f"timestamp '{ts}' {OUTSIDE}"}
        for line, ts in enumerate(EVIL, start=2)
    ]

    csv = "store_id,status,timestamp_utc\n" + "".join(f"evil,active,{ts}\n" for ts in EVIL)
    uploaded = api.post("/ingest/status", content=csv, headers={"Content-Type": "text/csv"})
    assert uploaded.status_code == 200, uploaded.text
    assert (uploaded.json()["loaded"], uploaded.json()["rejected"]) == (0, 3)

    # Nothing poisoned: the default report still triggers and the store is unknown.
    assert api.post("/trigger_report").status_code == 200
    assert api.get("/store_summary/evil").status_code == 404


@pytest.mark.parametrize("as_of", ["9999-12-31T23:59:59-23:00", "1899-12-31 23:59:59"])
def test_an_as_of_outside_the_supported_range_is_a_json_422(api: TestClient, as_of: str) -> None:
    api.post("/polls", json={"polls": [_poll("s", "2023-01-25 10:00:00")]})
    answers = [
        api.post("/trigger_report", json={"as_of": as_of}),
        api.post("/trigger_single_store_report/s", params={"as_of": as_of}),
        api.get("/stores/s/timeline", params={"start": as_of}),
        api.get("/stores/s/timeline", params={"end": as_of}),
    ]
    for response in answers:
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert OUTSIDE in response.json()["error"]
    assert api.get("/reports").status_code == 200


def test_an_as_of_at_either_end_of_the_supported_range_is_accepted(api: TestClient) -> None:
    for as_of in ("1900-01-01 00:00:00", "2199-12-31 23:59:59.999999"):
        response = api.post("/trigger_report", json={"as_of": as_of})
        assert response.status_code == 200, response.text


def test_a_timeline_near_either_end_of_the_supported_range_works(api: TestClient) -> None:
    polls = [
        _poll("early", "1900-01-01 00:00:00"),
        _poll("early", "1900-01-03 12:00:00"),
        _poll("late", "2199-12-31 23:59:59.999999"),
    ]
    api.post("/polls", json={"polls": polls})
    api.post(
        "/ingest/timezones",
        content="store_id,timezone_str\nearly,Pacific/Kiritimati\nlate,Pacific/Pago_Pago\n",
    )
    spans = [
        ("early", {"start": "1900-01-01 00:00:00", "end": "1900-01-08 00:00:00"}),
        ("late", {"start": "2199-12-24 23:59:59", "end": "2199-12-31 23:59:59.999999"}),
    ]
    for store_id, span in spans:
        response = api.get(f"/stores/{store_id}/timeline", params=span)
        assert response.status_code == 200, response.text
        assert response.json()["polls"]
    assert api.get("/store_summary/late").status_code == 200

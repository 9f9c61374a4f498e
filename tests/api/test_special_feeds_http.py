"""The special hours and groups feeds over HTTP (SPEC 8.2, 8.4): uploads
like the other feeds, and the groups listing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from storemon.data.special_hours import read_special_hours

from .fixtures_ops import api_client, sqlite_url

SPECIAL_CSV = (
    "store_id,date,start_time_local,end_time_local\n"
    "s1,2023-12-25,,\n"
    "s1,2023-12-24,09:00,24:00\n"
    "s2,2023-13-01,09:00,17:00\n"
)
GROUPS_CSV = "store_id,group\ns1,West\ns2,West\ns2,brand-x\ns3,\n"


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient]:
    with api_client(database_url) as client:
        yield client


def test_a_special_hours_upload_loads_the_valid_rows_and_reports_the_rejects(
    api: TestClient,
) -> None:
    response = api.post(
        "/ingest/special_hours", files={"file": ("special.csv", SPECIAL_CSV.encode(), "text/csv")}
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["feed"], body["loaded"], body["rejected"], body["committed"]) == (
        "special_hours",
        2,
        1,
        True,
    )
    assert body["first_rejects"] == [
        {"line": 4, "reason": "date '2023-13-01' is not a date YYYY-MM-DD"}
    ]
    rejects = api.get(f"/ingests/{body['ingest_id']}/rejects").json()
    assert rejects["ingest"]["feed"] == "special_hours"
    assert rejects["items"][0]["raw"] == "s2,2023-13-01,09:00,17:00"
    engine = api.app.state.container.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert sorted(read_special_hours(conn).end_s.tolist()) == [0, 86400]


def test_a_groups_upload_loads_and_the_groups_are_listed_with_member_counts(
    api: TestClient,
) -> None:
    response = api.post("/ingest/groups", content=GROUPS_CSV, headers={"Content-Type": "text/csv"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["feed"], body["loaded"], body["rejected"]) == ("groups", 3, 1)
    assert body["first_rejects"] == [{"line": 5, "reason": "empty group"}]
    listed = api.get("/groups").json()
    assert listed == {
        "items": [{"group": "West", "members": 2}, {"group": "brand-x", "members": 1}],
        "total": 2,
        "limit": 100,
        "offset": 0,
    }
    assert api.get("/groups", params={"offset": 1}).json()["items"] == [
        {"group": "brand-x", "members": 1}
    ]


@pytest.mark.parametrize(("feed", "text"), [("special_hours", SPECIAL_CSV), ("groups", GROUPS_CSV)])
def test_a_strict_upload_with_a_reject_loads_nothing_and_answers_422(
    api: TestClient, feed: str, text: str
) -> None:
    response = api.post(f"/ingest/{feed}", params={"strict": "true"}, content=text)

    assert response.status_code == 422
    body = response.json()
    assert (body["feed"], body["loaded"], body["rejected"], body["committed"]) == (
        feed,
        0,
        1,
        False,
    )
    assert api.get("/groups").json()["total"] == 0


def test_uploads_need_the_key_and_the_groups_listing_does_not(tmp_path: Path) -> None:
    with api_client(sqlite_url(tmp_path)) as client:
        for feed in ("special_hours", "groups"):
            refused = client.post(f"/ingest/{feed}", content="x", headers={"X-API-Key": "wrong"})
            assert refused.status_code == 401
        assert client.get("/groups", headers={"X-API-Key": ""}).status_code == 200
        assert client.get("/groups", params={"limit": 0}).status_code == 422


def test_a_load_that_changes_special_hours_or_groups_makes_the_next_report_new(
    api: TestClient,
) -> None:
    def trigger() -> bool:
        response = api.post("/trigger_report")
        assert response.status_code == 200, response.text
        return bool(response.json()["reused"])

    assert trigger() is False
    assert trigger() is True
    for feed, text in (("special_hours", SPECIAL_CSV), ("groups", GROUPS_CSV)):
        api.post(f"/ingest/{feed}", content=text)
        assert trigger() is False
        api.post(f"/ingest/{feed}", content=text)  # the same again: nothing changes
        assert trigger() is True

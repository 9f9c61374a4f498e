"""Reading a finished report over the API: pages of its rows sorted and
filtered on the server, and its summary, agree with the report's CSV."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from .harness import HeldRunner, running_api, wait_for_report


@pytest.fixture
def finished(loaded_url: str) -> Iterator[tuple[TestClient, str, list[dict[str, str]]]]:
    """A client, a complete report of the small data set, and its CSV rows."""
    with running_api(loaded_url) as client:
        report_id = client.post("/trigger_report").json()["report_id"]
        done = wait_for_report(client, report_id)
        rows = list(csv.DictReader(io.StringIO(done.text)))
        yield client, report_id, rows


def _worst_first(rows: list[dict[str, str]]) -> list[str]:
    # Ties keep the report's order, which is store id order.
    ordered = sorted(rows, key=lambda r: -Decimal(r["downtime_last_week"]))
    return [r["store_id"] for r in ordered]


def test_rows_come_worst_first_and_page_through_the_whole_report(
    finished: tuple[TestClient, str, list[dict[str, str]]],
) -> None:
    client, report_id, rows = finished

    pages = [
        client.get(f"/reports/{report_id}/rows", params={"limit": 7, "offset": offset}).json()
        for offset in range(0, len(rows), 7)
    ]

    first = pages[0]
    assert (first["sort"], first["order"], first["kind"]) == (
        "downtime_last_week",
        "desc",
        "uptime",
    )
    assert first["total"] == first["rows"] == len(rows)
    assert first["columns"] == list(rows[0].keys())
    seen = [item["store_id"] for page in pages for item in page["items"]]
    # The CSV escapes an id a spreadsheet would run; the rows carry it as loaded.
    assert seen == [i.removeprefix("'") for i in _worst_first(rows)]
    by_id = {item["store_id"]: item for page in pages for item in page["items"]}
    for row in rows:
        item = by_id[row["store_id"].removeprefix("'")]
        assert item["uptime_last_week"] == float(row["uptime_last_week"])


def test_rows_sort_by_any_column_and_filter_by_prefix_and_thresholds(
    finished: tuple[TestClient, str, list[dict[str, str]]],
) -> None:
    client, report_id, rows = finished
    url = f"/reports/{report_id}/rows"

    ascending = client.get(url, params={"sort": "uptime_last_day", "order": "asc", "limit": 500})
    values = [item["uptime_last_day"] for item in ascending.json()["items"]]
    assert values == sorted(values)

    prefix = rows[3]["store_id"][:2]
    some = client.get(url, params={"prefix": prefix, "min": "downtime_last_week:1"}).json()
    expected = {
        r["store_id"]
        for r in rows
        if r["store_id"].startswith(prefix) and Decimal(r["downtime_last_week"]) >= 1
    }
    assert {item["store_id"] for item in some["items"]} == expected
    assert some["total"] == len(expected)

    capped = client.get(url, params={"max": ["uptime_last_week:50", "uptime_last_hour:30"]}).json()
    assert capped["total"] == sum(
        Decimal(r["uptime_last_week"]) <= 50 and Decimal(r["uptime_last_hour"]) <= 30 for r in rows
    )


def test_the_group_filter_keeps_the_groups_member_stores(
    finished: tuple[TestClient, str, list[dict[str, str]]],
) -> None:
    client, report_id, rows = finished
    members = [r["store_id"] for r in rows[:3]]
    feed = "store_id,group\n" + "".join(f'"{m}",north\n' for m in members) + "nobody,north\n"
    assert client.post("/ingest/groups", content=feed).status_code == 200

    page = client.get(f"/reports/{report_id}/rows", params={"group": "north"}).json()

    assert sorted(item["store_id"] for item in page["items"]) == sorted(members)
    empty = client.get(f"/reports/{report_id}/rows", params={"group": "south"}).json()
    assert (empty["items"], empty["total"]) == ([], 0)


def test_the_summary_adds_up_the_reports_rows(
    finished: tuple[TestClient, str, list[dict[str, str]]],
) -> None:
    client, report_id, rows = finished

    summary = client.get(f"/reports/{report_id}/summary").json()

    assert (summary["rows"], summary["stores"], summary["key"]) == (
        len(rows),
        len(rows),
        "store_id",
    )
    week = summary["windows"][2]
    uptime = sum(Decimal(r["uptime_last_week"]) for r in rows)
    downtime = sum(Decimal(r["downtime_last_week"]) for r in rows)
    assert week["window"] == "last_week"
    assert week["business"] == float(uptime + downtime)
    assert week["uptime_share"] == pytest.approx(float(uptime / (uptime + downtime)))
    assert week["with_downtime"] == sum(Decimal(r["downtime_last_week"]) > 0 for r in rows)
    assert week["nodata"] is None
    worst = [w["store_id"] for w in summary["worst"]]
    assert worst == [i.removeprefix("'") for i in _worst_first(rows)[:5]]


def test_reading_a_report_that_is_not_complete_or_not_there_is_refused(loaded_url: str) -> None:
    with running_api(loaded_url, runner=HeldRunner(loaded_url)) as client:
        report_id = client.post("/trigger_report").json()["report_id"]
        for path in ("rows", "summary"):
            pending = client.get(f"/reports/{report_id}/{path}")
            assert pending.status_code == 409
            assert "Pending, not Complete" in pending.json()["error"]
            assert client.get(f"/reports/nope/{path}").status_code == 404


def test_bad_sorts_and_thresholds_are_422_with_the_reason(
    finished: tuple[TestClient, str, list[dict[str, str]]],
) -> None:
    client, report_id, _ = finished
    url = f"/reports/{report_id}/rows"
    cases = {
        (("sort", "nope"),): "no column 'nope'",
        (("min", "uptime_last_week"),): "not column:number",
        (("max", "uptime_last_week:1e3"),): "not column:number",
        (("min", "store_id:3"),): "not a number",
        (("min", "nope:3"),): "no column 'nope'",
    }
    for params, message in cases.items():
        response = client.get(url, params=dict(params))
        assert response.status_code == 422, params
        assert message in response.json()["error"]
    assert client.get(url, params={"limit": 501}).status_code == 422


def test_a_deleted_report_cannot_be_read_any_more(
    finished: tuple[TestClient, str, list[dict[str, str]]],
) -> None:
    client, report_id, _ = finished
    assert client.get(f"/reports/{report_id}/rows").status_code == 200
    assert client.delete(f"/reports/{report_id}").status_code == 204
    assert client.get(f"/reports/{report_id}/rows").status_code == 404

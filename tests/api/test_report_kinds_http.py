"""Section 8 over HTTP: every report kind through the section 7 flow, and
the outages routes (per store and fleet-wide, filtered, sorted, paged)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from storemon.data.snapshot import reader_for
from storemon.reports.frames import outages_frame, report_frame_of
from storemon.reports.options import date_to_days
from storemon.reports.rendering import render_csv
from storemon.reports.service import OutagesRequest, ReportRequest, build_outages, build_report

from .feeds import ingest_file, store_ids
from .harness import HeldRunner, running_api, wait_for_report

STORES = store_ids(30, 7)


@pytest.fixture
def grouped_url(loaded_url: str, tmp_path: Path) -> str:
    """The small data set with two groups: even and odd stores."""
    path = tmp_path / "groups.csv"
    rows = [f'"{s}",{"even" if i % 2 == 0 else "odd"}' for i, s in enumerate(STORES)]
    path.write_text("store_id,group\n" + "\n".join(rows) + "\n")
    ingest_file(loaded_url, "groups", path)
    return loaded_url


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def service_csv(url: str, request: ReportRequest) -> bytes:
    return render_csv(report_frame_of(build_report(reader_for(url), request).report, request))


def test_every_kind_goes_through_the_published_flow(grouped_url: str) -> None:
    first, last = date_to_days("2023-01-20"), date_to_days("2023-01-25")
    expected = {
        "daily": ReportRequest(kind="daily", first_date=first, last_date=last),
        "groups": ReportRequest(kind="groups", max_gap_us=90 * 60_000_000),
        "stores": ReportRequest(max_gap_us=30_000_000, interpolation="previous"),
    }
    bodies = {
        "daily": {"kind": "daily", "from": "2023-01-20", "to": "2023-01-25"},
        "groups": {"kind": "groups", "max_gap": 90},
        "stores": {"max_gap": 0.5, "interpolation": "previous"},
    }
    with running_api(grouped_url) as client:
        for kind, body in bodies.items():
            triggered = client.post("/trigger_report", json=body)
            assert triggered.status_code == 200, triggered.text
            report_id = triggered.json()["report_id"]

            done = wait_for_report(client, report_id)

            assert done.headers["X-Report-Status"] == "Complete"
            assert done.headers["content-type"].startswith("text/csv")
            assert done.content == service_csv(grouped_url, expected[kind])
            info = client.get(f"/reports/{report_id}").json()
            assert info["kind"] == kind
            download = client.get(f"/reports/{report_id}/download", params={"format": "json"})
            assert download.status_code == 200 and download.json()
        groups = client.post("/trigger_report", json=bodies["groups"]).json()
        assert groups["reused"] is True
        daily_info = client.get(f"/reports/{groups['report_id']}").json()
        assert daily_info["max_gap"] == 90


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_report_reuse_tells_kinds_and_options_apart(loaded_url: str) -> None:
    variants = [
        {},
        {"max_gap": 60},
        {"max_gap": 61},
        {"kind": "groups"},
        {"kind": "daily", "from": "2023-01-20", "to": "2023-01-21"},
        {"kind": "daily", "from": "2023-01-20", "to": "2023-01-22"},
    ]
    with running_api(loaded_url, runner=HeldRunner(loaded_url)) as client:
        ids = [client.post("/trigger_report", json=body).json()["report_id"] for body in variants]
        again = client.post("/trigger_report", params={"max_gap": "60.0"}).json()
        daily = {name: str(value) for name, value in variants[5].items()}
        by_query = client.post("/trigger_report", params=daily)
    assert len(set(ids)) == len(variants)
    assert again["report_id"] == ids[1] and again["reused"] is True
    assert by_query.json()["report_id"] == ids[5]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("query", "body", "words"),
    [
        (None, {"kind": "daily"}, "a first and a last date"),
        (None, {"kind": "daily", "from": "2023-01-22", "to": "2023-01-21"}, "after its last"),
        (None, {"from": "2023-01-20", "to": "2023-01-21"}, "only a daily report"),
        (None, {"kind": "daily", "from": "2023-02-30", "to": "2023-03-01"}, "not a date"),
        (None, {"max_gap": 0}, "max_gap"),
        (None, {"max_gap": -5}, "max_gap"),
        ({"max_gap": "1e3"}, None, "not a number of minutes"),
        ({"max_gap": "60"}, {"max_gap": 30}, "max_gap differs"),
        (None, {"kind": "weekly"}, "kind"),
    ],
)
def test_report_options_that_do_not_fit_are_a_422(
    loaded_url: str, query: dict[str, str] | None, body: dict[str, object] | None, words: str
) -> None:
    with running_api(loaded_url, runner=HeldRunner(loaded_url)) as client:
        response = client.post("/trigger_report", params=query, json=body)
        assert response.status_code == 422, response.text
        assert words in response.json()["error"]
        assert client.get("/reports").json()["total"] == 0


def test_outages_of_the_fleet_match_the_service(grouped_url: str) -> None:
    expected = build_outages(reader_for(grouped_url), OutagesRequest()).outages
    assert len(expected) > 20
    with running_api(grouped_url) as client:
        response = client.get("/outages", params={"limit": 1000})
        assert response.status_code == 200, response.text
        body = response.json()
    assert body["total"] == len(expected)
    items = body["items"]
    # By start time: the CSV's rows (store id, then start) in time order.
    starts = [at(item["start_utc"]) for item in items]
    assert starts == sorted(starts)
    csv_rows = render_csv(outages_frame(expected, OutagesRequest())).decode().splitlines()[1:]
    minutes = sorted(float(row.rsplit(",", 1)[1]) for row in csv_rows)
    assert sorted(item["minutes"] for item in items) == minutes


def test_outages_filter_sort_and_page(grouped_url: str) -> None:
    with running_api(grouped_url) as client:
        everything = client.get("/outages", params={"sort": "length", "limit": 1000}).json()
        lengths = [item["minutes"] for item in everything["items"]]
        assert lengths == sorted(lengths, reverse=True)

        page = client.get("/outages", params={"sort": "length", "limit": 5, "offset": 5}).json()
        assert page["items"] == everything["items"][5:10]
        assert page["total"] == everything["total"]

        long_ones = client.get("/outages", params={"min_minutes": 120, "limit": 1000}).json()
        assert long_ones["total"] == sum(1 for minutes in lengths if minutes >= 120)

        even = client.get("/outages", params={"group": "even", "limit": 1000}).json()
        even_stores = set(STORES[0::2])
        assert even["total"] > 0
        assert {item["store_id"] for item in even["items"]} <= even_stores
        assert even["total"] == sum(
            1 for item in everything["items"] if item["store_id"] in even_stores
        )
        nobody = client.get("/outages", params={"group": "no such group"}).json()
        assert nobody["total"] == 0 and nobody["items"] == []


def test_outages_of_one_store_within_a_range(grouped_url: str) -> None:
    store = STORES[-1]  # "=HYPERLINK(1)": reachable as a path segment
    with running_api(grouped_url) as client:
        week = client.get(f"/stores/{store}/outages").json()
        assert {item["store_id"] for item in week["items"]} == {store}
        assert week["to"] == week["now"]

        first = week["items"][0]
        cut = client.get(
            f"/stores/{store}/outages",
            params={"from": first["start_utc"], "to": first["end_utc"], "max_gap": "30"},
        ).json()
        start, end = at(first["start_utc"]), at(first["end_utc"])
        assert cut["items"]
        assert all(start <= at(item["start_utc"]) for item in cut["items"])
        assert all(at(item["end_utc"]) <= end for item in cut["items"])
        assert cut["max_gap"] == 30
        assert client.get("/stores/no-such-store/outages").status_code == 404


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("path", "query", "words"),
    [
        ("/outages", {"from": "2022-01-01 00:00:00"}, "longer than 31 days"),
        ("/outages", {"from": "yesterday"}, "not a timestamp"),
        ("/outages", {"to": "2200-01-01 00:00:00"}, "outside the supported range"),
        ("/outages", {"max_gap": "0"}, "max_gap"),
        ("/outages", {"sort": "store"}, "sort"),
        ("/outages", {"limit": "1001"}, "limit"),
        ("/outages", {"min_minutes": "-1"}, "min_minutes"),
        ("/stores/STORE/outages", {"from": "2020-01-01 00:00:00"}, "longer than 366 days"),
    ],
)
def test_outage_queries_beyond_the_bounds_are_a_422(
    loaded_url: str, path: str, query: dict[str, str], words: str
) -> None:
    with running_api(loaded_url, runner=HeldRunner(loaded_url)) as client:
        response = client.get(path.replace("STORE", STORES[0]), params=query)
        assert response.status_code == 422, response.text
        assert words in response.text

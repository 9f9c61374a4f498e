"""Store endpoints: search, summary and the dashboard's time line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from storemon.engine import Hours, Polls, store_timeline

from .fixtures_ops import api_client, load, us


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient]:
    """An API client on every backend."""
    with api_client(database_url) as client:
        yield client


HOUR = 3600


def _iso(value: int) -> str:
    moment = datetime.fromtimestamp(value / 1e6, tz=UTC)
    return moment.isoformat().replace("+00:00", "Z")


def _url(client: TestClient) -> str:
    return client.app.state.container.services.url.render_as_string(hide_password=False)  # type: ignore[attr-defined]


def test_search_finds_stores_by_id_prefix_in_id_order(api: TestClient) -> None:
    load(
        _url(api),
        "status",
        [(store, "2023-01-25 10:00", True) for store in ("b2", "a1", "a10", "a2", "c")],
    )
    load(_url(api), "timezones", [("a10", "Asia/Kolkata")])
    load(_url(api), "status", [("a10", "2023-01-25 11:00", False)])

    body = api.get("/stores", params={"query": "a", "limit": 2}).json()

    assert body == {
        "items": [
            {"store_id": "a1", "timezone": "America/Chicago", "polls": 1},
            {"store_id": "a10", "timezone": "Asia/Kolkata", "polls": 2},
        ],
        "total": 3,
    }
    assert api.get("/stores").json()["total"] == 5


def test_search_matches_the_prefix_exactly_case_and_wildcards_included(api: TestClient) -> None:
    ids = ["ab", "AB", "a%b", "a_b", "axb", "a\\b"]
    load(_url(api), "status", [(store, "2023-01-25 10:00", True) for store in ids])

    def found(query: str) -> list[str]:
        items = api.get("/stores", params={"query": query}).json()["items"]
        return sorted(item["store_id"] for item in items)

    assert found("a") == sorted(["ab", "a%b", "a_b", "axb", "a\\b"])
    assert found("A") == ["AB"]
    assert found("a%") == ["a%b"]
    assert found("a_") == ["a_b"]
    assert found("a\\") == ["a\\b"]
    assert found("zzz") == []


def test_search_caps_the_page_at_100(api: TestClient) -> None:
    response = api.get("/stores", params={"limit": 101})
    assert response.status_code == 422
    assert "error" in response.json()


def test_summary_gives_polls_timezone_and_business_hours(api: TestClient) -> None:
    url = _url(api)
    load(url, "status", [("s1", "2023-01-20 10:00", True), ("s1", "2023-01-24 09:30", False)])
    load(
        url, "hours", [("s1", 0, 9 * HOUR, 17 * HOUR), ("s1", 0, 18 * HOUR, 86400), ("s1", 4, 0, 0)]
    )
    load(url, "timezones", [("s1", "Europe/Berlin")])

    body = api.get("/store_summary/s1").json()

    assert body == {
        "store_id": "s1",
        "timezone": "Europe/Berlin",
        "timezone_is_default": False,
        "polls": 2,
        "first_poll": "2023-01-20T10:00:00Z",
        "last_poll": "2023-01-24T09:30:00Z",
        "has_business_hours": True,
        "business_days": 2,
        "business_hours": [
            {"day": 0, "start": "09:00:00", "end": "17:00:00"},
            {"day": 0, "start": "18:00:00", "end": "24:00:00"},
            {"day": 4, "start": "00:00:00", "end": "00:00:00"},
        ],
    }


def test_summary_of_a_store_without_rows_shows_the_defaults(api: TestClient) -> None:
    load(_url(api), "hours", [("h", 1, 0, 3600)])
    load(_url(api), "timezones", [("only-zone", "Asia/Tokyo")])
    load(_url(api), "status", [("only-polls", "2023-01-25 10:00", True)])

    body = api.get("/store_summary/only-polls").json()
    assert (body["timezone"], body["timezone_is_default"]) == ("America/Chicago", True)
    assert (body["has_business_hours"], body["business_days"], body["business_hours"]) == (
        False,
        0,
        [],
    )
    no_polls = api.get("/store_summary/only-zone").json()
    assert (no_polls["polls"], no_polls["first_poll"], no_polls["last_poll"]) == (0, None, None)


def test_unknown_store_is_a_json_404(api: TestClient) -> None:
    for path in ("/store_summary/nope", "/stores/nope/timeline"):
        response = api.get(path, params={"end": "2023-01-25 10:00:00"})
        assert response.status_code == 404, path
        assert response.json() == {"error": "unknown store_id 'nope'"}


def test_ids_the_database_cannot_hold_are_unknown_not_errors(api: TestClient) -> None:
    load(_url(api), "status", [("ünï-😀", "2023-01-25 10:00", True)])
    assert api.get("/store_summary/ünï-😀").status_code == 200
    for store_id in ("%00", "a%00b", "x" * 300, "%F0%9F%98%80", "%ED%A0%80", "%FF%FE"):
        for path in (f"/store_summary/{store_id}", f"/stores/{store_id}/timeline"):
            response = api.get(path, params={"end": "2023-01-25 10:00:00"})
            assert response.status_code == 404, (path, response.text)
    assert api.get("/stores", params={"query": "a\x00"}).json() == {"items": [], "total": 0}


def test_timeline_defaults_to_the_week_ending_at_the_newest_poll(api: TestClient) -> None:
    url = _url(api)
    load(url, "status", [("s", "2023-01-20 10:00", True), ("s", "2023-01-20 12:00", False)])
    load(url, "status", [("other", "2023-01-25 18:00", True)])

    body = api.get("/stores/s/timeline").json()

    assert (body["start"], body["end"]) == ("2023-01-18T18:00:00Z", "2023-01-25T18:00:00Z")
    assert body["timezone"] == "America/Chicago"
    assert body["polls"] == [
        {"t": "2023-01-20T10:00:00Z", "active": True},
        {"t": "2023-01-20T12:00:00Z", "active": False},
    ]
    # Nearest poll: the switch is at the midpoint, 11:00.
    assert body["status"] == [
        {"start": "2023-01-18T18:00:00Z", "end": "2023-01-20T11:00:00Z", "active": True},
        {"start": "2023-01-20T11:00:00Z", "end": "2023-01-25T18:00:00Z", "active": False},
    ]
    # No business hours: open around the clock.
    assert body["open"] == [{"start": body["start"], "end": body["end"]}]
    previous = api.get("/stores/s/timeline", params={"interpolation": "previous"}).json()
    assert previous["status"][0]["end"] == "2023-01-20T12:00:00Z"


def test_timeline_is_the_engine_time_line_of_every_poll_up_to_the_end(api: TestClient) -> None:
    url = _url(api)
    polls = [
        ("2023-01-02 08:00", False),
        ("2023-01-09 23:10", True),  # the last poll before the span decides its start
        ("2023-01-10 06:20", False),
        ("2023-01-11 13:45", True),
        ("2023-01-12 03:00", False),
        ("2023-01-14 00:00", True),  # after the span: ignored, as the report ignores it
    ]
    load(url, "status", [("s", ts, active) for ts, active in polls])
    hours = [(0, 9 * HOUR, 17 * HOUR), (1, 22 * HOUR, 2 * HOUR), (2, 0, 86400)]
    load(url, "hours", [("s", *row) for row in hours])
    load(url, "timezones", [("s", "America/New_York")])
    start, end = us("2023-01-10 00:00"), us("2023-01-13 00:00")

    for interpolation in ("nearest", "previous"):
        body = api.get(
            "/stores/s/timeline",
            params={"start": _iso(start), "end": _iso(end), "interpolation": interpolation},
        ).json()

        kept = [(us(ts), active) for ts, active in polls if us(ts) <= end]
        expected = store_timeline(
            Polls.build([0] * len(kept), [t for t, _ in kept], [a for _, a in kept]),
            Hours.build([0] * 3, *zip(*hours, strict=True)),
            "America/New_York",
            start,
            end,
            interpolation,  # type: ignore[arg-type]
        )
        assert body["status"] == [
            {"start": _iso(a), "end": _iso(b), "active": active}
            for a, b, active in expected.status_intervals
        ]
        assert body["open"] == [
            {"start": _iso(a), "end": _iso(b)} for a, b in expected.open_intervals
        ]
        assert [p["t"] for p in body["polls"]] == [
            _iso(us(ts)) for ts, _ in polls if start <= us(ts) <= end
        ]
        assert body["status"][0]["active"] is True


def test_timeline_span_is_checked(api: TestClient) -> None:
    load(_url(api), "status", [("s", "2023-01-20 10:00", True)])
    cases = {
        (("start", "2023-01-01 00:00:00"), ("end", "2023-01-22 00:00:01")): "longer than 21 days",
        (("start", "2023-01-10 00:00:00"), ("end", "2023-01-09 00:00:00")): "end must be after",
        (("start", "yesterday"),): "not a timestamp",
        (("end", "2023-13-45 99:00:00"),): "not a timestamp",
        (("start", "0001-01-01 00:00:00"),): "outside the supported range",
        (("end", "9999-12-31 23:59:59.999999"),): "outside the supported range",
        (("end", "1900-01-02 00:00:00"),): "within the supported range (1900-01-01 to 2200",
    }
    for params, message in cases.items():
        response = api.get("/stores/s/timeline", params=dict(params))
        assert response.status_code == 422, params
        assert message in response.json()["error"]
    three_weeks = {"start": "2023-01-01 00:00:00", "end": "2023-01-22 00:00:00"}
    assert api.get("/stores/s/timeline", params=three_weeks).status_code == 200
    only_start = api.get("/stores/s/timeline", params={"start": "2023-01-01T00:00:00Z"}).json()
    assert only_start["end"] == "2023-01-08T00:00:00Z"


def test_timeline_with_a_max_gap_marks_time_no_poll_speaks_for_as_no_data(
    api: TestClient,
) -> None:
    url = _url(api)
    # Polls at 10:00 and 14:00 UTC; a 60-minute gap under nearest lets each
    # speak for 30 minutes either side, so 10:30-13:30 has no data.
    load(url, "status", [("s", "2023-01-20 10:00", True), ("s", "2023-01-20 14:00", False)])
    span = {"start": "2023-01-20 09:00:00", "end": "2023-01-20 15:00:00"}

    body = api.get("/stores/s/timeline", params={**span, "max_gap": "60"}).json()

    assert body["max_gap_minutes"] == 60
    assert body["status"] == [
        {"start": "2023-01-20T09:00:00Z", "end": "2023-01-20T09:30:00Z", "active": None},
        {"start": "2023-01-20T09:30:00Z", "end": "2023-01-20T10:30:00Z", "active": True},
        {"start": "2023-01-20T10:30:00Z", "end": "2023-01-20T13:30:00Z", "active": None},
        {"start": "2023-01-20T13:30:00Z", "end": "2023-01-20T14:30:00Z", "active": False},
        {"start": "2023-01-20T14:30:00Z", "end": "2023-01-20T15:00:00Z", "active": None},
    ]
    without = api.get("/stores/s/timeline", params=span).json()
    assert without["max_gap_minutes"] is None
    assert [s["active"] for s in without["status"]] == [True, False]


def test_timeline_max_gap_must_be_minutes_greater_than_zero(api: TestClient) -> None:
    load(_url(api), "status", [("s", "2023-01-20 10:00", True)])
    for text in ("0", "0.0", "-5", "abc", "1e3", "5.", ".5", " 5"):
        response = api.get("/stores/s/timeline", params={"max_gap": text})
        assert response.status_code == 422, text
        assert "minutes greater than 0" in response.json()["error"]
    body = api.get("/stores/s/timeline", params={"max_gap": "7.5"}).json()
    assert body["max_gap_minutes"] == 7.5


def test_timeline_special_hours_replace_the_weekly_hours_on_their_dates(
    api: TestClient,
) -> None:
    url = _url(api)
    load(url, "timezones", [("s", "UTC")])
    load(url, "status", [("s", "2023-01-20 10:00", True)])
    # Friday 2023-01-20 and Saturday 2023-01-21: weekly 09:00-17:00.
    load(url, "hours", [("s", day, 9 * HOUR, 17 * HOUR) for day in range(7)])
    special = (
        "store_id,date,start_time_local,end_time_local\ns,2023-01-20,12:00,13:00\ns,2023-01-21,,\n"
    )
    assert api.post("/ingest/special_hours", content=special).status_code == 200
    span = {"start": "2023-01-20 00:00:00", "end": "2023-01-23 00:00:00"}

    body = api.get("/stores/s/timeline", params=span).json()

    assert body["special_hours"] == [
        {"date": "2023-01-20", "start": "12:00:00", "end": "13:00:00"},
        {"date": "2023-01-21", "start": None, "end": None},
    ]
    assert body["open"] == [
        {"start": "2023-01-20T12:00:00Z", "end": "2023-01-20T13:00:00Z"},
        {"start": "2023-01-22T09:00:00Z", "end": "2023-01-22T17:00:00Z"},
    ]


def test_dashboard_settings_give_the_default_max_gap(database_url: str) -> None:
    with api_client(database_url) as client:
        assert client.get("/dashboard/settings").json() == {"max_gap_minutes": None}
    with api_client(database_url, dashboard_max_gap=90) as client:
        assert client.get("/dashboard/settings").json() == {"max_gap_minutes": 90}

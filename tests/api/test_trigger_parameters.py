"""Both trigger endpoints take their parameters the same way: in the JSON
body or the query, with the same names; anything else is a 422."""

from __future__ import annotations

import pytest

from .feeds import store_ids
from .harness import HeldRunner, running_api


def params_of(client, report_id: str) -> tuple[str | None, str, list[str] | None]:  # type: ignore[no-untyped-def]
    info = client.get(f"/reports/{report_id}").json()
    return info["as_of"], info["interpolation"], info["store_ids"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_query_and_body_give_the_same_report_on_both_endpoints(loaded_url: str) -> None:
    store = store_ids(30, 7)[0]
    chosen = {"interpolation": "previous", "as_of": "2023-01-25 12:00:00"}
    with running_api(loaded_url, runner=HeldRunner(loaded_url)) as client:
        ids = {
            "all, body": client.post("/trigger_report", json=chosen),
            "all, query": client.post("/trigger_report", params=chosen),
            "one, body": client.post(f"/trigger_single_store_report/{store}", json=chosen),
            "one, query": client.post(f"/trigger_single_store_report/{store}", params=chosen),
            "some, query": client.post("/trigger_report", params={"store_ids": [store]}),
        }
        assert {name: r.status_code for name, r in ids.items()} == dict.fromkeys(ids, 200)
        got = {name: r.json() for name, r in ids.items()}

        # The same parameters on the same data: the same report.
        assert got["all, query"]["report_id"] == got["all, body"]["report_id"]
        assert got["one, query"]["report_id"] == got["one, body"]["report_id"]
        assert params_of(client, got["one, query"]["report_id"])[1:] == ("previous", [store])
        assert params_of(client, got["some, query"]["report_id"])[2] == [store]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("path", "query", "body", "words"),
    [
        ("/trigger_report", {"interpolaton": "previous"}, None, "unknown query parameter"),
        ("/trigger_report", {"as_of": "2023-01-25"}, {"as_of": "2023-01-24"}, "as_of differs"),
        ("/trigger_report", {"interpolation": "linear"}, None, "interpolation"),
        ("STORE", {"store_ids": "x"}, None, "unknown query parameter 'store_ids'"),
        ("STORE", {"asof": "2023-01-25"}, None, "unknown query parameter 'asof'"),
        ("STORE", None, {"store_ids": ["x"]}, "store_ids"),
    ],
)
def test_an_unknown_or_conflicting_trigger_parameter_is_a_422(
    loaded_url: str,
    path: str,
    query: dict[str, str] | None,
    body: dict[str, object] | None,
    words: str,
) -> None:
    path = path.replace("STORE", f"/trigger_single_store_report/{store_ids(30, 7)[0]}")
    with running_api(loaded_url, runner=HeldRunner(loaded_url)) as client:
        response = client.post(path, params=query, json=body)

        assert response.status_code == 422, response.text
        assert words in response.json()["error"]
        assert client.get("/reports").json()["total"] == 0

"""Removing bad or unwanted polls: ``DELETE /stores/{store_id}/polls`` and
``storemon polls delete``, on every database backend."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from storemon.data.database import make_engine
from storemon.data.stores import newest_poll_us

from .fixtures_ops import API_KEY, api_client, load, sqlite_url, us

STOREMON = str(Path(sys.executable).with_name("storemon"))


@pytest.fixture
def api(database_url: str) -> Iterator[TestClient]:
    with api_client(database_url) as client:
        load(
            database_url,
            "status",
            [
                ("good", "2023-01-25 10:00", True),
                ("good", "2023-01-25 11:00", False),
                ("good", "2023-01-25 12:00", True),
                # A poll an older version let in, before the supported range.
                ("evil", "9999-12-31 23:59", True),
                ("evil", "2023-01-25 09:00", True),
            ],
        )
        yield client


def _newest(client: TestClient) -> int | None:
    with client.app.state.container.engine.connect() as connection:  # type: ignore[attr-defined]
        return newest_poll_us(connection)


def _poll_times(client: TestClient, store_id: str) -> list[str]:
    body = client.get(
        f"/stores/{store_id}/timeline",
        params={"start": "2023-01-25T00:00:00Z", "end": "2023-01-26T00:00:00Z"},
    ).json()
    return [poll["t"] for poll in body["polls"]]


def test_deleting_a_range_removes_only_the_polls_in_it_ends_included(api: TestClient) -> None:
    response = api.delete(
        "/stores/good/polls", params={"from": "2023-01-25 10:00:00", "to": "2023-01-25 11:00:00"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["deleted"] == 2
    assert _poll_times(api, "good") == ["2023-01-25T12:00:00Z"]
    assert _poll_times(api, "evil") == ["2023-01-25T09:00:00Z"]


def test_removing_the_newest_poll_moves_the_default_now_back(api: TestClient) -> None:
    assert _newest(api) == us("9999-12-31 23:59")

    response = api.delete("/stores/evil/polls", params={"from": "2199-01-01 00:00:00"})

    assert response.json()["deleted"] == 1
    assert _newest(api) == us("2023-01-25 12:00")
    summary = api.get("/store_summary/evil").json()
    assert (summary["polls"], summary["last_poll"]) == (1, "2023-01-25T09:00:00Z")
    # The default time line (the week to the newest poll) works again.
    assert api.get("/stores/good/timeline").status_code == 200


def test_removing_every_poll_leaves_no_newest_poll(api: TestClient) -> None:
    for store in ("good", "evil"):
        api.delete(f"/stores/{store}/polls")

    assert _newest(api) is None
    assert api.get("/store_summary/good").json()["polls"] == 0


def test_a_removal_is_logged_and_stops_reports_from_being_reused(api: TestClient) -> None:
    as_of = {"as_of": "2023-01-25 13:00:00"}
    first = api.post("/trigger_report", json=as_of).json()
    again = api.post("/trigger_report", json=as_of).json()

    removed = api.delete("/stores/good/polls", params={"to": "2023-01-25 10:00:00"}).json()
    after = api.post("/trigger_report", json=as_of).json()

    assert again["reused"] and again["report_id"] == first["report_id"]
    assert not after["reused"]
    entry = api.get(f"/ingests/{removed['ingest_id']}").json()
    assert entry["feed"] == "delete-polls"
    assert entry["status"] == "complete"
    assert entry["rows_loaded"] == 1
    assert "good" in entry["source"]


def test_a_removal_that_removes_nothing_keeps_reports_reusable(api: TestClient) -> None:
    first = api.post("/trigger_report").json()

    removed = api.delete("/stores/good/polls", params={"from": "2024-01-01 00:00:00"}).json()

    assert removed["deleted"] == 0
    assert api.post("/trigger_report").json()["report_id"] == first["report_id"]


def test_removing_polls_of_an_unknown_store_is_a_404(api: TestClient) -> None:
    assert api.delete("/stores/nobody/polls").status_code == 404


@pytest.mark.parametrize(
    "params",
    [
        {"from": "yesterday"},
        {"from": "2023-01-25 12:00:00", "to": "2023-01-25 11:00:00"},
        {"from": "1899-12-31 23:59:59"},
        {"to": "2200-01-01 00:00:00"},
        {"from": "2023-01-25 00:00:00", "to": "9999-12-31 23:59:59"},
    ],
)
def test_bad_bounds_are_a_422(api: TestClient, params: dict[str, str]) -> None:
    response = api.delete("/stores/good/polls", params=params)
    assert response.status_code == 422, response.text
    assert api.get("/store_summary/good").json()["polls"] == 3  # nothing removed


def test_removal_needs_the_key(api: TestClient) -> None:
    response = api.delete("/stores/good/polls", headers={"X-API-Key": "not-" + API_KEY})
    assert response.status_code == 401
    assert _poll_times(api, "good") != []


# --- the command --------------------------------------------------------------


def _storemon(*args: str, url: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREMON_")}
    return subprocess.run(
        [STOREMON, *args, "--db", url], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_the_command_deletes_a_stores_polls_in_a_range(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    with api_client(url) as client:  # migrates
        load(url, "status", [("s/1", f"2023-01-25 {hour}:00", True) for hour in (10, 11, 12)])
        done = _storemon(
            "polls",
            "delete",
            "--store",
            "s/1",
            "--from",
            "2023-01-25 11:00:00",
            url=url,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        assert "2 polls deleted" in done.stdout
        assert _poll_times(client, "s/1") == ["2023-01-25T10:00:00Z"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--store", "nobody"], "unknown store 'nobody'"),
        (["--store", "s", "--to", "soon"], "--to 'soon' is not a timestamp"),
        (
            ["--store", "s", "--from", "2023-01-25 12:00:00", "--to", "2023-01-25 11:00:00"],
            "--to must not be before --from",
        ),
        (
            ["--store", "s", "--from", "1899-12-31 23:59:59"],
            "--from '1899-12-31 23:59:59' is outside the supported range "
            "(1900-01-01 to 2200-01-01 UTC)",
        ),
        (
            ["--store", "s", "--to", "9999-12-31 23:59:59"],
            "--to '9999-12-31 23:59:59' is outside the supported range "
            "(1900-01-01 to 2200-01-01 UTC)",
        ),
    ],
)
def test_the_command_refuses_mistakes_in_one_line(
    tmp_path: Path, args: list[str], message: str
) -> None:
    url = sqlite_url(tmp_path)
    with api_client(url):
        load(url, "status", [("s", "2023-01-25 10:00", True)])
    done = _storemon("polls", "delete", *args, url=url, cwd=tmp_path)
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"error: {message}")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:  # nothing was removed
            assert newest_poll_us(connection) == us("2023-01-25 10:00")
    finally:
        engine.dispose()

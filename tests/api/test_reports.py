"""The report API (SPEC section 7): the published trigger / poll / CSV flow,
and the project's own endpoints around it, on every database backend."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow.parquet as pq
import sqlalchemy as sa

from storemon.data import reports
from storemon.data.database import make_engine
from storemon.data.schema import stores
from storemon.data.snapshot import reader_for
from storemon.reports.frame import uptime_frame
from storemon.reports.rendering import FORMATS, render_csv
from storemon.reports.service import ReportRequest, build_report

from .feeds import END, ingest_file, store_ids, write_late_poll
from .harness import HeldRunner, running_api, wait_for_report

ALL_STORES = len(store_ids(30, 7))


def report_command_csv(url: str, request: ReportRequest | None = None) -> bytes:
    """What ``storemon report`` writes for the same data and parameters."""
    request = request or ReportRequest()
    return render_csv(uptime_frame(build_report(reader_for(url), request).report, request))


def us(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def test_published_flow_gives_the_csv_of_the_report_command(loaded_url: str) -> None:
    with running_api(loaded_url) as client:
        triggered = client.post("/trigger_report")
        assert triggered.status_code == 200
        report_id = triggered.json()["report_id"]

        done = wait_for_report(client, report_id)

        assert done.headers["content-type"].startswith("text/csv")
        assert done.headers["X-Report-Status"] == "Complete"
        assert done.content == report_command_csv(loaded_url)
        assert done.content.count(b"\n") == ALL_STORES + 1
        by_query = client.get("/get_report", params={"report_id": report_id})
        assert by_query.content == done.content


def test_a_report_reads_running_until_its_job_is_done(loaded_url: str) -> None:
    runner = HeldRunner(loaded_url)
    with running_api(loaded_url, runner=runner) as client:
        report_id = client.post("/trigger_report").json()["report_id"]

        waiting = client.get(f"/get_report/{report_id}")
        assert waiting.status_code == 200
        assert waiting.json() == {"status": "Running"}
        assert waiting.headers["X-Report-Status"] == "Pending"

        runner.run_all()
        done = client.get(f"/get_report/{report_id}")
        assert done.headers["X-Report-Status"] == "Complete"
        assert done.content == report_command_csv(loaded_url)


def test_an_unknown_report_is_a_404_with_a_json_error(database_url: str) -> None:
    with running_api(database_url) as client:
        for response in (
            client.get("/get_report/nope"),
            client.get("/get_report", params={"report_id": "nope"}),
            client.get("/reports/nope"),
            client.get("/reports/nope/download"),
            client.delete("/reports/nope"),
        ):
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/json"
            assert "nope" in response.json()["error"]


def test_a_report_that_fails_reads_failed_with_the_reason(loaded_url: str) -> None:
    # A zone this machine's tz database does not know (say, stored by an
    # older version) makes the report fail: the reason must reach the client.
    engine = make_engine(loaded_url)
    with engine.begin() as connection:
        connection.execute(sa.update(stores).values(timezone="Mars/Olympus_Mons"))
    engine.dispose()
    with running_api(loaded_url) as client:
        report_id = client.post("/trigger_report").json()["report_id"]

        failed = wait_for_report(client, report_id)

        assert failed.headers["X-Report-Status"] == "Failed"
        body = failed.json()
        assert body["status"] == "Failed"
        assert "Mars/Olympus_Mons" in body["error"]
        assert set(body) == {"status", "error"}
        info = client.get(f"/reports/{report_id}").json()
        assert info["status"] == "Failed" and info["error"] == body["error"]


def test_the_body_chooses_as_of_interpolation_and_stores(loaded_url: str) -> None:
    some = store_ids(30, 7)[3:7]
    as_of = END - timedelta(days=2)
    with running_api(loaded_url) as client:
        triggered = client.post(
            "/trigger_report",
            json={
                "as_of": as_of.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "interpolation": "previous",
                "store_ids": [*some, some[0], "not-a-store"],
            },
        )
        assert triggered.status_code == 200, triggered.text

        done = wait_for_report(client, triggered.json()["report_id"])

        request = ReportRequest(
            us(as_of.replace(microsecond=0)), "previous", (*some, "not-a-store")
        )
        assert done.content == report_command_csv(loaded_url, request)
        assert done.content.count(b"\n") == len(some) + 1
        info = client.get(f"/reports/{triggered.json()['report_id']}").json()
        assert info["as_of"] == as_of.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert info["now"] == info["as_of"]
        assert info["interpolation"] == "previous"
        assert info["store_ids"] == [*some, "not-a-store"]


def test_a_bad_trigger_body_is_a_422_with_a_json_error(database_url: str) -> None:
    with running_api(database_url) as client:
        for body in (
            {"as_of": "yesterday"},
            {"interpolation": "linear"},
            {"store_ids": ["  "]},
            {"store_id": ["1"]},  # misspelt
        ):
            response = client.post("/trigger_report", json=body)
            assert response.status_code == 422, body
            assert response.json()["error"]


def test_an_empty_store_list_gives_an_empty_report(loaded_url: str) -> None:
    with running_api(loaded_url) as client:
        report_id = client.post("/trigger_report", json={"store_ids": []}).json()["report_id"]

        done = wait_for_report(client, report_id)

        assert done.content == report_command_csv(loaded_url, ReportRequest(store_ids=()))
        assert done.content.count(b"\n") == 1
        assert client.get(f"/reports/{report_id}").json()["store_ids"] == []


def test_a_single_store_report_has_that_store_only(loaded_url: str) -> None:
    store_id = store_ids(30, 7)[-1]  # the one a spreadsheet would run as a formula
    with running_api(loaded_url) as client:
        triggered = client.post(f"/trigger_single_store_report/{store_id}")
        assert triggered.status_code == 200, triggered.text

        done = wait_for_report(client, triggered.json()["report_id"])

        assert done.content == report_command_csv(loaded_url, ReportRequest(store_ids=(store_id,)))
        assert done.content.splitlines()[1].startswith(b"'=HYPERLINK(1),")
        unknown = client.post("/trigger_single_store_report/no-such-store")
        assert unknown.status_code == 404


def test_reports_are_listed_newest_first_in_pages_and_by_status(loaded_url: str) -> None:
    runner = HeldRunner(loaded_url)
    with running_api(loaded_url, runner=runner) as client:
        ids = [
            client.post("/trigger_report", json={"store_ids": [str(n)]}).json()["report_id"]
            for n in range(5)
        ]
        runner.run_all()
        queued = client.post("/trigger_report", json={"interpolation": "previous"})

        first = client.get("/reports", params={"limit": 4}).json()
        second = client.get("/reports", params={"limit": 4, "offset": 4}).json()
        complete = client.get("/reports", params={"status": "Complete"}).json()
        pending = client.get("/reports", params={"status": "Pending"}).json()

        listed = [item["report_id"] for item in first["items"] + second["items"]]
        assert first["total"] == second["total"] == 6
        assert sorted(listed) == sorted([*ids, queued.json()["report_id"]])
        assert listed[0] == queued.json()["report_id"]
        assert (first["limit"], second["offset"]) == (4, 4)
        assert {item["report_id"] for item in complete["items"]} == set(ids)
        assert [item["report_id"] for item in pending["items"]] == [queued.json()["report_id"]]
        assert client.get("/reports", params={"status": "Lost"}).status_code == 422
        assert client.get("/reports", params={"limit": 0}).status_code == 422
        assert client.get("/reports", params={"offset": 2**63}).status_code == 422


def test_report_metadata_tells_when_and_on_what_data(loaded_url: str) -> None:
    with running_api(loaded_url) as client:
        report_id = client.post("/trigger_report").json()["report_id"]
        wait_for_report(client, report_id)

        info = client.get(f"/reports/{report_id}").json()

        assert info["report_id"] == report_id
        assert info["status"] == "Complete"
        assert (info["interpolation"], info["as_of"], info["store_ids"]) == ("nearest", None, None)
        assert info["now"] == END.isoformat().replace("+00:00", "Z")
        assert info["row_count"] == ALL_STORES
        engine = make_engine(loaded_url)
        try:
            with engine.connect() as connection:
                stored = reports.read_frame(connection, report_id)
        finally:
            engine.dispose()
        assert stored is not None and info["stored_bytes"] == len(stored)
        assert info["attempts"] == 1
        assert info["data_version"] >= 1
        created, finished = (datetime.fromisoformat(info[k]) for k in ("created_at", "finished_at"))
        assert created <= finished <= datetime.now(UTC)
        assert info["duration_s"] >= 0


def test_a_complete_report_downloads_as_csv_json_parquet_and_xlsx(loaded_url: str) -> None:
    with running_api(loaded_url) as client:
        report_id = client.post("/trigger_report").json()["report_id"]
        csv = wait_for_report(client, report_id).content

        def download(fmt: str) -> Any:
            response = client.get(f"/reports/{report_id}/download", params={"format": fmt})
            assert response.status_code == 200, response.text
            assert response.headers["content-disposition"] == (
                f'attachment; filename="report-{report_id}.{fmt}"'
            )
            return response

        as_csv, as_json, as_parquet, as_xlsx = map(download, ("csv", "json", "parquet", "xlsx"))
        by_query = client.get("/download_report", params={"report_id": report_id, "format": "xlsx"})

        assert as_csv.content == csv
        assert as_xlsx.headers["content-type"] == FORMATS["xlsx"][0]
        assert by_query.status_code == 200
        rows = json.loads(as_json.content, parse_float=Decimal)
        table = pq.read_table(io.BytesIO(as_parquet.content)).to_pylist()
        assert rows == table
        assert len(rows) == ALL_STORES
        assert rows[0]["store_id"] == sorted(store_ids(30, 7))[0]
        assert "=HYPERLINK(1)" in {row["store_id"] for row in rows}  # not escaped
        sheet = openpyxl.load_workbook(io.BytesIO(as_xlsx.content), read_only=True).active
        assert sheet is not None
        cells = [list(row) for row in sheet.iter_rows(values_only=True)]
        assert "'=HYPERLINK(1)" in {row[0] for row in cells}  # escaped, as in the CSV
        assert cells[0] == list(rows[0]) and len(cells) == ALL_STORES + 1
        first_line = csv.splitlines()[1].decode().split(",")
        assert [rows[0][name] for name in list(rows[0])[1:]] == list(map(Decimal, first_line[1:]))
        assert (
            client.get(f"/reports/{report_id}/download", params={"format": "xls"}).status_code
            == 422
        )


def test_a_report_not_yet_complete_cannot_be_downloaded(loaded_url: str) -> None:
    with running_api(loaded_url, runner=HeldRunner(loaded_url)) as client:
        report_id = client.post("/trigger_report").json()["report_id"]

        response = client.get(f"/reports/{report_id}/download")

        assert response.status_code == 409
        assert "Pending" in response.json()["error"]


def test_a_deleted_report_is_gone(loaded_url: str) -> None:
    with running_api(loaded_url) as client:
        report_id = client.post("/trigger_report").json()["report_id"]
        wait_for_report(client, report_id)

        assert client.delete(f"/reports/{report_id}").status_code == 204

        assert client.get(f"/get_report/{report_id}").status_code == 404
        assert client.delete(f"/reports/{report_id}").status_code == 404


def test_the_same_parameters_on_unchanged_data_reuse_the_report(loaded_url: str) -> None:
    with running_api(loaded_url) as client:
        first = client.post("/trigger_report", json={"store_ids": ["b", "a"]}).json()
        again_while_queued = client.post("/trigger_report", json={"store_ids": ["a", "b", "a"]})
        wait_for_report(client, first["report_id"])
        again_when_done = client.post("/trigger_report", json={"store_ids": ["a", "b"]}).json()
        other = client.post("/trigger_report", json={"store_ids": ["a"]}).json()

        assert first["reused"] is False
        assert again_while_queued.json()["report_id"] == first["report_id"]
        assert again_while_queued.json()["reused"] is True
        assert again_when_done == {
            "report_id": first["report_id"],
            "status": "Complete",
            "reused": True,
        }
        assert other["report_id"] != first["report_id"] and other["reused"] is False


def test_new_data_computes_a_new_report(loaded_url: str, tmp_path: Path) -> None:
    late_store = store_ids(30, 7)[0]
    with running_api(loaded_url) as client:
        first = client.post("/trigger_report").json()["report_id"]
        before = wait_for_report(client, first).content

        ingest_file(loaded_url, "status", write_late_poll(tmp_path, late_store))
        second = client.post("/trigger_report").json()

        assert second["reused"] is False and second["report_id"] != first
        after = wait_for_report(client, second["report_id"]).content
        assert after != before
        assert after == report_command_csv(loaded_url)
        info = client.get(f"/reports/{second['report_id']}").json()
        assert info["now"] == (END + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")


def test_a_full_queue_answers_503_with_retry_after(loaded_url: str) -> None:
    runner = HeldRunner(loaded_url)
    with running_api(loaded_url, runner=runner, queue_limit=2) as client:
        for store in ("a", "b"):
            assert client.post("/trigger_report", json={"store_ids": [store]}).status_code == 200

        full = client.post("/trigger_report", json={"store_ids": ["c"]})
        reused = client.post("/trigger_report", json={"store_ids": ["a"]})

        assert full.status_code == 503
        assert int(full.headers["Retry-After"]) > 0
        assert "try again" in full.json()["error"]
        assert reused.status_code == 200 and reused.json()["reused"] is True
        runner.run_all()
        assert client.post("/trigger_report", json={"store_ids": ["c"]}).status_code == 200


def test_reports_left_unfinished_are_run_again_at_start(loaded_url: str) -> None:
    # What a server that died mid-report leaves behind.
    engine = make_engine(loaded_url)
    with engine.begin() as connection:
        version = reports.data_version(connection)
        queued = reports.create(connection, reports.ReportParams(), version)
        running = reports.create(connection, reports.ReportParams(store_ids=("x",)), version)
        exhausted = reports.create(connection, reports.ReportParams(store_ids=("y",)), version)
        for record in (running, exhausted):
            for _ in range(1 if record is running else 3):
                reports.requeue(connection, record.id)
                assert reports.claim(connection, record.id)
    engine.dispose()

    with running_api(loaded_url, job_attempts=3) as client:
        done = wait_for_report(client, queued.id)
        also_done = wait_for_report(client, running.id)
        gave_up = wait_for_report(client, exhausted.id)

        assert done.content == report_command_csv(loaded_url)
        assert also_done.headers["X-Report-Status"] == "Complete"
        assert gave_up.json()["status"] == "Failed"
        assert "3 attempts" in gave_up.json()["error"]
        assert client.get(f"/reports/{running.id}").json()["attempts"] == 2


def test_mutating_endpoints_need_the_api_key_when_one_is_set(loaded_url: str) -> None:
    key = "k" * 32
    with running_api(loaded_url, api_key=key) as client:
        refused = client.post("/trigger_report")
        wrong = client.post("/trigger_report", headers={"X-API-Key": "x" * 32})
        allowed = client.post("/trigger_report", headers={"X-API-Key": key})

        assert refused.status_code == wrong.status_code == 401
        assert refused.json()["error"]
        assert allowed.status_code == 200
        report_id = allowed.json()["report_id"]
        assert client.get(f"/get_report/{report_id}").status_code == 200  # reading is open
        assert client.delete(f"/reports/{report_id}").status_code == 401

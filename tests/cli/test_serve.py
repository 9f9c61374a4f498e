"""``storemon serve`` and ``storemon demo`` as real processes on 127.0.0.1:
the published client flow, and a server killed mid-report that finishes the
report after a restart."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import Message
from pathlib import Path
from typing import Any

STOREMON = str(Path(sys.executable).with_name("storemon"))
START_TIMEOUT_S = 90  # the demo loads the sample data set first
REPORT_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def request(url: str, method: str = "GET", body: Any = None) -> tuple[int, Message, bytes]:
    """Status, headers (any letter case) and body."""
    data = None if body is None else json.dumps(body).encode()
    call = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        call.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(call, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class Server:
    def __init__(self, process: subprocess.Popen[bytes], log: Path, base: str) -> None:
        self.process, self.log, self.base = process, log, base

    def get(self, path: str) -> tuple[int, Message, bytes]:
        return request(self.base + path)

    def post(self, path: str, body: Any = None) -> Any:
        status, _, content = request(self.base + path, "POST", body)
        assert status == 200, content
        return json.loads(content)

    def kill(self) -> None:
        """SIGKILL for the whole process group: the server and its workers."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@contextmanager
def running(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[Server]:
    port = port or free_port()
    log = tmp_path / f"server-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [STOREMON, *args, "--port", str(port)],
            cwd=tmp_path,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, log, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if server.get("/reports")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def report_row(db: Path, report_id: str) -> tuple[str, int]:
    with sqlite3.connect(db) as connection:
        row = connection.execute(
            "select status, attempts from reports where id = ?", (report_id,)
        ).fetchone()
    connection.close()
    return row[0], row[1]


def poll_until_done(server: Server, report_id: str) -> tuple[Message, bytes]:
    deadline = time.monotonic() + REPORT_TIMEOUT_S
    while True:
        status, headers, content = server.get(f"/get_report/{report_id}")
        assert status == 200, content
        if headers["X-Report-Status"] not in ("Pending", "Running"):
            return headers, content
        assert json.loads(content) == {"status": "Running"}
        assert time.monotonic() < deadline, f"report {report_id} never finished"
        time.sleep(0.05)


def test_serve_prints_its_url_and_command_line_flags_beat_the_environment(
    tmp_path: Path,
) -> None:
    port = free_port()
    db = tmp_path / "flags.db"
    env = {"STOREMON_PORT": str(free_port()), "STOREMON_DATABASE_URL": "sqlite:///elsewhere.db"}
    with running(tmp_path, "serve", "--db", f"sqlite:///{db}", env=env, port=port) as server:
        status, _, body = server.get("/reports")
        os.killpg(server.process.pid, signal.SIGINT)
        assert server.process.wait(timeout=20) == 0

    assert status == 200 and json.loads(body)["total"] == 0  # no sample without --sample
    assert f"serving http://127.0.0.1:{port}/" in server.log.read_text()
    assert db.exists() and not (tmp_path / "elsewhere.db").exists()


def test_a_server_killed_mid_report_finishes_it_after_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "storemon.db"
    url = f"sqlite:///{db}"
    # The killed server's leases expire after STOREMON_LEASE_SECONDS.
    quick = {"STOREMON_LEASE_SECONDS": "3", "STOREMON_SWEEP_INTERVAL_SECONDS": "0.5"}
    # Kill the server and its workers while a worker computes. A report can
    # finish between two looks at it; then try again with new parameters.
    for minute in range(3):
        with running(tmp_path, "demo", "--db", url, env=quick) as first:
            if minute == 0:
                loading = first.log.read_text()
                assert "loading the sample data set" in loading
                assert "status: 1838007 loaded, 0 rejected" in loading
            as_of = f"2023-01-25 18:{minute:02}:00"
            report_id = first.post("/trigger_report", {"as_of": as_of})["report_id"]
            while report_row(db, report_id)[0] == "Pending":
                time.sleep(0.002)
            first.kill()
        if report_row(db, report_id)[0] == "Running":
            break
    else:
        raise AssertionError("every report finished before the kill: use more data")
    started = first.log.read_text()
    assert f"serving {first.base}/" in started

    with running(tmp_path, "demo", "--db", url, env=quick) as second:
        headers, csv = poll_until_done(second, report_id)
        info = json.loads(second.get(f"/reports/{report_id}")[2])

    # The demo loads the sample data set into an empty database only.
    assert "loading the sample data set" not in second.log.read_text()
    assert headers["X-Report-Status"] == "Complete"
    assert info["attempts"] == 2
    expected = tmp_path / "expected.csv"
    subprocess.run(
        [STOREMON, "report", "--db", url, "--out", str(expected), "--as-of", as_of],
        check=True,
        capture_output=True,
    )
    assert csv == expected.read_bytes()
    assert csv.count(b"\n") > 10_000

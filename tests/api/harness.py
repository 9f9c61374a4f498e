"""The API on a real database, with report jobs run by stand-in runners.

``ThreadRunner`` runs the real job (``run_report``) on a thread of
the test process: the same work and transactions as a pool worker, without
spawning processes for every test. ``HeldRunner`` only records what it is
given, so a test sees a report while it is still queued, and fills the queue.
The process pool itself is tested in ``tests/jobs``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient

from storemon.api.app import create_app
from storemon.data.database import make_engine
from storemon.data.snapshot import reader_for
from storemon.reports.job import run_report
from storemon.reports.runner import ReportRunner
from storemon.settings import Settings

#: Longest a test waits for a report.
REPORT_TIMEOUT_S = 30


class ThreadRunner(ReportRunner):
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._engine = make_engine(database_url)
        self._threads = ThreadPoolExecutor(max_workers=1)

    def start(self) -> None:
        pass

    def submit(self, report_id: str) -> None:
        self._threads.submit(run_report, self._engine, reader_for(self._url), report_id)

    def shutdown(self) -> None:
        self._threads.shutdown(wait=True)
        self._engine.dispose()


class HeldRunner(ReportRunner):
    """Keeps every job queued until the test runs it."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self.submitted: list[str] = []

    def start(self) -> None:
        pass

    def submit(self, report_id: str) -> None:
        self.submitted.append(report_id)

    def run_all(self) -> None:
        engine = make_engine(self._url)
        try:
            while self.submitted:
                run_report(engine, reader_for(self._url), self.submitted.pop(0))
        finally:
            engine.dispose()

    def shutdown(self) -> None:
        pass


@contextmanager
def running_api(
    url: str, runner: ReportRunner | None = None, **settings: Any
) -> Iterator[TestClient]:
    """A TestClient on a started app (lifespan run: migration, recovery)."""
    app = create_app(Settings(database_url=url, **settings), runner=runner or ThreadRunner(url))
    with TestClient(app) as client:
        yield client


def wait_for_report(client: TestClient, report_id: str) -> Any:
    """Poll the published way until the report is no longer Running."""
    deadline = time.monotonic() + REPORT_TIMEOUT_S
    while True:
        response = client.get(f"/get_report/{report_id}")
        assert response.status_code == 200, response.text
        if response.headers["content-type"].startswith("text/csv"):
            return response
        if response.json()["status"] != "Running":
            return response
        assert time.monotonic() < deadline, f"report {report_id} still running"
        time.sleep(0.02)


@contextmanager
def served(app: Any) -> Iterator[str]:
    """``app`` served over HTTP by uvicorn on a thread of the test process,
    for the whole ``with`` block (one lifespan: started once, shut down
    once); yields its base URL."""
    import socket
    import threading

    import uvicorn

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + REPORT_TIMEOUT_S
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=REPORT_TIMEOUT_S)
        listener.close()

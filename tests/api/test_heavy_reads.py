"""Expensive reads are bounded: a poll cap per time line and per outages
request, and a few heavy reads (time lines, outages) at a time, so a burst
of them cannot starve the rest of the server (run as a real server process,
with real concurrency)."""

from __future__ import annotations

import http.client
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl

from cli.test_serve import running
from storemon.data.database import make_engine
from storemon.ingest.service import load_chunks

from .fixtures_ops import _REJECTS, _Chunk, api_client, load, sqlite_url

DENSE_POLLS = 100_000
#: Three weeks from 2023-01-18, the longest span a time line takes.
DENSE_SPAN = {"start": "2023-01-18T00:00:00Z", "end": "2023-02-08T00:00:00Z"}
DENSE_PATH = "/stores/dense/timeline?start=2023-01-18T00:00:00Z&end=2023-02-08T00:00:00Z"
#: Every kind of heavy read over those three weeks.
HEAVY_PATHS = [
    DENSE_PATH,
    "/stores/dense/outages?from=2023-01-18T00:00:00Z&to=2023-02-08T00:00:00Z",
    "/outages?from=2023-01-18T00:00:00Z&to=2023-02-08T00:00:00Z&sort=length",
]
HEAVY_READS = 10
HEALTH_P99_LIMIT_S = 0.050


def _dense_store(url: str) -> None:
    """A store polled every 18 s for three weeks (100,000 polls)."""
    with api_client(url):  # creates the schema
        pass
    start_us = 1_674_000_000 * 1_000_000
    step_us = 21 * 86_400 * 1_000_000 // DENSE_POLLS
    valid = pl.DataFrame(
        {
            "store_id": ["dense"] * DENSE_POLLS,
            "ts_us": start_us + np.arange(DENSE_POLLS, dtype=np.int64) * step_us,
            "active": np.arange(DENSE_POLLS) % 7 != 0,
            "line": np.arange(2, DENSE_POLLS + 2),
        }
    )
    engine = make_engine(url)
    try:
        load_chunks(engine, "status", [_Chunk(valid, pl.DataFrame(schema=_REJECTS), DENSE_POLLS)])
    finally:
        engine.dispose()


def _get(port: int, path: str) -> tuple[int, dict[str, str]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    finally:
        connection.close()


def test_health_stays_fast_while_ten_heavy_reads_run(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    _dense_store(url)
    env = {"STOREMON_HEAVY_READ_WAIT_S": "120"}
    with running(tmp_path, "serve", "--db", url, env=env) as server:
        port = int(server.base.rsplit(":", 1)[1])
        health = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latencies = []
        with ThreadPoolExecutor(HEAVY_READS) as pool:
            heavy = [
                pool.submit(_get, port, HEAVY_PATHS[i % len(HEAVY_PATHS)])
                for i in range(HEAVY_READS)
            ]
            time.sleep(0.2)  # the reads are under way
            while not all(future.done() for future in heavy):
                started = time.perf_counter()
                health.request("GET", "/health")
                assert health.getresponse().read() == b'{"status":"ok"}'
                latencies.append(time.perf_counter() - started)
                time.sleep(0.01)
        health.close()
        statuses = [future.result()[0] for future in heavy]

    assert statuses == [200] * HEAVY_READS
    assert len(latencies) >= 50
    p99 = float(np.quantile(latencies, 0.99))
    assert p99 < HEALTH_P99_LIMIT_S, f"/health p99 {p99 * 1000:.1f} ms over {len(latencies)}"


def test_a_heavy_read_that_waits_too_long_is_told_to_come_back(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    _dense_store(url)
    env = {"STOREMON_MAX_HEAVY_READS": "1", "STOREMON_HEAVY_READ_WAIT_S": "0.05"}
    answers = {}
    with running(tmp_path, "serve", "--db", url, env=env) as server:
        port = int(server.base.rsplit(":", 1)[1])
        for path in HEAVY_PATHS:
            with ThreadPoolExecutor(4) as pool:
                answers[path] = list(pool.map(lambda _, p=path: _get(port, p), range(4)))

    for path, answered in answers.items():
        statuses = sorted(status for status, _ in answered)
        assert statuses[0] == 200, (path, statuses)
        assert 503 in statuses, (path, statuses)
        assert all(headers["retry-after"] == "1" for status, headers in answered if status == 503)


def test_a_time_line_over_the_poll_cap_asks_for_a_shorter_span(tmp_path: Path) -> None:
    with api_client(sqlite_url(tmp_path), max_timeline_polls=2) as client:
        load(
            sqlite_url(tmp_path),
            "status",
            [("s", f"2023-01-25 {hour}:00", True) for hour in (10, 11, 12)],
        )
        span = {"start": "2023-01-25T00:00:00Z", "end": "2023-01-26T00:00:00Z"}
        over = client.get("/stores/s/timeline", params=span)
        shorter = client.get("/stores/s/timeline", params={**span, "end": "2023-01-25T11:30:00Z"})

    assert over.status_code == 422, over.text
    assert "3 polls, more than 2" in over.json()["error"]
    assert shorter.status_code == 200, shorter.text


def test_outages_over_the_poll_cap_ask_for_a_shorter_range(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    with api_client(url, max_outage_polls=3) as client:
        hours = (10, 11, 12)
        load(url, "status", [(s, f"2023-01-25 {hour}:00", False) for s in "ab" for hour in hours])
        day = {"from": "2023-01-25 00:00:00", "to": "2023-01-26 00:00:00"}
        fleet = client.get("/outages", params=day)
        one_store = client.get("/stores/a/outages", params=day)

    assert fleet.status_code == 422, fleet.text
    assert fleet.json()["error"] == (
        "the range holds 6 polls, more than 3: ask for a shorter range"
    )
    # One store's outages read that store's polls only.
    assert one_store.status_code == 200, one_store.text
    assert one_store.json()["total"] == 1

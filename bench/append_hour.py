"""The hourly append: one hour of polls for every store into a database that
already holds weeks of history, as a CSV upload and as a JSON batch.

    .venv/bin/python bench/append_hour.py [--weeks 8] [--stores 14400] [--runs 3]
        [--postgresql postgresql://postgres@127.0.0.1:5432/postgres] [--no-postgresql]

The history is written straight into the ``polls`` table by SQL (one poll per
store and hour, for ``--weeks`` weeks), the stores through the ingest. Each
append is a request to the app in this process (``POST /ingest/status`` with
the CSV, ``POST /polls`` with the JSON), timed from sending it to the answer:
the server's side of the hourly feed, without a network. Each run appends a
new hour, so every poll is new, as in production.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import harness
from fastapi.testclient import TestClient

from storemon.api.app import create_app
from storemon.data.database import make_engine
from storemon.settings import Settings

HOUR_US = 3_600_000_000
START = datetime(2023, 1, 1, tzinfo=UTC)
#: Settings the bench needs: a key (mutating routes), batches of every store.
API_KEY = "bench-api-key-0123456789"


def _us(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000


def _store_ids(count: int) -> list[str]:
    return [f"store-{i:06d}" for i in range(count)]


def fill_history(url: str, stores: int, weeks: int) -> int:
    """Stores through the app's own ingest, polls by SQL; returns the newest poll."""
    hours = weeks * 7 * 24
    newest = _us(START) + (hours - 1) * HOUR_US
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql(
                    "WITH RECURSIVE h(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM h "
                    f"WHERE i + 1 < {hours}) "
                    "INSERT INTO polls (store_key, ts_us, active) "
                    f"SELECT s.store_key, {_us(START)} + h.i * {HOUR_US} + s.store_key * 1000000, "
                    "(h.i + s.store_key) % 7 <> 0 FROM stores s CROSS JOIN h "
                    "ORDER BY s.store_key, h.i"
                )
            else:
                conn.exec_driver_sql(
                    "INSERT INTO polls (store_key, ts_us, active) "
                    f"SELECT s.store_key, {_us(START)} + h * {HOUR_US}::bigint "
                    "+ s.store_key * 1000000, "
                    "mod(h + s.store_key, 7) <> 0 "
                    f"FROM stores s CROSS JOIN generate_series(0, {hours - 1}) AS h"
                )
            conn.exec_driver_sql(f"UPDATE dataset_state SET newest_poll_us = {newest}")
            # What the ingest would have kept: each store's first poll (h = 0).
            conn.exec_driver_sql(
                f"UPDATE stores SET first_poll_us = {_us(START)} + store_key * 1000000"
            )
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("ANALYZE polls")
    finally:
        engine.dispose()
    return newest


def _hour_csv(store_ids: list[str], hour_start_us: int) -> bytes:
    lines = ["store_id,status,timestamp_utc"]
    for i, store_id in enumerate(store_ids):
        moment = datetime.fromtimestamp((hour_start_us + i * 200_000) / 1e6, tz=UTC)
        lines.append(
            f"{store_id},{'active' if i % 5 else 'inactive'},{moment:%Y-%m-%d %H:%M:%S.%f} UTC"
        )
    return ("\n".join(lines) + "\n").encode()


def _hour_json(store_ids: list[str], hour_start_us: int) -> bytes:
    polls = []
    for i, store_id in enumerate(store_ids):
        moment = datetime.fromtimestamp((hour_start_us + i * 200_000) / 1e6, tz=UTC)
        polls.append(
            {
                "store_id": store_id,
                "status": "active" if i % 5 else "inactive",
                "timestamp_utc": moment.isoformat().replace("+00:00", "Z"),
            }
        )
    return json.dumps({"polls": polls}).encode()


@contextmanager
def _client(url: str) -> Iterator[TestClient]:
    settings = Settings(_env_file=None, database_url=url, api_key=API_KEY)  # type: ignore[call-arg]
    with TestClient(create_app(settings), headers={"X-API-Key": API_KEY}) as client:
        yield client


def measure(url: str, stores: int, weeks: int, runs: int) -> dict[str, list[float]]:
    store_ids = _store_ids(stores)
    timings: dict[str, list[float]] = {"csv": [], "json": []}
    with _client(url) as client:
        zones = "store_id,timezone_str\n" + "".join(f"{s},UTC\n" for s in store_ids)
        loaded = client.post("/ingest/timezones", content=zones.encode())
        assert loaded.status_code == 200, loaded.text
        started = time.perf_counter()
        newest = fill_history(url, stores, weeks)
        print(f"  history: {stores * weeks * 168:,} polls in {time.perf_counter() - started:.0f} s")
        hour = newest + HOUR_US
        for _ in range(runs):
            for kind in ("csv", "json"):
                hour += HOUR_US
                if kind == "csv":
                    body, path = _hour_csv(store_ids, hour), "/ingest/status"
                    headers = {"Content-Type": "text/csv"}
                else:
                    body, path = _hour_json(store_ids, hour), "/polls"
                    headers = {"Content-Type": "application/json"}
                started = time.perf_counter()
                response = client.post(path, content=body, headers=headers)
                timings[kind].append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
                assert response.json()["loaded"] == stores, response.text
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weeks", type=int, default=8)
    parser.add_argument("--stores", type=int, default=14_400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgresql", default=harness.DEFAULT_POSTGRESQL)
    parser.add_argument("--no-postgresql", action="store_true")
    args = parser.parse_args()
    print(f"{args.stores:,} stores, {args.weeks} weeks of hourly polls, {args.runs} appends each")
    print("| database | history (polls) | CSV upload (s), median (min-max) | JSON batch (s) |")
    print("| --- | --- | --- | --- |")
    backends: list[tuple[str, object]] = [("sqlite", None)]
    if not args.no_postgresql:
        backends.append(("postgresql", args.postgresql))
    for name, admin in backends:
        with tempfile.TemporaryDirectory() as folder:
            if admin is None:
                timings = measure(
                    f"sqlite:///{Path(folder) / 'a.db'}", args.stores, args.weeks, args.runs
                )
            else:
                with harness.scratch_postgresql(str(admin), "append") as url:
                    timings = measure(url, args.stores, args.weeks, args.runs)
        cells = [
            f"{statistics.median(t):.3f} ({min(t):.3f}-{max(t):.3f})"
            for t in (timings["csv"], timings["json"])
        ]
        history = args.stores * args.weeks * 168
        print(f"| {name} | {history:,} | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())

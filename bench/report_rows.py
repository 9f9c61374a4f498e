"""Reading a finished 144k-store report a page at a time, server-side.

    .venv/bin/python bench/report_rows.py [--stores 144000] [--runs 20] [--db URL]

Stores one finished section 5 report of ``--stores`` stores (ids of 36
characters, like the data set's, values drawn at random in the report's
exact schema: how the values arose does not change the cost of reading
them), then times requests through the application in this process (the
ASGI app with its routing, validation and JSON; no network), so the figures
are server-side:

- the first page after start, sorted by downtime: reading the stored frame
  from the database, decoding it, sorting it, one page;
- the same page again (the decoded report and its order are cached);
- other sorts, filters and the summary, each the median of ``--runs``.

Prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
from fastapi.testclient import TestClient

from storemon.api.app import create_app
from storemon.data import reports
from storemon.data.database import make_engine
from storemon.data.migrate import migrate
from storemon.data.reports import ReportParams
from storemon.engine import COLUMNS
from storemon.reports.frame import decimal_column, encode_frame, report_frame
from storemon.settings import Settings

TARGET_S = 0.2


def _frame(stores: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    ids = sorted(str(uuid.UUID(int=int(v))) for v in rng.integers(0, 2**63, stores))
    columns: dict[str, pa.Array] = {"store_id": pa.array(ids, pa.string())}
    limits = {"last_hour": 6000, "last_day": 2400, "last_week": 16800}
    business = {w: rng.integers(0, limit + 1, stores) for w, limit in limits.items()}
    down = {w: (business[w] * rng.beta(0.3, 6, stores)).astype(np.int64) for w in limits}
    for name, _, _ in COLUMNS:
        kind, window = name.split("_", 1)
        values = business[window] - down[window] if kind == "uptime" else down[window]
        columns[name] = decimal_column(values)
    return report_frame("uptime", columns, 0, {"as_of_us": None, "interpolation": "nearest"})


def _store(url: str, frame: pa.Table) -> str:
    engine = make_engine(url)
    try:
        migrate(engine)
        with engine.begin() as connection:
            record = reports.create(connection, ReportParams(), 0)
            reports.claim(connection, record.id)
            reports.complete(connection, record.id, encode_frame(frame), frame.num_rows, 0, 0)
        return record.id
    finally:
        engine.dispose()


def _once(client: TestClient, path: str, params: dict[str, object] | None = None) -> float:
    started = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{path} {params}: {response.status_code} {response.text[:300]}")
    return elapsed


def _median(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=144_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--db", help="database URL (default: a new SQLite file)")
    args = parser.parse_args()

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        url = args.db or f"sqlite:///{Path(folder) / 'rows.db'}"
        frame = _frame(args.stores)
        report_id = _store(url, frame)
        app = create_app(Settings(database_url=url, _env_file=None))  # type: ignore[call-arg]
        rows = f"/reports/{report_id}/rows"
        with TestClient(app) as client:
            client.get("/health")  # the app started: not part of any figure
            cold = _once(client, rows)
            warm = _median(args.runs, lambda: _once(client, rows))
            cases = {
                "page 100 of the default sort": {"offset": 99 * 50},
                "sorted by uptime_last_day, ascending": {"sort": "uptime_last_day"},
                "prefix `ab` + downtime_last_week ≥ 1 h": {
                    "prefix": "ab",
                    "min": "downtime_last_week:1",
                },
                "uptime_last_week ≤ 100 h, 500 rows": {
                    "max": "uptime_last_week:100",
                    "limit": 500,
                },
            }
            timed = {}
            for label, params in cases.items():
                first = _once(client, rows, params)
                again = _median(args.runs, lambda p=params: _once(client, rows, p))  # type: ignore[misc]
                timed[label] = (first, again)
            summary = f"/reports/{report_id}/summary"
            summary_first = _once(client, summary)
            summary_again = _median(args.runs, lambda: _once(client, summary))

    load_after = os.getloadavg()
    print(
        f"{args.stores:,} stores, frame {frame.nbytes / 2**20:.1f} MiB decoded; "
        f"{args.runs} runs; load average before {' / '.join(f'{v:.2f}' for v in load_before)}, "
        f"after {' / '.join(f'{v:.2f}' for v in load_after)}"
    )
    print()
    print("| request | first | again (median) | target |")
    print("| --- | --- | --- | --- |")
    met = "met" if cold <= TARGET_S and warm <= TARGET_S else "NOT met"
    print(
        f"| first page sorted by downtime_last_week (default) | {cold * 1000:.0f} ms "
        f"| {warm * 1000:.1f} ms | ≤ 200 ms: {met} |"
    )
    for label, (first, again) in timed.items():
        print(f"| {label} | {first * 1000:.0f} ms | {again * 1000:.1f} ms | |")
    print(f"| summary | {summary_first * 1000:.0f} ms | {summary_again * 1000:.1f} ms | |")


if __name__ == "__main__":
    main()

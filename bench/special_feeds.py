"""Loading and reading back the special hours and groups feeds at scale 1.

    .venv/bin/python bench/special_feeds.py                       # SQLite, PostgreSQL, MariaDB
    .venv/bin/python bench/special_feeds.py --backends sqlite

Feeds for 14,400 stores: ten special rows each (holidays, some closed, some
past midnight: 144k rows) and two group memberships each (28.8k rows). Each
backend gets a new database; the figures are wall times of one run of
``ingest_feed`` (first load, then the same file again) and the fastest of
five runs of the array reads ``read_special_hours`` and ``read_memberships``
on one connection.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from storemon.data.database import make_engine
from storemon.data.groups import read_memberships
from storemon.data.migrate import migrate
from storemon.data.special_hours import read_special_hours
from storemon.ingest.service import ingest_feed

STORES = 14_400
#: Reads are repeated; the fastest counts (the machine may be busy).
READ_RUNS = 5
SERVERS = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/mysql",
}


def write_feeds(folder: Path) -> tuple[Path, Path]:
    rnd = random.Random(8)
    ids = [str(rnd.randrange(10**18, 10**19)) for _ in range(STORES)]
    special = folder / "special_hours.csv"
    with special.open("w") as out:
        out.write("store_id,date,start_time_local,end_time_local\n")
        for store in ids:
            for day in range(1, 11):
                if rnd.random() < 0.3:
                    out.write(f"{store},2023-12-{day + 20:02d},,\n")
                else:
                    start = rnd.randrange(6, 23)
                    out.write(f"{store},2023-12-{day + 20:02d},{start:02d}:00,02:30\n")
    groups = folder / "groups.csv"
    with groups.open("w") as out:
        out.write("store_id,group\n")
        for store in ids:
            out.write(f"{store},region-{rnd.randrange(20)}\n{store},Brand {rnd.randrange(5)}\n")
    return special, groups


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def run(url: str, special: Path, groups: Path) -> list[str]:
    migrate(url)
    engine = make_engine(url)
    lines = []
    try:
        for feed, path in (("special_hours", special), ("groups", groups)):
            first, result = timed(lambda f=feed, p=path: ingest_feed(engine, f, p))
            again, _ = timed(lambda f=feed, p=path: ingest_feed(engine, f, p))
            lines.append(
                f"  ingest {feed}: {result.loaded} rows {first:.2f} s, again {again:.2f} s"
            )
        with engine.connect() as conn:
            for name, read in (
                ("read_special_hours", lambda: len(read_special_hours(conn))),
                ("read_memberships", lambda: read_memberships(conn).num_rows),
            ):
                runs = [timed(read) for _ in range(READ_RUNS)]
                best = min(seconds for seconds, _ in runs)
                lines.append(f"  {name}: {runs[0][1]} rows {best * 1000:.0f} ms")
    finally:
        engine.dispose()
    return lines


def server_database(backend: str) -> tuple[str, Callable[[], None]]:
    from sqlalchemy import create_engine, text

    admin_url = SERVERS[backend]
    name = f"storemon_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        charset = " CHARACTER SET utf8mb4" if backend == "mysql" else ""
        conn.execute(text(f"CREATE DATABASE {name}{charset}"))

    def drop() -> None:
        with admin.connect() as conn:
            force = " WITH (FORCE)" if backend == "postgresql" else ""
            conn.execute(text(f"DROP DATABASE {name}{force}"))
        admin.dispose()

    return admin_url.rpartition("/")[0] + f"/{name}", drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql", "mysql"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="storemon-bench-") as folder:
        special, groups = write_feeds(Path(folder))
        for backend in args.backends:
            if backend == "sqlite":
                url, drop = f"sqlite:///{Path(folder) / 'bench.db'}", None
            else:
                url, drop = server_database(backend)
            try:
                print(backend)
                print("\n".join(run(url, special, groups)))
            finally:
                if drop is not None:
                    drop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

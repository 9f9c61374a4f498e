"""One report over many workers: the scale-10 data set on PostgreSQL, the
report split into shards (``STOREMON_SHARD_STORES``) and run by 1, 2 and 4
``storemon worker`` processes (Celery on Redis), against the report computed
whole in one process.

    .venv/bin/python bench/shards.py                      # writes docs/performance.md
    .venv/bin/python bench/shards.py --workers 1 2 --no-write

The data set (``--data-dir``, made by the shared generator if missing) is
loaded once into the PostgreSQL database ``--db`` and reused by later runs
(its dataset version is unchanged, so every run reads the same data).

For each number of workers: the workers are started and warmed up (a first
sharded report, not timed), then one report is triggered and timed from
the moment its task is sent to the moment it is Complete. Per shard, each
worker logs its stores, polls read, read time, total time and its process's
peak RSS; per worker the peak RSS is the largest its report process
reached. The assembled frame is checked byte for byte against the report
computed whole.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import harness

from storemon.data import reports
from storemon.data.database import make_engine
from storemon.data.migrate import migrate
from storemon.data.reports import ReportParams
from storemon.data.snapshot import reader_for
from storemon.jobs.celery_runner import CeleryRunner
from storemon.reports.frame import encode_frame
from storemon.reports.frames import report_frame_of
from storemon.reports.service import ReportRequest, build_report

STOREMON = Path(sys.executable).with_name("storemon")
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/storemon_bench_shards10"
SHARD_LINE = re.compile(
    r"shard (?P<shard>\d+) \((?P<stores>\d+) stores, (?P<polls>\d+) polls, \d+ rows\) "
    r"(?P<outcome>\w+) in (?P<total>[\d.]+) s \(read (?P<read>[\d.]+) s\); "
    r"peak RSS (?P<rss>\d+) MB"
)


@dataclass
class Shard:
    worker: int
    stores: int
    polls: int
    total_s: float
    read_s: float
    rss_mb: float


@dataclass
class Result:
    workers: int
    wall_s: float
    shards: list[Shard]
    peak_mb: list[float]


def ensure_database(url: str, data_dir: Path, scale: int, make_dataset: Path) -> None:
    import psycopg
    import sqlalchemy as sa

    admin = url.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')
    migrate(url)
    engine = make_engine(url)
    with engine.connect() as connection:
        polls = connection.execute(sa.text("select newest_poll_us from dataset_state")).scalar()
    engine.dispose()
    if polls is not None:
        return
    generator = harness.dataset_generator(make_dataset, STOREMON)
    files = harness.ensure_dataset(generator, data_dir, scale)
    print(f"# loading {data_dir} into {name} (a minute or two)", flush=True)
    subprocess.run([str(a) for a in harness.ingest_argv(STOREMON, url, files)], check=True)


def whole_report(url: str) -> tuple[bytes, float]:
    started = time.perf_counter()
    request = ReportRequest()
    built = build_report(reader_for(url), request)
    frame = encode_frame(report_frame_of(built.report, request))
    return frame, time.perf_counter() - started


def start_workers(
    count: int, env: dict[str, str], logs: list[Path]
) -> list[subprocess.Popen[bytes]]:
    workers = []
    for n in range(count):
        with logs[n].open("wb") as out:
            workers.append(
                subprocess.Popen(
                    [str(STOREMON), "worker", "--loglevel", "INFO"],
                    env={**os.environ, **env},
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    deadline = time.monotonic() + 120
    while not all("ready." in log.read_text() for log in logs[:count]):
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start:\n" + logs[0].read_text()[-2000:])
        time.sleep(0.2)
    return workers


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for process in workers:
        os.killpg(process.pid, signal.SIGTERM)
    for process in workers:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_report(url: str, runner: CeleryRunner) -> tuple[str, float]:
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            record = reports.create(connection, ReportParams(), reports.data_version(connection))
        started = time.perf_counter()
        runner.submit(record.id)
        while True:
            with engine.connect() as connection:
                current = reports.get(connection, record.id)
            assert current is not None
            if current.status not in reports.UNFINISHED:
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        if current.status is not reports.ReportStatus.complete:
            raise SystemExit(f"report failed: {current.error}")
        return record.id, wall
    finally:
        engine.dispose()


def shards_of(report_id: str, logs: list[Path]) -> list[Shard]:
    found = []
    for worker, log in enumerate(logs):
        for line in log.read_text().splitlines():
            if report_id in line and (match := SHARD_LINE.search(line)):
                found.append(
                    Shard(
                        worker,
                        int(match["stores"]),
                        int(match["polls"]),
                        float(match["total"]),
                        float(match["read"]),
                        float(match["rss"]),
                    )
                )
    return found


def measure(url: str, count: int, shard_stores: int, expected: bytes, folder: Path) -> Result:
    import redis

    prefix = f"storemon-bench-{uuid.uuid4().hex}:"
    env = {
        "STOREMON_DATABASE_URL": url,
        "STOREMON_RUNNER": "celery",
        "STOREMON_CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        "STOREMON_CELERY_KEY_PREFIX": prefix,
        "STOREMON_SHARD_STORES": str(shard_stores),
    }
    logs = [folder / f"workers-{count}-{n}.log" for n in range(count)]
    runner = CeleryRunner(env["STOREMON_CELERY_BROKER_URL"], prefix, timedelta(seconds=30))
    workers = start_workers(count, env, logs)
    try:
        run_report(url, runner)  # warm-up: imports, connections, page cache
        report_id, wall = run_report(url, runner)
    finally:
        stop_workers(workers)
        runner.shutdown()
        client = redis.Redis.from_url(env["STOREMON_CELERY_BROKER_URL"])
        for key in client.scan_iter(match=f"{prefix}*"):
            client.delete(key)
    engine = make_engine(url)
    with engine.connect() as connection:
        frame = reports.read_frame(connection, report_id)
    engine.dispose()
    if frame != expected:
        raise SystemExit(f"the report over {count} workers differs from the whole report")
    shards = shards_of(report_id, logs)
    peaks = [max((s.rss_mb for s in shards if s.worker == n), default=0.0) for n in range(count)]
    return Result(count, wall, shards, peaks)


def section(results: list[Result], whole_s: float, shard_stores: int, load: str) -> str:
    base = results[0].wall_s
    rows = []
    for result in results:
        rows.append(
            [
                str(result.workers),
                f"{result.wall_s:.1f}",
                f"{base / result.wall_s:.2f}",
                str(len(result.shards)),
                " / ".join(f"{mb:.0f}" for mb in result.peak_mb),
            ]
        )
    table = harness.markdown_table(
        ["workers", "wall (s)", "speedup vs 1", "shards", "peak RSS per worker (MB)"], rows
    )
    every = [s for r in results for s in r.shards]
    stores = statistics.median(s.stores for s in every)
    polls = statistics.median(s.polls for s in every)
    total = statistics.median(s.total_s for s in every)
    read = statistics.median(s.read_s for s in every)
    one = results[0]
    polls_per_s = sum(s.polls for s in one.shards) / sum(s.read_s for s in one.shards)
    facts = "\n".join(f"- {fact}" for fact in harness.machine_facts())
    return f"""Measured {harness.today()}, load average before the run {load}.

{facts}

Scale-10 data set (135,590 stores), PostgreSQL on the same machine, Redis
broker, `STOREMON_SHARD_STORES={shard_stores}`, one report over every store
(`storemon.run_report` splits it, the shards run as a group of
`storemon.run_shard` tasks). Wall time from sending the task to Complete,
after a warm-up report. Whole report in one process on the same data:
{whole_s:.1f} s.

{table}

Per shard (median of all runs): {stores:.0f} stores, {polls:,.0f} polls read,
{total:.2f} s in all of which {read:.2f} s reading; one worker read
{polls_per_s:,.0f} polls/s from PostgreSQL.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=DEFAULT_DB)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/ds10"))
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--make-dataset", type=Path, default=harness.SHARED_MAKE_DATASET)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--shard-stores", type=int, default=10_000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    ensure_database(args.db, args.data_dir, args.scale, args.make_dataset)
    load = harness.load_average()
    expected, whole_s = whole_report(args.db)
    print(f"# whole report in one process: {whole_s:.1f} s", flush=True)
    folder = Path(os.environ.get("TMPDIR", "/tmp")) / f"storemon-bench-shards-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for count in args.workers:
        result = measure(args.db, count, args.shard_stores, expected, folder)
        peaks = ", ".join(f"{mb:.0f}" for mb in result.peak_mb)
        print(f"# {count} workers: {result.wall_s:.1f} s, peak RSS {peaks} MB", flush=True)
        results.append(result)
    body = section(results, whole_s, args.shard_stores, load)
    print(body)
    if not args.no_write:
        harness.replace_section("shards", body)


if __name__ == "__main__":
    main()

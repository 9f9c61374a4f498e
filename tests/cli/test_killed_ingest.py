"""`kill -9` in the middle of `storemon ingest`: the database keeps whole
committed chunks of polls, stays readable, and loading the file again
completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from storemon.data.database import make_engine
from storemon.data.snapshot import reader_for
from storemon.reports.service import ReportRequest, build_report
from storemon.sample_feeds import write_sample

EXE = str(Path(sys.executable).with_name("storemon"))


#: Polls in the status file: about three 16 MiB chunks.
POLLS = 800_000


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sample")
    write_sample(folder, scale=1)
    with (folder / "store_status.csv").open() as full, (folder / "status.csv").open("w") as cut:
        for _ in range(POLLS + 1):
            cut.write(full.readline())
    return folder


def _ingest(db: str, *files: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "STOREMON_DATABASE_URL": db}
    env.pop("STOREMON_DEBUG", None)
    return subprocess.Popen(
        [EXE, "ingest", *files],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _polls(db: str) -> int:
    snapshot, _ = reader_for(db).read_snapshot()
    return len(snapshot.polls)


def _any_poll(engine: sa.Engine) -> bool:
    """Whether a chunk is committed: one row read, so the kill follows the
    first commit closely (a whole snapshot read can outlast the load)."""
    with engine.connect() as conn:
        return conn.exec_driver_sql("select 1 from polls limit 1").first() is not None


@pytest.mark.slow
def test_an_ingest_killed_mid_load_keeps_whole_chunks_and_a_reload_completes_it(
    database_url: str, sample: Path
) -> None:
    status = str(sample / "status.csv")
    hours = ["--hours", str(sample / "menu_hours.csv")]
    assert _ingest(database_url, *hours).wait(timeout=120) == 0

    process = _ingest(database_url, "--status", status)
    # Kill once some polls are committed but long before the end.
    deadline = time.monotonic() + 60
    engine = make_engine(database_url)
    try:
        while not _any_poll(engine) and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        engine.dispose()
    process.wait(timeout=30)

    partial = _polls(database_url)
    assert 0 < partial < POLLS, "the kill should land mid-load"
    # The database is whole: a report runs on what was committed.
    build_report(reader_for(database_url), ReportRequest())

    assert _ingest(database_url, "--status", status).wait(timeout=300) == 0
    assert _polls(database_url) == POLLS

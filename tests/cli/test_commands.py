"""The command line contract: `storemon ingest` and `storemon report` as an
acceptance check drives them, run as real processes."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from storemon.data.database import DEFAULT_URL

EXE = str(Path(sys.executable).with_name("storemon"))


def storemon(*args: str, db: str | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    ours = ("STOREMON_DATABASE_URL", "STOREMON_DEBUG")
    env = {k: v for k, v in os.environ.items() if k not in ours}
    if db is not None:
        env["STOREMON_DATABASE_URL"] = db
    return subprocess.run(
        [EXE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def feeds(tmp_path: Path) -> dict[str, Path]:
    return {
        "status": write(
            tmp_path / "status.csv",
            "\ufeffstatus,timestamp_utc,store_id\r\n"
            "active,2023-01-25 12:00:00 UTC,a\r\n"
            "inactive,2023-01-25T13:00:00Z,a\r\n"
            "active,2023-01-25 14:00:00.5,b\r\n"
            "paused,2023-01-25 14:00:00,b\r\n"
            ",2023-01-25 14:00:00,\r\n",
        ),
        "hours": write(
            tmp_path / "hours.csv",
            "store_id,day,start_time_local,end_time_local\n"
            "a,2,06:00,24:00\n"
            "a,9,06:00,07:00\n",
        ),
        "timezones": write(
            tmp_path / "tz.csv", "store_id,timezone_str\na,UTC\nb,Mars/Olympus\n"
        ),
    }


def test_ingest_reports_loaded_and_rejected_rows_per_feed(
    database_url: str, feeds: dict[str, Path], tmp_path: Path
) -> None:
    done = storemon(
        "ingest",
        "--status", str(feeds["status"]),
        "--hours", str(feeds["hours"]),
        "--timezones", str(feeds["timezones"]),
        db=database_url,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "timezones: 1 loaded, 1 rejected" in done.stdout
    assert "hours: 1 loaded, 1 rejected" in done.stdout
    assert "status: 3 loaded, 2 rejected" in done.stdout
    assert "line 5: status 'paused'" in done.stderr


def test_report_writes_the_spec_columns_sorted_by_store_id(
    database_url: str, feeds: dict[str, Path], tmp_path: Path
) -> None:
    storemon("ingest", "--status", str(feeds["status"]), "--hours", str(feeds["hours"]),
             "--timezones", str(feeds["timezones"]), db=database_url, cwd=tmp_path)
    out = tmp_path / "out" / "report.csv"
    done = storemon("report", "--out", str(out), db=database_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    rows = read_rows(out)
    assert rows[0] == [
        "store_id", "uptime_last_hour", "uptime_last_day", "uptime_last_week",
        "downtime_last_hour", "downtime_last_day", "downtime_last_week",
    ]
    # now = 14:00:00.5. Store a (UTC, open Wed 2023-01-25 06:00-24:00): active
    # until the 12:30 midpoint, then inactive. Store b: no hours, 24/7, Chicago.
    # The week also holds last Wednesday from 14:00:00.5 to 24:00, before the
    # first poll, which reaches back: active.
    assert rows[1] == ["a", "0.00", "6.50", "16.50", "60.00", "1.50", "1.50"]
    assert rows[2] == ["b", "60.00", "24.00", "168.00", "0.00", "0.00", "0.00"]


def test_report_as_of_and_previous_interpolation(
    database_url: str, feeds: dict[str, Path], tmp_path: Path
) -> None:
    storemon("ingest", "--status", str(feeds["status"]), "--hours", str(feeds["hours"]),
             db=database_url, cwd=tmp_path)
    out = tmp_path / "r.csv"
    done = storemon(
        "report", "--out", str(out), "--as-of", "2023-01-25T12:45:00Z",
        "--interpolation", "previous", db=database_url, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    rows = read_rows(out)
    # Only store a has a poll by 12:45; previous: active all the way to 12:45.
    # Business time since Wed 06:00 in Chicago (12:00 UTC) = 45 min.
    assert [r[0] for r in rows[1:]] == ["a"]
    # The week adds last Wednesday 12:45-06:00 UTC next day (17.25 h).
    assert rows[1][1:4] == ["45.00", "0.75", "18.00"]


def test_strict_ingest_loads_nothing_of_a_feed_with_a_rejected_row(
    database_url: str, feeds: dict[str, Path], tmp_path: Path
) -> None:
    done = storemon("ingest", "--status", str(feeds["status"]), "--strict",
                    db=database_url, cwd=tmp_path)
    assert done.returncode != 0
    assert "status: 0 loaded, 2 rejected" in done.stdout or "loaded nothing" in done.stdout
    out = tmp_path / "r.csv"
    assert storemon("report", "--out", str(out), db=database_url, cwd=tmp_path).returncode == 0
    assert out.read_text().count("\n") == 1  # header only


def test_rejected_rows_can_be_read_back(
    database_url: str, feeds: dict[str, Path], tmp_path: Path
) -> None:
    done = storemon("ingest", "--timezones", str(feeds["timezones"]), db=database_url,
                    cwd=tmp_path)
    ingest_id = done.stdout.split("(ingest ")[1].split(")")[0]
    shown = storemon("rejects", ingest_id, db=database_url, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert list(csv.reader(shown.stdout.splitlines())) == [
        ["line", "reason", "raw"],
        ["3", "unknown timezone 'Mars/Olympus'", "b,Mars/Olympus"],
    ]


def test_the_default_database_is_a_sqlite_file_in_the_working_directory(
    feeds: dict[str, Path], tmp_path: Path
) -> None:
    assert DEFAULT_URL == "sqlite:///storemon.db"
    done = storemon("ingest", "--status", str(feeds["status"]), db=None, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "storemon.db").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["ingest", "--status", "missing.csv"], "no such file"),
        (["ingest"], "nothing to ingest"),
        (["report", "--out", "r.csv", "--as-of", "yesterday"], "not a timestamp"),
        (["report", "--out", "r.csv", "--interpolation", "linear"], "linear"),
        (["--db", "postgresql://nobody@127.0.0.1:1/x", "report", "--out", "r.csv"],
         "cannot open database"),
        (["--db", "oracle://x", "report", "--out", "r.csv"], "unsupported database"),
    ],
)
def test_errors_are_one_line_on_stderr_with_a_non_zero_exit(
    args: list[str], message: str, tmp_path: Path
) -> None:
    done = storemon(*args, db=None, cwd=tmp_path)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert message in lines[0]
    assert "Traceback" not in done.stderr


def test_a_file_missing_a_required_column_is_refused_with_one_line(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.csv", "store_id,status\na,active\n")
    done = storemon("ingest", "--status", str(bad), db=None, cwd=tmp_path)
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1
    assert "timestamp_utc" in done.stderr


def test_sample_writes_the_three_feeds(tmp_path: Path) -> None:
    done = storemon("sample", str(tmp_path / "s"), db=None, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name in ("store_status.csv", "menu_hours.csv", "timezones.csv"):
        assert (tmp_path / "s" / name).stat().st_size > 100_000

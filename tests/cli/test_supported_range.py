"""Reports near either end of the supported timestamp range work; an
``--as-of`` outside it is a one-line error."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXE = str(Path(sys.executable).with_name("storemon"))

POLLS = (
    "store_id,status,timestamp_utc\n"
    "early,active,1900-01-01 00:00:00\n"
    "early,inactive,1900-01-03 12:00:00\n"
    "early,active,1900-01-07 23:00:00\n"
    "late,active,2199-12-25 00:00:00\n"
    "late,inactive,2199-12-31 20:00:00\n"
    "late,active,2199-12-31T23:59:59.999999Z\n"
)
# Zones at both ends of the offsets, so local dates step past the UTC range.
ZONES = "store_id,timezone_str\nearly,Pacific/Kiritimati\nlate,Pacific/Pago_Pago\n"
HOURS = (
    "store_id,dayOfWeek,start_time_local,end_time_local\n"
    "early,0,09:00,17:00\n"
    "late,6,22:00,24:00\n"
    "late,0,00:00,02:00\n"
)


def storemon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREMON_")}
    env["STOREMON_DATABASE_URL"] = f"sqlite:///{cwd / 'edge.db'}"
    return subprocess.run(
        [EXE, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def loaded(tmp_path: Path) -> Path:
    for name, text in (("s.csv", POLLS), ("tz.csv", ZONES), ("h.csv", HOURS)):
        (tmp_path / name).write_text(text)
    done = storemon(
        "ingest", "--status", "s.csv", "--timezones", "tz.csv", "--hours", "h.csv", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    return tmp_path


@pytest.mark.parametrize(
    "as_of, stores",
    [
        ("1900-01-08 00:00:00", ["early"]),
        ("1900-01-01 00:00:00", ["early"]),
        ("2199-12-31 23:59:59.999999", ["early", "late"]),
    ],
)
def test_a_report_near_either_end_of_the_supported_range_works(
    loaded: Path, as_of: str, stores: list[str]
) -> None:
    done = storemon("report", "--out", "r.csv", "--as-of", as_of, cwd=loaded)

    assert done.returncode == 0, done.stderr
    with (loaded / "r.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["store_id"] for row in rows] == stores


@pytest.mark.parametrize(
    "as_of", ["9999-12-31T23:59:59-23:00", "1899-12-31 23:59:59", "2200-01-01 00:00:00"]
)
def test_an_as_of_outside_the_supported_range_is_a_one_line_error(loaded: Path, as_of: str) -> None:
    done = storemon("report", "--out", "r.csv", "--as-of", as_of, cwd=loaded)

    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: --as-of {as_of!r} is outside the supported range (1900-01-01 to 2200-01-01 UTC)"
    ]
    assert not (loaded / "r.csv").exists()

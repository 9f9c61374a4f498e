"""SPEC section 8 through the command line, on small data computed by hand:
data gaps, special hours, the daily breakdown, groups and outages."""

from __future__ import annotations

from pathlib import Path

import pytest

from .test_commands import read_rows, storemon, write

NO_HOURS = "store_id,dayOfWeek,start_time_local,end_time_local\n"
SPECIAL_HEADER = "store_id,date,start_time_local,end_time_local\n"


def load(
    tmp_path: Path,
    db: str,
    *,
    status: str,
    timezones: str = "store_id,timezone_str\n",
    hours: str = NO_HOURS,
    special: str | None = None,
    groups: str | None = None,
) -> None:
    args = [
        "ingest",
        "--status", str(write(tmp_path / "status.csv", "store_id,status,timestamp_utc\n" + status)),
        "--timezones", str(write(tmp_path / "tz.csv", timezones)),
        "--hours", str(write(tmp_path / "hours.csv", hours)),
    ]
    if special is not None:
        path = write(tmp_path / "special.csv", SPECIAL_HEADER + special)
        args += ["--special-hours", str(path)]
    if groups is not None:
        args += ["--groups", str(write(tmp_path / "groups.csv", "store_id,group\n" + groups))]
    done = storemon(*args, db=db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def run(tmp_path: Path, db: str, command: str, *args: str) -> list[list[str]]:
    out = tmp_path / f"{command}-out.csv"
    done = storemon(command, "--out", str(out), *args, db=db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes().endswith(b"\n") and b"\r" not in out.read_bytes()
    return read_rows(out)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'storemon.db'}"


REPORT_HEADER = [
    "store_id",
    "uptime_last_hour", "uptime_last_day", "uptime_last_week",
    "downtime_last_hour", "downtime_last_day", "downtime_last_week",
]
NODATA = ["nodata_last_hour", "nodata_last_day", "nodata_last_week"]

# Open around the clock in UTC; active at 10:00, inactive at 12:00 (= now).
TWO_POLLS = "s1,active,2023-01-10 10:00:00\ns1,inactive,2023-01-10 12:00:00\n"
UTC_ZONE = "store_id,timezone_str\ns1,UTC\n"


def test_a_gap_limits_how_far_a_nearest_poll_speaks(tmp_path: Path, db: str) -> None:
    load(tmp_path, db, status=TWO_POLLS, timezones=UTC_ZONE)
    # Each poll speaks 30 minutes either way: up 09:30-10:30, down 11:30-12:00.
    assert run(tmp_path, db, "report", "--max-gap", "60") == [
        REPORT_HEADER + NODATA,
        ["s1", "0.00", "1.00", "1.00", "30.00", "0.50", "0.50", "30.00", "22.50", "166.50"],
    ]


def test_a_gap_limits_how_far_a_previous_poll_speaks(tmp_path: Path, db: str) -> None:
    load(tmp_path, db, status=TWO_POLLS, timezones=UTC_ZONE)
    # The 10:00 poll speaks until 11:00; the 12:00 poll is at now.
    rows = run(tmp_path, db, "report", "--max-gap", "60.0", "--interpolation", "previous")
    assert rows[1] == [
        "s1", "0.00", "1.00", "1.00", "0.00", "0.00", "0.00", "60.00", "23.00", "167.00",
    ]


def test_without_a_gap_the_report_keeps_its_seven_columns(tmp_path: Path, db: str) -> None:
    load(tmp_path, db, status=TWO_POLLS, timezones=UTC_ZONE)
    assert run(tmp_path, db, "report") == [
        REPORT_HEADER,
        ["s1", "0.00", "23.00", "167.00", "60.00", "1.00", "1.00"],
    ]


@pytest.mark.parametrize("gap", ["0", "-5", "abc", "1e3", "", "5 min"])
def test_a_gap_must_be_positive_minutes(tmp_path: Path, db: str, gap: str) -> None:
    load(tmp_path, db, status=TWO_POLLS, timezones=UTC_ZONE)
    out = str(tmp_path / "r.csv")
    done = storemon("report", "--out", out, "--max-gap", gap, db=db, cwd=tmp_path)
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


# 09:00-17:00 every day in New York; 2023-01-09 closed, 2023-01-10 open 20:00-02:00.
WEEKLY = NO_HOURS + "".join(f"s2,{day},09:00,17:00\n" for day in range(7))
SPECIAL = "s2,2023-01-09,,\ns2,2023-01-10,20:00,02:00\n"
NY = "store_id,timezone_str\ns2,America/New_York\ns3,UTC\n"
# s3: Sundays 22:00-01:00 only; its Monday 2023-01-09 is closed by a special row.
S3_HOURS = "s3,6,22:00,01:00\n"


def test_special_hours_replace_the_weekly_hours_of_their_date(tmp_path: Path, db: str) -> None:
    load(
        tmp_path, db,
        status="s2,active,2023-01-11 12:00:00\ns3,active,2023-01-11 12:00:00\n",
        timezones=NY, hours=WEEKLY + S3_HOURS,
        special=SPECIAL + "s3,2023-01-09,,\n",
    )
    rows = run(tmp_path, db, "report")
    # s2's week: five weekly days of 8 h, the closed Monday, the special 6 h.
    # s3: Sunday 22:00 runs into the closed Monday and still counts (3 h).
    assert rows[1:] == [
        ["s2", "0.00", "6.00", "46.00", "0.00", "0.00", "0.00"],
        ["s3", "0.00", "0.00", "3.00", "0.00", "0.00", "0.00"],
    ]


def test_special_hours_feed_reports_rejected_rows(tmp_path: Path, db: str) -> None:
    special = (
        "s2,2023-01-10,20:00,02:00\n"
        ",2023-01-10,20:00,02:00\n"
        "s2,2023-02-30,20:00,02:00\n"
        "s2,2023-01-11,20:00,\n"
        "s2,2023-01-12,24:00,02:00\n"
        "s2,2023-01-13,25:00,26:00\n"
    )
    path = write(tmp_path / "special.csv", SPECIAL_HEADER + special)
    done = storemon("ingest", "--special-hours", str(path), db=db, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 loaded, 5 rejected" in done.stdout
    strict = storemon("ingest", "--special-hours", str(path), "--strict", db=db, cwd=tmp_path)
    assert strict.returncode != 0


def test_daily_breakdown_splits_business_time_at_local_midnight(tmp_path: Path, db: str) -> None:
    load(
        tmp_path, db,
        status="s2,active,2023-01-11 12:00:00\n", timezones=NY, hours=WEEKLY, special=SPECIAL,
    )
    rows = run(tmp_path, db, "report", "--daily", "--from", "2023-01-09", "--to", "2023-01-12")
    # The window of 2023-01-11 is cut at now (07:00 in New York); 2023-01-12
    # starts after now and has no row.
    assert rows == [
        ["store_id", "date", "business_hours", "uptime", "downtime"],
        ["s2", "2023-01-09", "0.00", "0.00", "0.00"],
        ["s2", "2023-01-10", "4.00", "4.00", "0.00"],
        ["s2", "2023-01-11", "2.00", "2.00", "0.00"],
    ]


@pytest.mark.parametrize(
    ("zone", "dates", "hours"),
    [
        ("America/New_York", ("2023-03-12", "2023-11-05"), ("23.00", "25.00")),
        ("Australia/Sydney", ("2023-10-01", "2023-04-02"), ("23.00", "25.00")),
        ("Australia/Lord_Howe", ("2023-10-01", "2023-04-02"), ("23.50", "24.50")),
        # Clocks jump from 24:00 to 01:00: that midnight does not exist.
        ("America/Santiago", ("2023-09-03", "2023-09-02"), ("23.00", "24.00")),
    ],
)
def test_a_day_lasts_as_long_as_the_zone_makes_it(
    tmp_path: Path, db: str, zone: str, dates: tuple[str, str], hours: tuple[str, str]
) -> None:
    load(
        tmp_path, db,
        status="d,inactive,2023-12-31 00:00:00\n",
        timezones=f"store_id,timezone_str\nd,{zone}\n",
    )
    for date, length in zip(dates, hours, strict=True):
        rows = run(tmp_path, db, "report", "--daily", "--from", date, "--to", date)
        assert rows[1] == ["d", date, length, "0.00", length]


def test_daily_breakdown_with_a_gap_adds_nodata(tmp_path: Path, db: str) -> None:
    load(tmp_path, db, status=TWO_POLLS, timezones=UTC_ZONE)
    rows = run(
        tmp_path, db, "report", "--daily", "--from", "2023-01-09", "--to", "2023-01-10",
        "--max-gap", "60",
    )
    assert rows == [
        ["store_id", "date", "business_hours", "uptime", "downtime", "nodata"],
        ["s1", "2023-01-09", "24.00", "0.00", "0.00", "24.00"],
        ["s1", "2023-01-10", "12.00", "1.00", "0.50", "10.50"],
    ]


def test_daily_range_must_not_end_before_it_starts(tmp_path: Path, db: str) -> None:
    load(tmp_path, db, status=TWO_POLLS, timezones=UTC_ZONE)
    done = storemon(
        "report", "--out", str(tmp_path / "r.csv"), "--daily", "--from", "2023-01-10",
        "--to", "2023-01-09", db=db, cwd=tmp_path,
    )
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1


# Two stores up for 14.4 s each (0.004 h, shown as 0.00) sum to 0.01 h.
BRIEFLY_UP = (
    "p,inactive,2023-01-10 11:59:31.2\np,active,2023-01-10 12:00:00\n"
    "q,inactive,2023-01-10 11:59:31.2\nq,active,2023-01-10 12:00:00\n"
    "r,inactive,2023-01-10 12:00:00\n"
)


def test_group_report_sums_exact_durations_before_rounding(tmp_path: Path, db: str) -> None:
    zones = "store_id,timezone_str\np,UTC\nq,UTC\nr,UTC\n"
    groups = "p,both\nq,both\np,one\nr,down\nghost,nobody\n"
    load(tmp_path, db, status=BRIEFLY_UP, timezones=zones, groups=groups)
    individual = run(tmp_path, db, "report")
    assert individual[1] == ["p", "0.24", "0.00", "0.00", "59.76", "24.00", "168.00"]
    assert run(tmp_path, db, "report", "--by-group") == [
        ["group", "stores", *REPORT_HEADER[1:]],
        ["both", "2", "0.48", "0.01", "0.01", "119.52", "47.99", "335.99"],
        ["down", "1", "0.00", "0.00", "0.00", "60.00", "24.00", "168.00"],
        ["one", "1", "0.24", "0.00", "0.00", "59.76", "24.00", "168.00"],
    ]


# Up at 10:00, down at 11:00 and 12:00, up at 13:00 (= now): down 10:30-12:30.
OUTAGE = (
    "o,active,2023-01-10 10:00:00\no,inactive,2023-01-10 11:00:00\n"
    "o,inactive,2023-01-10 12:00:00\no,active,2023-01-10 13:00:00\n"
)
OUTAGE_HEADER = ["store_id", "start_utc", "end_utc", "minutes"]


def test_outages_are_maximal_inactive_stretches(tmp_path: Path, db: str) -> None:
    load(tmp_path, db, status=OUTAGE, timezones="store_id,timezone_str\no,UTC\n")
    assert run(tmp_path, db, "outages") == [
        OUTAGE_HEADER,
        ["o", "2023-01-10 10:30:00.000000", "2023-01-10 12:30:00.000000", "120.00"],
    ]
    assert run(
        tmp_path, db, "outages", "--from", "2023-01-10 11:00:00", "--to", "2023-01-10 12:00:00"
    ) == [
        OUTAGE_HEADER,
        ["o", "2023-01-10 11:00:00.000000", "2023-01-10 12:00:00.000000", "60.00"],
    ]


def test_outages_stay_within_business_hours(tmp_path: Path, db: str) -> None:
    # 2023-01-10 is a Tuesday (dayOfWeek 1): open 11:00-11:30 and 12:15-14:00.
    hours = NO_HOURS + "o,1,11:00,11:30\no,1,12:15,14:00\n"
    load(tmp_path, db, status=OUTAGE, timezones="store_id,timezone_str\no,UTC\n", hours=hours)
    assert run(tmp_path, db, "outages", "--store", "o") == [
        OUTAGE_HEADER,
        ["o", "2023-01-10 11:00:00.000000", "2023-01-10 11:30:00.000000", "30.00"],
        ["o", "2023-01-10 12:15:00.000000", "2023-01-10 12:30:00.000000", "15.00"],
    ]


def test_outage_bounds_on_half_microseconds_are_truncated(tmp_path: Path, db: str) -> None:
    status = (
        "h,active,2023-01-10 10:00:00.000001\nh,inactive,2023-01-10 11:00:00\n"
        "h,active,2023-01-10 12:00:00.000001\n"
    )
    load(tmp_path, db, status=status, timezones="store_id,timezone_str\nh,UTC\n")
    assert run(tmp_path, db, "outages") == [
        OUTAGE_HEADER,
        ["h", "2023-01-10 10:30:00.000000", "2023-01-10 11:30:00.000000", "60.00"],
    ]


def test_outages_with_a_gap_need_an_inactive_poll_speaking(tmp_path: Path, db: str) -> None:
    load(tmp_path, db, status=OUTAGE, timezones="store_id,timezone_str\no,UTC\n")
    # Each poll speaks 20 minutes either way: down 10:40-11:20 and 11:40-12:20.
    assert run(tmp_path, db, "outages", "--max-gap", "40") == [
        OUTAGE_HEADER,
        ["o", "2023-01-10 10:40:00.000000", "2023-01-10 11:20:00.000000", "40.00"],
        ["o", "2023-01-10 11:40:00.000000", "2023-01-10 12:20:00.000000", "40.00"],
    ]


def test_section8_on_every_backend(tmp_path: Path, database_url: str) -> None:
    load(
        tmp_path, database_url,
        status="s2,active,2023-01-11 12:00:00\n", timezones=NY, hours=WEEKLY, special=SPECIAL,
        groups="s2,east\n",
    )
    assert run(tmp_path, database_url, "report")[1] == [
        "s2", "0.00", "6.00", "46.00", "0.00", "0.00", "0.00",
    ]
    assert run(tmp_path, database_url, "report", "--by-group")[1] == [
        "east", "1", "0.00", "6.00", "46.00", "0.00", "0.00", "0.00",
    ]
    daily = run(
        tmp_path, database_url, "report", "--daily", "--from", "2023-01-10", "--to", "2023-01-10"
    )
    assert daily[1] == ["s2", "2023-01-10", "4.00", "4.00", "0.00"]
    assert run(tmp_path, database_url, "outages") == [OUTAGE_HEADER]

"""Every reject rule of SPEC section 1, with the line it is reported on."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest

from storemon.ingest.feeds import Feed
from storemon.ingest.validate import VALID_SCHEMAS, known_timezones, validate

from .helpers import parse, reasons

STATUS_HEADER = "store_id,status,timestamp_utc\n"
HOURS_HEADER = "store_id,dayOfWeek,start_time_local,end_time_local\n"
TIMEZONES_HEADER = "store_id,timezone_str\n"


def us(year: int, month: int, day: int, hour: int) -> int:
    return int(datetime(year, month, day, hour, tzinfo=UTC).timestamp()) * 1_000_000


# --- status -------------------------------------------------------------------


def test_status_rows_become_typed_columns() -> None:
    valid, rejects = parse(
        Feed.STATUS,
        STATUS_HEADER
        + "1,active,2023-01-25 18:00:00.5 UTC\n"
        + "2, INACTIVE ,2023-01-25T18:00:00Z\n"
        + "3,Active,2023-01-25T20:00:00+02:00\n",
    )
    assert rejects.height == 0
    assert valid.schema == VALID_SCHEMAS[Feed.STATUS]
    assert valid.rows() == [
        ("1", us(2023, 1, 25, 18) + 500_000, True, 2),
        ("2", us(2023, 1, 25, 18), False, 3),
        ("3", us(2023, 1, 25, 18), True, 4),
    ]


def test_store_id_is_an_opaque_string_stripped_of_surrounding_whitespace() -> None:
    valid, _ = parse(
        Feed.STATUS,
        STATUS_HEADER
        + "  0042 ,active,2023-01-25 18:00:00\n"
        + "8419537941919820732,active,2023-01-25 18:00:00\n"
        + "6f1c1a52-8b0e-4a8e-9d7a-3c5f0d1e2b4a,active,2023-01-25 18:00:00\n"
        + "1e3,active,2023-01-25 18:00:00\n",
    )
    assert valid["store_id"].to_list() == [
        "0042",
        "8419537941919820732",
        "6f1c1a52-8b0e-4a8e-9d7a-3c5f0d1e2b4a",
        "1e3",
    ]


def test_every_status_rule_rejects_its_row_with_a_specific_reason() -> None:
    long_id = "x" * 256
    valid, rejects = parse(
        Feed.STATUS,
        STATUS_HEADER
        + "1,active,2023-01-25 18:00:00\n"
        + ",active,2023-01-25 18:00:00\n"
        + "   ,active,2023-01-25 18:00:00\n"
        + f"{long_id},active,2023-01-25 18:00:00\n"
        + "2,paused,2023-01-25 18:00:00\n"
        + "3,,2023-01-25 18:00:00\n"
        + "4,active,2023-02-30 10:00:00\n"
        + "5,active,\n"
        + "6,active\n",
    )
    assert valid["line"].to_list() == [2]
    assert reasons(rejects) == [
        (3, "empty store_id"),
        (4, "empty store_id"),
        (5, "store_id is longer than 255 characters"),
        (6, "status 'paused' is not active/inactive"),
        (7, "status '' is not active/inactive"),
        (8, "timestamp '2023-02-30 10:00:00' does not parse"),
        (9, "timestamp '' does not parse"),
        (10, "expected 3 fields, found 2"),
    ]


def test_a_store_id_of_255_characters_is_accepted() -> None:
    valid, _ = parse(Feed.STATUS, STATUS_HEADER + "x" * 255 + ",active,2023-01-25 18:00:00\n")
    assert valid.height == 1


def test_the_first_broken_rule_is_the_reason() -> None:
    _, rejects = parse(Feed.STATUS, STATUS_HEADER + ",paused,never\n9,paused,never\n")
    assert reasons(rejects) == [
        (2, "empty store_id"),
        (3, "status 'paused' is not active/inactive"),
    ]


def test_a_reject_keeps_the_original_record_text() -> None:
    _, rejects = parse(
        Feed.STATUS,
        'note,store_id,status,timestamp_utc\r\n"a, b", 7 ,paused,2023-01-25 18:00:00\r\n',
    )
    assert rejects["raw"].to_list() == ['"a, b", 7 ,paused,2023-01-25 18:00:00']


def test_long_values_are_cut_in_reasons() -> None:
    _, rejects = parse(Feed.STATUS, STATUS_HEADER + "1," + "z" * 500 + ",2023-01-25 18:00:00\n")
    reason = rejects["reason"][0]
    assert len(reason) < 100
    assert reason.startswith("status 'zzz") and reason.endswith("…' is not active/inactive")


def test_valid_rows_keep_file_order_so_a_later_row_can_win() -> None:
    valid, _ = parse(
        Feed.STATUS,
        STATUS_HEADER
        + "1,active,2023-01-25 18:00:00\n"
        + "1,bad,2023-01-25 18:00:00\n"
        + "1,inactive,2023-01-25 18:00:00\n"
        + "0,active,2023-01-25 17:00:00\n",
    )
    assert valid.select("store_id", "active", "line").rows() == [
        ("1", True, 2),
        ("1", False, 4),
        ("0", True, 5),
    ]


# --- business hours --------------------------------------------------------------


def test_hours_rows_become_seconds_after_midnight() -> None:
    valid, rejects = parse(
        Feed.HOURS,
        HOURS_HEADER
        + "1,0,09:00,17:30\n"
        + "1,6,22:00:00,02:00:30\n"
        + "2, 3 ,0:00,24:00\n"
        + "3,03,00:00:00,24:00:00\n"
        + "4,5,23:59:59,23:59:59\n",
    )
    assert rejects.height == 0
    assert valid.schema == VALID_SCHEMAS[Feed.HOURS]
    assert valid.rows() == [
        ("1", 0, 9 * 3600, 17 * 3600 + 1800, 2),
        ("1", 6, 22 * 3600, 2 * 3600 + 30, 3),
        ("2", 3, 0, 86_400, 4),
        ("3", 3, 0, 86_400, 5),
        ("4", 5, 86_399, 86_399, 6),
    ]


@pytest.mark.parametrize("header", ["day", "dayOfWeek"])
def test_a_bad_day_is_reported_under_the_files_column_name(header: str) -> None:
    text = f"store_id,{header},start_time_local,end_time_local\n"
    for day in ["7", "-1", "1.0", "", "mon"]:
        text += f"1,{day},09:00,17:00\n"
    _, rejects = parse(Feed.HOURS, text)
    assert reasons(rejects) == [
        (2, f"{header} '7' is not an integer 0..6"),
        (3, f"{header} '-1' is not an integer 0..6"),
        (4, f"{header} '1.0' is not an integer 0..6"),
        (5, f"{header} '' is not an integer 0..6"),
        (6, f"{header} 'mon' is not an integer 0..6"),
    ]


def test_every_time_rule_rejects_its_row_with_a_specific_reason() -> None:
    _, rejects = parse(
        Feed.HOURS,
        HOURS_HEADER
        + ",1,09:00,17:00\n"
        + "1,1,24:00,17:00\n"
        + "1,1,24:00:00,17:00\n"
        + "1,1,25:00,17:00\n"
        + "1,1,10:60,17:00\n"
        + "1,1,9am,17:00\n"
        + "1,1,09:00,24:01\n"
        + "1,1,09:00,17:00:60\n"
        + "1,1,09:00,\n"
        + "1,1,09:00,17:00:00.5\n",
    )
    assert reasons(rejects) == [
        (2, "empty store_id"),
        (3, "start_time_local '24:00' is out of range (24:00 is only valid as an end time)"),
        (4, "start_time_local '24:00:00' is out of range (24:00 is only valid as an end time)"),
        (5, "start_time_local '25:00' is out of range"),
        (6, "start_time_local '10:60' is out of range"),
        (7, "start_time_local '9am' is not a time HH:MM or HH:MM:SS"),
        (8, "end_time_local '24:01' is out of range"),
        (9, "end_time_local '17:00:60' is out of range"),
        (10, "end_time_local '' is not a time HH:MM or HH:MM:SS"),
        (11, "end_time_local '17:00:00.5' is not a time HH:MM or HH:MM:SS"),
    ]


# --- timezones --------------------------------------------------------------------


def test_known_zones_are_accepted_and_others_rejected() -> None:
    valid, rejects = parse(
        Feed.TIMEZONES,
        TIMEZONES_HEADER
        + "1,America/New_York\n"
        + "2, Asia/Kolkata \n"
        + "3,UTC\n"
        + "4,Mars/Base\n"
        + "5,\n"
        + "6,america/new_york\n"
        + "7,localtime\n",
    )
    assert valid.schema == VALID_SCHEMAS[Feed.TIMEZONES]
    assert valid.rows() == [
        ("1", "America/New_York", 2),
        ("2", "Asia/Kolkata", 3),
        ("3", "UTC", 4),
    ]
    assert reasons(rejects) == [
        (5, "unknown timezone 'Mars/Base'"),
        (6, "empty timezone_str"),
        (7, "unknown timezone 'america/new_york'"),
        (8, "unknown timezone 'localtime'"),
    ]


def test_known_timezones_are_the_zoneinfo_database() -> None:
    zones = known_timezones()
    assert "America/Chicago" in zones and "Asia/Beirut" in zones
    assert known_timezones() is zones  # cached


# --- the function itself ---------------------------------------------------------


def test_validate_accepts_nulls_and_reconstructs_raw_text() -> None:
    fields = pl.DataFrame(
        {
            "store_id": ["1", None],
            "status": ["active", "active"],
            "timestamp_utc": ["2023-01-25 18:00:00", "2023-01-25 18:00:00"],
            "line": [10, 11],
        }
    )
    valid, rejects = validate(Feed.STATUS, fields)
    assert valid["line"].to_list() == [10]
    assert rejects.rows() == [(11, "empty store_id", ",active,2023-01-25 18:00:00")]


def test_an_empty_chunk_gives_empty_typed_frames() -> None:
    fields = pl.DataFrame(
        schema={"store_id": pl.String, "timezone_str": pl.String, "line": pl.Int64}
    )
    valid, rejects = validate(Feed.TIMEZONES, fields)
    assert valid.schema == VALID_SCHEMAS[Feed.TIMEZONES]
    assert valid.height == rejects.height == 0

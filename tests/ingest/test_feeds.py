from __future__ import annotations

import pytest

from storemon.ingest.errors import IngestError
from storemon.ingest.feeds import Feed, locate_columns

from .helpers import parse


def test_columns_are_found_in_any_order_among_extra_columns() -> None:
    layout = locate_columns(Feed.STATUS, ["note", "timestamp_utc", "store_id", "x", "status"])
    assert layout.positions == {"store_id": 2, "status": 4, "timestamp_utc": 1}


@pytest.mark.parametrize("spelling", ["dayOfWeek", "day", "DAY", "DayOfWeek"])
def test_the_day_column_may_be_called_day_or_day_of_week(spelling: str) -> None:
    header = ["store_id", spelling, "start_time_local", "end_time_local"]
    layout = locate_columns(Feed.HOURS, header)
    assert layout.positions["dayOfWeek"] == 1
    assert layout.labels["dayOfWeek"] == spelling


def test_header_names_ignore_whitespace_a_bom_and_letter_case() -> None:
    header = ["\ufeff store_id ", "\tTimeZone_Str  "]
    assert locate_columns(Feed.TIMEZONES, header).positions == {"store_id": 0, "timezone_str": 1}


def test_the_first_of_repeated_columns_is_used() -> None:
    layout = locate_columns(Feed.TIMEZONES, ["store_id", "timezone_str", "store_id"])
    assert layout.positions["store_id"] == 0


def test_a_missing_column_is_one_line_naming_the_files_columns() -> None:
    with pytest.raises(IngestError) as raised:
        locate_columns(Feed.HOURS, ["store_id", "weekday", "start_time_local", "end"])
    message = str(raised.value)
    assert "\n" not in message
    assert message == (
        "hours file is missing column 'dayOfWeek' (or 'day'), 'end_time_local'; "
        "its columns are: 'store_id', 'weekday', 'start_time_local', 'end'"
    )


def test_a_file_with_a_missing_column_fails_before_any_row() -> None:
    with pytest.raises(IngestError, match="missing column 'status'"):
        parse(Feed.STATUS, "store_id,timestamp_utc\n1,2023-01-01 00:00:00\n")


def test_a_file_read_with_reordered_and_extra_columns_gives_the_same_rows() -> None:
    plain, _ = parse(Feed.STATUS, "store_id,status,timestamp_utc\n7,active,2023-01-01 00:00:00\n")
    shuffled, _ = parse(
        Feed.STATUS,
        "\ufeff TIMESTAMP_UTC ,extra,Status,store_id\r\n2023-01-01 00:00:00,x,active,7\r\n",
    )
    assert shuffled.equals(plain)


def test_feeds_are_named_by_their_values() -> None:
    assert [str(feed) for feed in Feed] == [
        "status",
        "hours",
        "timezones",
        "special_hours",
        "groups",
    ]
    assert Feed("hours") is Feed.HOURS


def test_a_very_wide_header_is_listed_in_part() -> None:
    with pytest.raises(IngestError) as raised:
        locate_columns(Feed.TIMEZONES, [f"c{i}" for i in range(500)])
    assert str(raised.value).endswith("'c19', … (500 in all)")

"""The supported timestamp range: polls outside [1900-01-01, 2200-01-01) UTC,
after the offset is applied, are rejected with a reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storemon.ingest.feeds import Feed
from storemon.ingest.timestamps import (
    SUPPORTED_FROM_US,
    SUPPORTED_UNTIL_US,
    in_supported_range,
    parse_timestamp,
)

from .helpers import parse, reasons

HEADER = "store_id,status,timestamp_utc\n"
OUTSIDE = "is outside the supported range (1900-01-01 to 2200-01-01 UTC)"


def _us(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000


def test_the_range_is_1900_to_2200_utc_half_open() -> None:
    assert _us(datetime(1900, 1, 1, tzinfo=UTC)) == SUPPORTED_FROM_US
    assert _us(datetime(2200, 1, 1, tzinfo=UTC)) == SUPPORTED_UNTIL_US
    assert in_supported_range(SUPPORTED_FROM_US)
    assert not in_supported_range(SUPPORTED_FROM_US - 1)
    assert in_supported_range(SUPPORTED_UNTIL_US - 1)
    assert not in_supported_range(SUPPORTED_UNTIL_US)


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31 23:59:59",
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+23:59",
        "1899-12-31 23:59:59.999999",
        "2200-01-01 00:00:00",
        # Inside the range as written, outside once converted to UTC.
        "1900-01-01T00:30:00+01:00",
        "2199-12-31T23:30:00-01:00",
    ],
)
def test_a_poll_outside_the_supported_range_is_rejected_with_a_reason(text: str) -> None:
    valid, rejects = parse(
        Feed.STATUS, HEADER + "ok,active,2023-01-25 10:00:00\n" + f"evil,active,{text}\n"
    )

    assert valid["store_id"].to_list() == ["ok"]
    assert reasons(rejects) == [(3, f"timestamp '{text}' {OUTSIDE}")]


@pytest.mark.parametrize(
    "text", ["1900-01-01 00:00:00", "1899-12-31T23:00:00-01:00", "2199-12-31 23:59:59.999999"]
)
def test_a_poll_at_either_end_of_the_supported_range_loads(text: str) -> None:
    valid, rejects = parse(Feed.STATUS, HEADER + f"edge,active,{text}\n")

    assert rejects.height == 0
    assert valid["ts_us"].to_list() == [parse_timestamp(text)]

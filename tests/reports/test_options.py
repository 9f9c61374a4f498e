"""Report options as written on the command line and in the API: a max gap
in minutes converts to microseconds exactly, dates stay in the supported range."""

from __future__ import annotations

import doctest

import pytest

from storemon.reports import options
from storemon.reports.options import (
    MAX_GAP_CAP_US,
    date_to_days,
    minutes_number_to_us,
    minutes_to_us,
)


def test_the_examples_in_the_docstrings_hold() -> None:
    assert doctest.testmod(options).failed == 0


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("60", 3_600_000_000),
        ("60.0", 3_600_000_000),
        ("0.1", 6_000_000),
        ("007.25", 435_000_000),
        # 1e-8 minutes is 0.6 microseconds: a part of one counts whole.
        ("0.00000001", 1),
        ("0.000000016666", 1),
        ("0.0000000167", 2),
    ],
)
def test_minutes_become_whole_microseconds_rounding_parts_up(text: str, micros: int) -> None:
    assert minutes_to_us(text) == micros


@pytest.mark.parametrize("text", ["0", "0.0", "-5", "+5", "1e3", "", " 5", "5 min", ".5", "5."])
def test_anything_but_positive_decimal_minutes_is_refused(text: str) -> None:
    assert minutes_to_us(text) is None


def test_a_gap_longer_than_the_supported_range_is_capped() -> None:
    assert minutes_to_us("9" * 40) == MAX_GAP_CAP_US
    assert MAX_GAP_CAP_US < 2**63


def test_json_numbers_are_read_as_their_shortest_decimal_text() -> None:
    assert minutes_number_to_us(0.1) == 6_000_000
    assert minutes_number_to_us(90) == 5_400_000_000
    assert minutes_number_to_us(1e-8) == 1
    for refused in (0, -1.5, float("inf"), float("nan"), True):
        assert minutes_number_to_us(refused) is None


@pytest.mark.parametrize(
    ("text", "days"),
    [("1970-01-01", 0), ("1900-01-01", -25567), ("2199-12-31", 84005), ("2024-02-29", 19782)],
)
def test_dates_in_the_supported_range_count_days_from_1970(text: str, days: int) -> None:
    assert date_to_days(text) == days


@pytest.mark.parametrize(
    "text", ["1899-12-31", "2200-01-01", "2023-02-29", "2023-1-05", "20230105", "2023-01-05 "]
)
def test_other_dates_are_refused(text: str) -> None:
    assert date_to_days(text) is None

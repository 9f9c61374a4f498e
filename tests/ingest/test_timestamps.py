from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storemon.ingest.timestamps import days_from_civil, parse_timestamp, timestamps_us

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    return (moment - EPOCH) // ONE_US


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-01-25 18:13:22.479220 UTC", datetime(2023, 1, 25, 18, 13, 22, 479220, UTC)),
        ("2023-01-25 18:13:22", datetime(2023, 1, 25, 18, 13, 22, tzinfo=UTC)),
        ("2023-01-25 18:13:22 UTC", datetime(2023, 1, 25, 18, 13, 22, tzinfo=UTC)),
        ("2023-01-25T18:13:22Z", datetime(2023, 1, 25, 18, 13, 22, tzinfo=UTC)),
        ("2023-01-25t18:13:22z", datetime(2023, 1, 25, 18, 13, 22, tzinfo=UTC)),
        ("2023-01-25 18:13:22 utc", datetime(2023, 1, 25, 18, 13, 22, tzinfo=UTC)),
        ("2023-01-25T18:13:22", datetime(2023, 1, 25, 18, 13, 22, tzinfo=UTC)),
        ("2023-01-25T23:43:22+05:30", datetime(2023, 1, 25, 18, 13, 22, tzinfo=UTC)),
        ("2023-01-25T23:43:22+0530", datetime(2023, 1, 25, 18, 13, 22, tzinfo=UTC)),
        ("2023-01-25T13:13:22-05", datetime(2023, 1, 25, 18, 13, 22, tzinfo=UTC)),
        ("2023-01-01T01:00:00.5+02:00", datetime(2022, 12, 31, 23, 0, 0, 500000, UTC)),
        ("  2023-01-25 18:13:22 UTC\t", datetime(2023, 1, 25, 18, 13, 22, tzinfo=UTC)),
        ("2024-02-29 00:00:00", datetime(2024, 2, 29, tzinfo=UTC)),
        ("2000-02-29 23:59:59.999999", datetime(2000, 2, 29, 23, 59, 59, 999999, UTC)),
        ("1969-12-31 23:59:59.9", datetime(1969, 12, 31, 23, 59, 59, 900000, UTC)),
        ("0001-01-01 00:00:00", datetime(1, 1, 1, tzinfo=UTC)),
        ("9999-12-31 23:59:59.999999", datetime(9999, 12, 31, 23, 59, 59, 999999, UTC)),
    ],
)
def test_accepted_forms_give_the_utc_instant(text: str, expected: datetime) -> None:
    assert parse_timestamp(text) == micros(expected)


@pytest.mark.parametrize("digits", range(1, 7))
def test_fractions_of_one_to_six_digits_keep_every_microsecond(digits: int) -> None:
    fraction = "123456"[:digits]
    expected = int(fraction.ljust(6, "0"))
    assert parse_timestamp(f"1970-01-01 00:00:00.{fraction} UTC") == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "not a time",
        "2023-02-29 00:00:00",  # not a leap year
        "1900-02-29 00:00:00",  # century, not a leap year
        "2023-02-30 10:00:00",
        "2023-04-31 10:00:00",
        "2023-00-10 10:00:00",
        "2023-13-10 10:00:00",
        "2023-01-00 10:00:00",
        "2023-01-32 10:00:00",
        "0000-01-01 00:00:00",
        "2023-01-25 24:00:00",
        "2023-01-25 23:60:00",
        "2023-01-25 23:59:60",
        "2023-01-25 18:13:22.1234567",  # 7 fraction digits
        "2023-01-25 18:13:22.",
        "2023-01-25 18:13:22.Z",
        "2023-01-25T18:13:22+24:00",
        "2023-01-25T18:13:22+05:60",
        "2023-01-25T18:13:22+5:30",
        "2023-01-25T18:13:22+05:3",
        "2023-01-25T18:13:22+053",
        "2023-01-25T18:13:22 +05:30",
        "2023-01-25T18:13:22ZZ",
        "2023-01-25T18:13:22 GMT",
        "2023-01-25 18:13",
        "2023-1-25 18:13:22",
        "2023/01/25 18:13:22",
        "2023-01-25_18:13:22",
        "2023-01-25 18:13:22 UTC x",
        "\uff12\uff10\uff12\uff13-01-25 18:13:22",  # full-width digits
        "1674670402",
    ],
)
def test_malformed_or_out_of_range_timestamps_are_null(text: str) -> None:
    assert parse_timestamp(text) is None


def test_mixed_formats_in_one_column_each_parse() -> None:
    texts = [
        "2023-01-25 18:13:22.479220 UTC",
        "2023-01-25T18:13:22Z",
        "garbage",
        "2023-01-25T23:43:22.5+05:30",
        None,
        "2023-01-25 18:13:22",
        "2023-01-25T13:13:22-0500",
    ]
    result = timestamps_us(pl.Series("ts", texts, dtype=pl.String))
    base = micros(datetime(2023, 1, 25, 18, 13, 22, tzinfo=UTC))
    assert result.dtype == pl.Int64
    assert result.name == "ts"
    assert result.to_list() == [base + 479220, base, None, base + 500000, None, base, base]


def test_an_empty_column_gives_an_empty_result() -> None:
    assert timestamps_us(pl.Series([], dtype=pl.String)).to_list() == []


def test_a_sliced_column_is_read_from_its_own_offset() -> None:
    column = pl.Series(["x", "1970-01-01 00:00:01", "1970-01-01 00:00:02"])[1:]
    assert timestamps_us(column).to_list() == [1_000_000, 2_000_000]


@settings(deadline=None)
@given(st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)))
def test_days_from_civil_counts_days_like_the_proleptic_calendar(day: date) -> None:
    days = days_from_civil(np.array([day.year]), np.array([day.month]), np.array([day.day]))
    assert int(days[0]) == day.toordinal() - date(1970, 1, 1).toordinal()


def _wall_text(wall: datetime, separator: str, digits: int) -> str:
    text = (
        f"{wall.year:04d}-{wall.month:02d}-{wall.day:02d}{separator}"
        f"{wall.hour:02d}:{wall.minute:02d}:{wall.second:02d}"
    )
    if digits:
        text += "." + f"{wall.microsecond:06d}"[:digits]
    return text


def _offset_text(minutes: int, style: str) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    if style == "colon":
        return f"{sign}{hours:02d}:{rest:02d}"
    if style == "compact":
        return f"{sign}{hours:02d}{rest:02d}"
    return f"{sign}{hours:02d}"


@settings(deadline=None)
@given(
    instant=st.datetimes(
        min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC)
    ),
    separator=st.sampled_from([" ", "T"]),
    digits=st.integers(0, 6),
    suffix=st.sampled_from(["", " UTC", "Z", "colon", "compact", "hours"]),
    offset_minutes=st.integers(-(23 * 60 + 59), 23 * 60 + 59),
)
def test_random_instants_round_trip_through_every_format(
    instant: datetime, separator: str, digits: int, suffix: str, offset_minutes: int
) -> None:
    if suffix in ("", " UTC", "Z"):
        offset_minutes = 0
    if suffix == "hours":
        offset_minutes -= offset_minutes % 60 if offset_minutes >= 0 else -(-offset_minutes % 60)
    truncated = instant.replace(
        microsecond=instant.microsecond - instant.microsecond % 10 ** (6 - digits)
    )
    wall = truncated.astimezone(timezone(timedelta(minutes=offset_minutes)))
    text = _wall_text(wall, separator, digits)
    if suffix in ("colon", "compact", "hours"):
        suffix = _offset_text(offset_minutes, suffix)
    text += suffix

    assert parse_timestamp(text) == micros(truncated)
    if not suffix.endswith("UTC"):  # datetime's own reading agrees
        parsed = datetime.fromisoformat(text)
        assert micros(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)) == micros(truncated)


_VALID_SAMPLES = [
    "2023-01-25 18:13:22.479220 UTC",
    "2023-01-25T23:43:22.5+05:30",
    "2023-01-25T13:13:22-0500",
    "2023-01-25T13:13:22Z",
    "2024-02-29 00:00:00",
]
_near_timestamps = st.builds(
    lambda text, cut, extra: text[:cut] + extra,
    st.sampled_from(_VALID_SAMPLES),
    st.integers(0, 34),
    st.text(alphabet="0123456789-:. TZU+", max_size=3),
)


@settings(deadline=None)
@given(
    st.lists(
        st.one_of(_near_timestamps, st.text(alphabet="0123456789-:. TZU+tcz", max_size=34)),
        max_size=20,
    )
)
def test_any_text_parses_the_same_alone_as_in_a_column(texts: list[str]) -> None:
    # Neighbouring strings share one byte buffer: a value must never depend
    # on the bytes of the next one.
    column = timestamps_us(pl.Series(texts, dtype=pl.String)).to_list()
    assert column == [parse_timestamp(text) for text in texts]
    for text, value in zip(texts, column, strict=True):
        if value is not None:
            try:
                parsed = datetime.fromisoformat(text.strip().removesuffix(" UTC"))
            except ValueError:  # forms datetime does not read
                continue
            moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
            assert micros(moment) == value

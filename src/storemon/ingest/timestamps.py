"""``timestamp_utc`` text to epoch microseconds, vectorized.

Accepted (SPEC section 1), surrounding whitespace ignored:

- ``YYYY-MM-DD HH:MM:SS`` or ``YYYY-MM-DDTHH:MM:SS``,
- then an optional fraction of 1 to 6 digits (``.5`` is 500 000 µs),
- then nothing, `` UTC`` or ``Z`` (all meaning UTC), or a numeric offset
  ``+05:30``, ``+0530`` or ``+05``, subtracted to get UTC.

Letters match in any case. Fields are range-checked (a real calendar date,
00:00:00 to 23:59:59, an offset below 24 hours). The date becomes a day
number by integer civil-date arithmetic, so no library's datetime rules are
involved. Whether the instant is one the service supports is a separate
question (:func:`in_supported_range`), so a reason can say which one failed.

The text is read as bytes with numpy: every row's bytes at a given position
are gathered at once, so the cost is a few dozen array operations per chunk
whatever the mix of formats, and no per-row Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa

if TYPE_CHECKING:
    import polars as pl

MICROS_PER_SECOND = 1_000_000
SECONDS_PER_DAY = 86_400

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_Bytes = npt.NDArray[np.uint8]

# Bytes read from the start of each string: the date and time (19), a dot
# and a fraction run followed up to a 7th digit (8), a suffix (6).
_WIDTH = 19 + 8 + 6
_BATCH_ROWS = 1 << 16
# What polars' ``str.strip_chars()`` strips: Unicode White_Space (Python's
# ``str.strip()`` strips the separators U+001C..U+001F too).
_WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
_DASH, _COLON, _DOT, _SPACE = ord("-"), ord(":"), ord("."), ord(" ")
_PLUS, _MINUS = ord("+"), ord("-")
_LOWER = 0x20  # ASCII letter | 0x20 is its lower case


def days_from_civil(year: IntArray, month: IntArray, day: IntArray) -> IntArray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's
    algorithm: years start in March, so the leap day ends the year).

    >>> int(days_from_civil(np.array([2000]), np.array([3]), np.array([1]))[0])
    11017
    """
    y = year - (month <= 2)
    era = y // 400
    year_of_era = y - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146_097 + day_of_era - 719_468


def epoch_us(year: int, month: int, day: int) -> int:
    """Epoch microseconds of midnight UTC starting a date.

    >>> epoch_us(1970, 1, 2)
    86400000000
    """
    days = days_from_civil(np.array([year]), np.array([month]), np.array([day]))
    return int(days[0]) * SECONDS_PER_DAY * MICROS_PER_SECOND


#: The supported range of instants, UTC, half-open. A poll or an ``as_of``
#: outside it is refused: a report reaches back weeks and forward into local
#: time from its ``now``, and every date that derives must stay well inside
#: what ``datetime`` (years 1..9999) and the engine's integer ticks can hold.
SUPPORTED_FROM_US = epoch_us(1900, 1, 1)
SUPPORTED_UNTIL_US = epoch_us(2200, 1, 1)
SUPPORTED_RANGE = "1900-01-01 to 2200-01-01 UTC"


def in_supported_range(value_us: int) -> bool:
    """Whether an instant lies in ``[SUPPORTED_FROM_US, SUPPORTED_UNTIL_US)``.

    >>> in_supported_range(epoch_us(2200, 1, 1) - 1), in_supported_range(epoch_us(2200, 1, 1))
    (True, False)
    """
    return SUPPORTED_FROM_US <= value_us < SUPPORTED_UNTIL_US


def days_in_month(year: IntArray, month: IntArray) -> IntArray:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    thirty = (month == 4) | (month == 6) | (month == 9) | (month == 11)
    return np.where(month == 2, 28 + leap, np.where(thirty, 30, 31))


def _leading_bytes(strings: pa.LargeStringArray) -> tuple[_Bytes, IntArray]:
    """Byte ``k`` of every string as row ``k`` of a matrix, for ``k`` below
    ``_WIDTH``, and the strings' byte lengths. Past a string's end a row holds
    whatever follows the string, so callers check the length."""
    _, offsets_buffer, data_buffer = strings.buffers()
    count = len(strings)
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
        strings.offset : strings.offset + count + 1
    ]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer else np.empty(0, np.uint8)
    padded = np.concatenate([data[offsets[0] : offsets[-1]], np.zeros(_WIDTH, np.uint8)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, _WIDTH)
    # Position-major, so each position is one contiguous array.
    return np.ascontiguousarray(windows[offsets[:-1] - offsets[0]].T), np.diff(offsets)


def _digits(bytes_at: _Bytes) -> _Bytes:
    return bytes_at - np.uint8(ord("0"))  # a non-digit wraps above 9


def _number(digits: Sequence[_Bytes]) -> IntArray:
    value = digits[0].astype(np.int64)
    for digit in digits[1:]:
        value = value * 10 + digit
    return value


def _epoch_us(head: _Bytes, length: IntArray) -> tuple[IntArray, BoolArray]:
    """Epoch microseconds of each column of ``head`` (see ``_leading_bytes``)
    and whether it is a valid timestamp (values are 0 where not)."""
    digit = [_digits(row) for row in head]
    ok = length >= 19
    for k in _DIGITS:
        ok &= digit[k] <= 9
    ok &= (head[4] == _DASH) & (head[7] == _DASH)
    ok &= ((head[10] | _LOWER) == ord("t")) | (head[10] == _SPACE)
    ok &= (head[13] == _COLON) & (head[16] == _COLON)
    year, month, day = _number(digit[0:4]), _number(digit[5:7]), _number(digit[8:10])
    hour, minute, second = _number(digit[11:13]), _number(digit[14:16]), _number(digit[17:19])

    # Fraction: the run of digits after a dot at 19; up to 6 are allowed, so
    # the run is followed to a 7th to see it.
    running = (length > 19) & (head[19] == _DOT)
    has_fraction = running
    fraction_digits = np.zeros(length.size, dtype=np.int64)
    fraction_us = np.zeros(length.size, dtype=np.int64)
    for i in range(7):
        running = running & (digit[20 + i] <= 9) & (length > 20 + i)
        fraction_digits += running
        if i < 6:
            fraction_us += np.where(running, digit[20 + i].astype(np.int64) * 10 ** (5 - i), 0)
    ok &= ~has_fraction | ((fraction_digits >= 1) & (fraction_digits <= 6))

    # Suffix: the bytes after the seconds and the fraction (up to 6).
    at = 19 + np.where(has_fraction, fraction_digits + 1, 0)
    rest = length - at
    columns = np.arange(length.size)
    suffix = [head[at + j, columns] for j in range(6)]
    lead = suffix[0]
    is_z = (rest == 1) & ((lead | _LOWER) == ord("z"))
    is_utc = (
        (rest == 4)
        & (lead == _SPACE)
        & ((suffix[1] | _LOWER) == ord("u"))
        & ((suffix[2] | _LOWER) == ord("t"))
        & ((suffix[3] | _LOWER) == ord("c"))
    )
    sdigit = [_digits(b) for b in suffix]
    compact = (rest == 5) & (sdigit[3] <= 9) & (sdigit[4] <= 9)  # +HHMM
    colon = (rest == 6) & (suffix[3] == _COLON) & (sdigit[4] <= 9) & (sdigit[5] <= 9)  # +HH:MM
    offset_hour = _number(sdigit[1:3])
    offset_minute = np.where(
        compact, _number(sdigit[3:5]), np.where(colon, _number(sdigit[4:6]), 0)
    )
    is_offset = (
        ((lead == _PLUS) | (lead == _MINUS))
        & (sdigit[1] <= 9)
        & (sdigit[2] <= 9)
        & ((rest == 3) | compact | colon)
        & (offset_hour <= 23)
        & (offset_minute <= 59)
    )
    ok &= (rest == 0) | is_z | is_utc | is_offset
    offset_s = np.where(
        is_offset,
        np.where(lead == _MINUS, -1, 1) * (offset_hour * 3600 + offset_minute * 60),
        0,
    )

    ok &= (year >= 1) & (month >= 1) & (month <= 12)
    month = np.where(ok, month, 1)  # keeps the day count defined on bad rows
    ok &= (day >= 1) & (day <= days_in_month(year, month))
    ok &= (hour <= 23) & (minute <= 59) & (second <= 59)

    seconds = (
        days_from_civil(year, month, day) * SECONDS_PER_DAY
        + hour * 3600
        + minute * 60
        + second
        - offset_s
    )
    return np.where(ok, seconds * MICROS_PER_SECOND + fraction_us, 0), ok


def timestamps_us(text: pl.Series) -> pl.Series:
    """Epoch microseconds (Int64, UTC) of each timestamp text; null where it
    does not parse or is out of range.

    >>> import polars as pl
    >>> timestamps_us(pl.Series(["1970-01-02T01:00:00.5+01:00", "soon"])).to_list()
    [86400500000, None]
    """
    import polars as pl

    stripped = text.cast(pl.String).str.strip_chars().fill_null("").rechunk()
    arrow = stripped.to_arrow(compat_level=pl.CompatLevel.oldest())
    assert isinstance(arrow, pa.LargeStringArray)
    values = np.empty(len(arrow), dtype=np.int64)
    ok = np.empty(len(arrow), dtype=bool)
    # In batches: the work arrays stay small (and in cache) whatever the chunk.
    for start in range(0, len(arrow), _BATCH_ROWS):
        batch = slice(start, start + _BATCH_ROWS)
        values[batch], ok[batch] = _epoch_us(*_leading_bytes(arrow[batch]))
    return pl.Series(text.name, values, dtype=pl.Int64).scatter(np.flatnonzero(~ok), None)


def parse_timestamp(text: str) -> int | None:
    """One timestamp, as :func:`timestamps_us` reads it.

    >>> parse_timestamp("2023-01-25 18:13:22.47922 UTC")
    1674670402479220
    >>> parse_timestamp("2023-02-29 00:00:00") is None
    True
    """
    # Without polars, which a command's timestamp option (``storemon report
    # --as-of``) would otherwise import: the same parse, of one string.
    strings = pa.array([text.strip(_WHITESPACE)], pa.large_string())
    values, ok = _epoch_us(*_leading_bytes(strings))
    return int(values[0]) if ok[0] else None

"""Report options as people write them: a max gap in minutes, local dates.

Shared by the command line and the API so both accept exactly the same text.
"""

from __future__ import annotations

import math
import re
from datetime import date
from decimal import ROUND_CEILING, Decimal

from storemon.engine.model import MICROS_PER_SECOND

_MINUTES = re.compile(r"[0-9]+(\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EPOCH = date(1970, 1, 1)
#: The supported range of SPEC section 1: dates from 1900 up to (not
#: including) 2200.
FIRST_DATE, LAST_DATE = date(1900, 1, 1), date(2199, 12, 31)
_MICROS_PER_MINUTE = 60 * MICROS_PER_SECOND
#: Longer than the supported range: a longer gap reaches just as far, and
#: the value still fits the database's 64-bit integers.
MAX_GAP_CAP_US = 400 * 366 * 86_400 * MICROS_PER_SECOND


def minutes_to_us(text: str) -> int | None:
    """A max gap given in minutes (digits with an optional decimal part,
    greater than 0) in microseconds; None for anything else.

    The conversion is exact; a part of a microsecond counts as a whole one
    (rounded up), so any gap greater than 0 stays greater than 0. A gap
    longer than :data:`MAX_GAP_CAP_US` is that long (it reaches as far).

    >>> minutes_to_us("60"), minutes_to_us("0.5"), minutes_to_us("0.0000000001")
    (3600000000, 30000000, 1)
    >>> minutes_to_us("0"), minutes_to_us("1e3"), minutes_to_us("-5")
    (None, None, None)
    """
    if not _MINUTES.fullmatch(text):
        return None
    return _to_us(Decimal(text))


def _to_us(minutes: Decimal) -> int | None:
    micros = (minutes * _MICROS_PER_MINUTE).to_integral_value(rounding=ROUND_CEILING)
    return min(int(micros), MAX_GAP_CAP_US) if micros > 0 else None


def minutes_number_to_us(value: float) -> int | None:
    """As :func:`minutes_to_us`, for a number as JSON gives it (its shortest
    decimal text is taken as written: 0.1 is exactly a tenth)."""
    if isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        return None
    return _to_us(Decimal(repr(value)))


def date_to_days(text: str) -> int | None:
    """A ``YYYY-MM-DD`` calendar date in the supported range as days since
    1970-01-01; None for anything else.

    >>> date_to_days("1970-01-02"), date_to_days("2023-02-30"), date_to_days("2023-1-5")
    (1, None, None)
    """
    if not _DATE.fullmatch(text):
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return None
    if not FIRST_DATE <= value <= LAST_DATE:
        return None
    return (value - _EPOCH).days


def days_to_date(days: int) -> str:
    """``YYYY-MM-DD`` of a date given as days since 1970-01-01."""
    return date.fromordinal(_EPOCH.toordinal() + days).isoformat()

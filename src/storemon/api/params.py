"""Request values that need more than a type: timestamps in the feed formats,
max gaps in minutes."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from fastapi import Depends, Request

from storemon.api.errors import ApiError
from storemon.ingest.timestamps import SUPPORTED_RANGE, in_supported_range, parse_timestamp


def timestamp_param(name: str, text: str | None) -> int | None:
    """Epoch microseconds of ``text`` (any timestamp format the feeds accept),
    None when absent; a 422 naming ``name`` when it does not parse or lies
    outside the supported range."""
    if text is None:
        return None
    value = parse_timestamp(text)
    if value is None:
        raise ApiError(422, f"{name} {text!r} is not a timestamp (e.g. 2023-01-25T18:00:00Z)")
    if not in_supported_range(value):
        raise ApiError(422, f"{name} {text!r} is outside the supported range ({SUPPORTED_RANGE})")
    return value


def only_query(*names: str) -> Any:
    """A dependency refusing query parameters other than ``names``: a
    misspelt one is an error, not a silently different report."""

    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - set(names))
        if unknown:
            raise ApiError(422, f"unknown query parameter {', '.join(map(repr, unknown))}")

    return Depends(check)


_MINUTES = re.compile(r"[0-9]+(\.[0-9]+)?")
#: A max gap beyond a century speaks for everything (the engine caps it too).
_MAX_GAP_MINUTES = Decimal(100 * 366 * 24 * 60)


def max_gap_param(name: str, text: str | None) -> int | None:
    """A max gap given in minutes (digits with an optional decimal part,
    greater than 0, SPEC 8.1) as whole microseconds; None when absent."""
    if text is None:
        return None
    if not _MINUTES.fullmatch(text) or Decimal(text) <= 0:
        raise ApiError(422, f"{name} {text!r} is not a number of minutes greater than 0")
    minutes = min(Decimal(text), _MAX_GAP_MINUTES)
    # At least one microsecond: a positive gap stays positive.
    return max(1, int((minutes * 60_000_000).to_integral_value(ROUND_HALF_EVEN)))

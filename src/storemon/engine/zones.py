"""Local wall time to UTC, vectorized, with the ``fold=0`` rule of PEP 495.

For every zone we collect the UTC offset changes inside the span of interest
and turn each into a *wall switch point*: a change at UTC instant ``T`` from
offset ``a`` to offset ``b`` takes effect for wall times ``w >= T + max(a, b)``.
That one rule gives exactly what ``zoneinfo`` does with ``fold=0``:

* clocks spring forward (``b > a``): wall times in the gap ``[T+a, T+b)`` keep
  the old offset ``a``, so they land after the change, moved forward by the gap;
* clocks fall back (``b < a``): wall times in the repeated hour ``[T+b, T+a)``
  keep the old offset ``a``, i.e. their first occurrence.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

from storemon.engine.model import IntArray

# Offsets are sampled this often to find changes; zones never change their
# offset twice within this time.
_SAMPLE_STEP_S = 3_600
# Each zone's switch points live in their own band of the global search key.
_ZONE_BAND_S = 1 << 40


@lru_cache(maxsize=1024)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _offset_at(zone: ZoneInfo, utc_s: int) -> int:
    offset = datetime.fromtimestamp(utc_s, tz=UTC).astimezone(zone).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


@lru_cache(maxsize=4096)
def _offset_changes(zone: ZoneInfo, start_s: int, end_s: int) -> tuple[tuple[int, int, int], ...]:
    """``(utc_instant, offset_before, offset_after)`` for every change in range
    (cached: a report converts opening and closing times over the same span)."""
    changes = []
    sample = start_s
    offset = _offset_at(zone, sample)
    while sample < end_s:
        following = min(sample + _SAMPLE_STEP_S, end_s)
        following_offset = _offset_at(zone, following)
        if following_offset != offset:
            lo, hi = sample, following  # offset(lo) == offset, offset(hi) differs
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset_at(zone, mid) == offset:
                    lo = mid
                else:
                    hi = mid
            changes.append((hi, offset, following_offset))
        sample, offset = following, following_offset
    return tuple(changes)


def wall_to_utc(
    zone_names: Sequence[str], zone_index: IntArray, wall_s: IntArray, start_s: int, end_s: int
) -> IntArray:
    """UTC epoch seconds of local wall times (epoch-like seconds on the local
    calendar) in the zones ``zone_names[zone_index]``.

    ``start_s``/``end_s`` bound the UTC span the wall times fall in; one day of
    margin on either side is added here.

    >>> int(wall_to_utc(["America/New_York"], np.array([0]),
    ...                 np.array([1678588200]), 1678500000, 1678700000)[0])  # 2023-03-12 02:30
    1678606200
    """
    start_s -= 86_400
    end_s += 86_400
    keys: list[int] = []
    offsets: list[int] = []
    # Only the zones asked about: sampling offsets is the costly part.
    for index in np.unique(zone_index).tolist():
        zone = _zone(zone_names[index])
        band = index * _ZONE_BAND_S
        keys.append(band)
        offsets.append(_offset_at(zone, start_s))
        for instant, before, after in _offset_changes(zone, start_s, end_s):
            keys.append(band + instant + max(before, after) - start_s)
            offsets.append(after)
    if not keys:
        return np.zeros(0, dtype=np.int64)
    key_table = np.asarray(keys, dtype=np.int64)
    offset_table = np.asarray(offsets, dtype=np.int64)
    query = zone_index * _ZONE_BAND_S + (wall_s - start_s)
    position = np.searchsorted(key_table, query, side="right") - 1
    result: IntArray = wall_s - offset_table[position]
    return result

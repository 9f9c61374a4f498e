"""One snapshot read as several store-key ranges at once.

The polls are most of a report's read, and reading them is mostly the
driver's work (ADBC's, in C, without the GIL). Split into key ranges, each
read on a connection of its own in a thread, they are read on as many CPUs.

Each range is read in a transaction of its own, so the parts may see
different states of the database. Every change of the data bumps
``dataset_state.version`` in the same transaction, so parts that saw the
same version saw the same data; when they did not (a write committed while
they started), the whole snapshot is read again in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from storemon.data.snapshot import NoSuchTable, SnapshotColumns

if TYPE_CHECKING:
    from storemon.data.snapshot import DatasetState, SnapshotReader, SpanChoice
    from storemon.engine.model import Snapshot

_LOWEST_KEY, _HIGHEST_KEY = -(1 << 63), (1 << 63) - 1


def read_in_parts(
    reader: SnapshotReader, span: SpanChoice, *, groups: bool = False
) -> tuple[Snapshot, DatasetState] | None:
    """What ``reader.read_snapshot(None, span, groups=groups)`` reads, in
    ``reader.read_parts`` key ranges at once. None when it is better read in
    one transaction: a small or empty database (or none with the schema,
    which the one read reports), or parts that saw different versions."""
    try:
        with reader.transaction() as read:
            bounds = read.query("select min(store_key) as lo, max(store_key) as hi from stores")
    except NoSuchTable:
        return None
    first, last = (bounds.column(name)[0].as_py() for name in ("lo", "hi"))
    if first is None:
        return None
    ranges = key_ranges(int(first), int(last), reader.read_parts, reader.part_min_stores)
    if len(ranges) < 2:
        return None

    def read_part(key_range: tuple[int, int]) -> tuple[SnapshotColumns, DatasetState]:
        with reader.transaction() as read:
            return reader.read_columns(read, None, span, groups=groups, key_range=key_range)

    with ThreadPoolExecutor(len(ranges), thread_name_prefix="snapshot-part") as pool:
        parts = list(pool.map(read_part, ranges))
    return merge_parts(parts)


def key_ranges(first: int, last: int, parts: int, min_stores: int) -> list[tuple[int, int]]:
    """``parts`` ranges (fewer when some would hold under ``min_stores``
    keys) splitting ``first..last`` evenly, the first and last open-ended:
    a store added after ``first`` and ``last`` were read still falls in one.

    >>> key_ranges(1, 100, 2, 10)
    [(-9223372036854775808, 50), (51, 9223372036854775807)]
    """
    count = max(1, min(parts, (last - first + 1) // max(1, min_stores)))
    cuts = [first + (last - first + 1) * i // count for i in range(1, count)]
    starts = [_LOWEST_KEY, *cuts]
    ends = [cut - 1 for cut in cuts] + [_HIGHEST_KEY]
    return list(zip(starts, ends, strict=True))


def merge_parts(
    parts: Sequence[tuple[SnapshotColumns, DatasetState]],
) -> tuple[Snapshot, DatasetState] | None:
    """One snapshot from reads of disjoint key ranges, in key order; None
    when the reads saw different versions of the data."""
    states = {state.version for _, state in parts}
    if len(states) != 1:
        return None
    columns = [part for part, _ in parts]
    state = parts[0][1]

    def joined(pick: str, index: int | None = None) -> np.ndarray:
        arrays = [
            getattr(part, pick) if index is None else getattr(part, pick)[index] for part in columns
        ]
        return np.concatenate(arrays)

    merged = SnapshotColumns(
        keys=joined("keys"),
        ids=joined("ids"),
        zones=joined("zones"),
        polls=[joined("polls", i) for i in range(len(columns[0].polls))],
        hours=[joined("hours", i) for i in range(len(columns[0].hours))],
        special=[joined("special", i) for i in range(len(columns[0].special))],
        member_ids=joined("member_ids"),
        member_groups=joined("member_groups"),
        groups=columns[0].groups,
    )
    return merged.snapshot(), state

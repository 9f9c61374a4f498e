"""One snapshot read as several store-key ranges at once.

The polls are most of a report's read, and reading them is mostly the
driver's work (ADBC's, in C, without the GIL). Split into key ranges, each
read on a connection of its own in a thread, they are read on as many CPUs;
a computation on each part's stores alone (stores are independent) runs in
the same threads, mostly in numpy, which releases the GIL too.

Each range is read in a transaction of its own, so the parts may see
different states of the database. Every change of the data bumps
``dataset_state.version`` in the same transaction, so parts that saw the
same version saw the same data; when they did not (a write committed while
they started), the caller reads the whole snapshot in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from storemon.data.snapshot import NoSuchTable
from storemon.engine.model import Hours, Memberships, Polls, Snapshot, SpecialHours, Stores

if TYPE_CHECKING:
    from storemon.data.snapshot import DatasetState, SnapshotReader, SpanChoice

T = TypeVar("T")

_LOWEST_KEY, _HIGHEST_KEY = -(1 << 63), (1 << 63) - 1


def map_parts(
    reader: SnapshotReader,
    span: SpanChoice,
    each: Callable[[Snapshot, DatasetState], T],
    *,
    groups: bool = False,
) -> tuple[list[T], DatasetState] | None:
    """``each`` of the snapshots of ``reader.read_parts`` key ranges, read
    (as ``reader.read_snapshot(None, span, groups=groups)`` reads) and
    computed at once, in key order, with the dataset state they saw.

    A small or empty database, or a span the reader reads better whole
    (``reads_in_parts``), is one part, read in the transaction that decided
    so: one result. None when the caller should read in one transaction of
    its own: a reader of one part, a database without the schema (which
    that read reports), or parts that saw different versions."""
    if reader.read_parts < 2:
        return None
    try:
        with reader.transaction() as read:
            bounds = read.query("select min(store_key) as lo, max(store_key) as hi from stores")
            first, last = (bounds.column(name)[0].as_py() for name in ("lo", "hi"))
            ranges: list[tuple[int, int]] = []
            if first is not None and reader.reads_in_parts(read, span):
                ranges = key_ranges(
                    int(first), int(last), reader.read_parts, reader.part_min_stores
                )
            if len(ranges) < 2:
                snapshot, state = reader.read_in(read, None, span, groups=groups)
                return [each(snapshot, state)], state
    except NoSuchTable:
        return None

    def run(key_range: tuple[int, int]) -> tuple[T, DatasetState]:
        with reader.transaction() as read:
            snapshot, state = reader.read_in(read, None, span, groups=groups, key_range=key_range)
        return each(snapshot, state), state

    with ThreadPoolExecutor(len(ranges), thread_name_prefix="snapshot-part") as pool:
        done = list(pool.map(run, ranges))
    if len({state.version for _, state in done}) != 1:
        return None
    return [result for result, _ in done], done[0][1]


def read_in_parts(
    reader: SnapshotReader, span: SpanChoice, *, groups: bool = False
) -> tuple[Snapshot, DatasetState] | None:
    """``reader.read_snapshot(None, span, groups=groups)`` read in parts (see
    :func:`map_parts`, None as there)."""
    parted = map_parts(reader, span, lambda snapshot, _: snapshot, groups=groups)
    if parted is None:
        return None
    parts, state = parted
    return merge_snapshots(parts), state


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


def merge_snapshots(parts: Sequence[Snapshot]) -> Snapshot:
    """One snapshot from snapshots of disjoint key ranges given in key order
    (their stores stay in key order, their polls in the order read). One
    part is that snapshot already."""
    if len(parts) == 1:
        return parts[0]

    def joined(name: str, column: str) -> np.ndarray:
        return np.concatenate([getattr(getattr(part, name), column) for part in parts])

    return Snapshot(
        stores=Stores(
            joined("stores", "key"), joined("stores", "store_id"), joined("stores", "timezone")
        ),
        polls=Polls(
            joined("polls", "store_key"), joined("polls", "ts_us"), joined("polls", "active")
        ),
        hours=Hours(*(joined("hours", c) for c in ("store_key", "day", "start_s", "end_s"))),
        special=SpecialHours(
            *(joined("special", c) for c in ("store_key", "date", "start_s", "end_s"))
        ),
        groups=Memberships(joined("groups", "store_id"), joined("groups", "group")),
    )

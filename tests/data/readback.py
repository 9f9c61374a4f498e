"""Read a test database back as plain Python values (through the snapshot)."""

from __future__ import annotations

from collections import defaultdict

from storemon.data.snapshot import DatasetState, reader_for


def polls_by_id(url: str) -> dict[tuple[str, int], bool]:
    snapshot, _ = reader_for(url).read_snapshot()
    ids = dict(zip(snapshot.stores.key.tolist(), snapshot.stores.store_id.tolist(), strict=True))
    polls = snapshot.polls
    return {
        (ids[key], ts): active
        for key, ts, active in zip(
            polls.store_key.tolist(), polls.ts_us.tolist(), polls.active.tolist(), strict=True
        )
    }


def hours_by_id(url: str) -> dict[str, list[tuple[int, int, int]]]:
    snapshot, _ = reader_for(url).read_snapshot()
    ids = dict(zip(snapshot.stores.key.tolist(), snapshot.stores.store_id.tolist(), strict=True))
    hours = snapshot.hours
    schedule: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
    for key, day, start, end in zip(
        hours.store_key.tolist(),
        hours.day.tolist(),
        hours.start_s.tolist(),
        hours.end_s.tolist(),
        strict=True,
    ):
        schedule[ids[key]].append((day, start, end))
    return {store: sorted(rows) for store, rows in schedule.items()}


def timezones_by_id(url: str) -> dict[str, str | None]:
    snapshot, _ = reader_for(url).read_snapshot()
    return dict(
        zip(snapshot.stores.store_id.tolist(), snapshot.stores.timezone.tolist(), strict=True)
    )


def state(url: str) -> DatasetState:
    return reader_for(url).read_snapshot()[1]

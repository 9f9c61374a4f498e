"""Retention of polls: delete the history no report may ask for any more.

The horizon is counted back from the newest stored poll (the default ``now``
of a report), not from the wall clock: a feed that paused, or a data set
loaded long after it was recorded, is never emptied by the calendar.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storemon.data.dataset import bump_version, refresh_store_bounds
from storemon.data.schema import DATASET_STATE_ID, dataset_state, polls, stores
from storemon.data.snapshot import PrunedHistoryError

DAY_US = 86_400 * 1_000_000


def prune_polls(conn: Connection, keep_days: float) -> tuple[int, int | None]:
    """Delete the polls older than ``keep_days`` before the newest poll,
    except each store's last poll before that horizon: the status at the
    horizon is interpolated from it, so a report whose windows start at or
    after the horizon stays exactly what it was. When it deletes any, it
    records the horizon in ``dataset_state`` (reports reaching before it are
    refused from then on). Returns the polls deleted and the horizon (None:
    no polls). Runs in the caller's transaction."""
    # Locking the state row serializes this with poll writers.
    newest, retained = conn.execute(
        sa.select(dataset_state.c.newest_poll_us, dataset_state.c.retained_from_us)
        .where(dataset_state.c.id == DATASET_STATE_ID)
        .with_for_update()
    ).one()
    if newest is None:
        return 0, None
    # Never back: the polls an earlier prune deleted do not come back.
    horizon = int(newest) - round(keep_days * DAY_US)
    if retained is not None:
        horizon = max(horizon, int(retained))
    # Per store, by primary key: the last poll before the horizon, found
    # only for stores whose first poll lies before it.
    last_before = (
        sa.select(sa.func.max(polls.c.ts_us))
        .where(polls.c.store_key == stores.c.store_key, polls.c.ts_us < horizon)
        .scalar_subquery()
    )
    kept = conn.execute(
        sa.select(stores.c.store_key, stores.c.first_poll_us, last_before).where(
            stores.c.first_poll_us < horizon
        )
    ).all()
    # A store whose first poll is the one kept has nothing to delete.
    doomed = [{"key": key, "keep": keep} for key, first, keep in kept if keep > first]
    if not doomed:
        # Nothing deleted, nothing missing: no horizon to record.
        return 0, horizon
    result = conn.execute(
        sa.delete(polls).where(
            polls.c.store_key == sa.bindparam("key"), polls.c.ts_us < sa.bindparam("keep")
        ),
        doomed,
    )
    deleted = max(int(result.rowcount), 0)
    refresh_store_bounds(conn, [row["key"] for row in doomed])
    conn.execute(
        sa.update(dataset_state)
        .where(dataset_state.c.id == DATASET_STATE_ID)
        .values(retained_from_us=horizon)
    )
    bump_version(conn)
    return deleted, horizon


def retained_from_us(conn: Connection) -> int | None:
    """The retention horizon (None: nothing was ever pruned)."""
    query = sa.select(dataset_state.c.retained_from_us).where(
        dataset_state.c.id == DATASET_STATE_ID
    )
    value = conn.execute(query).scalar()
    return None if value is None else int(value)


def check_retained(conn: Connection, start_us: int) -> None:
    """Raise :class:`PrunedHistoryError` when a computation from
    ``start_us`` would need polls the retention deleted."""
    horizon = retained_from_us(conn)
    if horizon is not None and start_us < horizon:
        raise PrunedHistoryError.of(horizon, start_us)

"""Group memberships (SPEC 8.4): writing a feed's memberships, listing the
groups, and reading every membership back as arrays for the report.

Writers run inside the caller's transaction and never commit.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storemon.data.columnar import read_columns
from storemon.data.dataset import backend, refusals_translated, replace_store_rows
from storemon.data.schema import store_groups, stores


@refusals_translated
def replace_memberships(conn: Connection, rows: pl.DataFrame) -> int:
    """Put every store in ``rows`` (``store_key``, ``group``) in exactly these
    groups (a repeated pair counts once); other stores keep theirs. Returns
    the number of stores changed."""
    new = rows.select(
        pl.col("store_key").cast(pl.Int64), pl.col("group").cast(pl.String).alias("group_name")
    ).unique()
    return replace_store_rows(conn, store_groups, new, pl.col("group_name"))


MEMBERSHIP_TYPES = {"store_key": pa.int64(), "store_id": pa.string(), "group": pa.string()}


def read_memberships(conn: Connection) -> pa.Table:
    """Every membership as a table ``store_key`` (int64), ``store_id`` and
    ``group`` (strings), sorted by ``store_id`` then ``group`` in code point
    order, in one query."""
    table = read_columns(
        conn,
        "select g.store_key, s.store_id, g.group_name from store_groups g "
        "join stores s on s.store_key = g.store_key",
        MEMBERSHIP_TYPES,
    )
    # Arrow compares strings byte by byte: UTF-8 byte order is code point order,
    # whatever the database's collation.
    return table.sort_by([("store_id", "ascending"), ("group", "ascending")])


@dataclass(frozen=True)
class GroupCount:
    group: str
    members: int


def _code_point_order(column: sa.ColumnElement[str], conn: Connection) -> sa.ColumnElement[str]:
    # SQLite compares text as bytes and the MySQL column has a binary
    # collation; PostgreSQL's database collation may be a linguistic one.
    return column.collate("C") if backend(conn) == "postgresql" else column


def group_counts(conn: Connection, limit: int, offset: int = 0) -> tuple[list[GroupCount], int]:
    """One page of groups in code point order with their member counts, and
    the number of groups in all."""
    name = store_groups.c.group_name
    total = conn.execute(sa.select(sa.func.count(sa.distinct(name)))).scalar_one()
    page = conn.execute(
        sa.select(name, sa.func.count())
        .group_by(name)
        .order_by(_code_point_order(name, conn))
        .limit(limit)
        .offset(offset)
    ).all()
    return [GroupCount(group, int(members)) for group, members in page], int(total)


def group_members(conn: Connection, group: str) -> list[str]:
    """The store ids in ``group`` (none for a group that does not exist)."""
    query = (
        sa.select(stores.c.store_id)
        .join(store_groups, store_groups.c.store_key == stores.c.store_key)
        .where(store_groups.c.group_name == group)
    )
    return list(conn.execute(query).scalars())

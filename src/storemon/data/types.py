"""Column types that need a word per database, and the helpers that go with
their values."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.ext.compiler import compiles

T = TypeVar("T")

#: Values per ``IN (...)`` list: far below every backend's bound-parameter limit.
IN_BATCH = 500


class StoreId(sa.String):
    """``store_id``: an opaque string, compared byte for byte.

    MySQL's default collations fold case and ignore trailing spaces, which
    would merge ids that differ; MariaDB's and MySQL's binary collations are
    still PAD SPACE, hence their NO PAD binary collations (named differently
    on each server). Elsewhere a plain VARCHAR.
    """

    cache_ok = True

    def __init__(self, length: int = 255) -> None:
        super().__init__(length)


@compiles(StoreId, "mysql")
@compiles(StoreId, "mariadb")
def _store_id_on_mysql(element: StoreId, compiler: Any, **_: Any) -> str:
    collation = (
        "utf8mb4_nopad_bin"
        if getattr(compiler.dialect, "is_mariadb", False)
        else "utf8mb4_0900_bin"
    )
    return f"VARCHAR({element.length}) CHARACTER SET utf8mb4 COLLATE {collation}"


#: A UTC instant. MySQL/MariaDB keep DATETIME to the second unless asked for
#: fractions; report and ingest times need their order, so microseconds.
Moment = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def as_utc(moment: datetime) -> datetime:
    """A :data:`Moment` as read back: SQLite and MySQL hand back naive
    datetimes, which were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def in_batches(values: Sequence[T], size: int = IN_BATCH) -> Iterator[Sequence[T]]:
    """``values`` in slices of at most ``size``, one ``IN (...)`` list each."""
    for start in range(0, len(values), size):
        yield values[start : start + size]

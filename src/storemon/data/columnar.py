"""A query's result as Arrow columns, through a SQLAlchemy connection.

For reads of whole small tables (special hours, group memberships) inside
the caller's transaction: PostgreSQL sends the rows as CSV with ``COPY``,
which Arrow parses; SQLite and MySQL rows come from the driver's cursor as
plain tuples (no SQLAlchemy row objects) and become Arrow arrays column by
column.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy.engine import Connection

from storemon.data.dataset import backend


def read_columns(conn: Connection, sql: str, types: Mapping[str, pa.DataType]) -> pa.Table:
    """Run ``sql`` (a plain SELECT whose result columns are ``types``, in that
    order, none of them NULL) and return its rows as a table of those types."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if backend(conn) == "postgresql":
            return _copy_out(cursor, sql, types)
        cursor.execute(sql)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in types]
    return pa.table(
        {
            name: pa.array(column, type=kind)
            for (name, kind), column in zip(types.items(), columns, strict=True)
        }
    )


def _copy_out(cursor: object, sql: str, types: Mapping[str, pa.DataType]) -> pa.Table:
    buffer = io.BytesIO()
    with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:  # type: ignore[attr-defined]
        for data in copy:
            buffer.write(data)
    if not buffer.tell():
        return pa.table({name: pa.array([], type=kind) for name, kind in types.items()})
    return pa_csv.read_csv(
        pa.py_buffer(buffer.getbuffer()),
        read_options=pa_csv.ReadOptions(column_names=list(types)),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        # A quoted empty string stays a string; ids and groups are never empty.
        convert_options=pa_csv.ConvertOptions(column_types=dict(types)),
    )

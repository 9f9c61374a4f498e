"""Whole tables as columns, read through a SQLAlchemy connection in the
caller's transaction, without a Python object per row where it matters.

- Integer tables: PostgreSQL and MySQL build the rows as one CSV text on the
  server (``string_agg`` / ``group_concat``), which Arrow parses; SQLite's
  driver rows go to numpy in one conversion.
- Text columns: PostgreSQL sends CSV with ``COPY``; SQLite and MySQL rows come
  from the driver's cursor as plain tuples (no SQLAlchemy row objects).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy.engine import Connection

from storemon.data.dataset import backend

IntArray = npt.NDArray[np.int64]

#: MySQL: rows of this many consecutive store keys per aggregated text, so no
#: text comes near the server's packet limit.
_STORES_PER_TEXT = 256
#: MySQL: the longest aggregated text (the server also caps it at
#: ``max_allowed_packet``; a cut text shows in the row count).
_TEXT_LIMIT = 1 << 30


def read_integers(conn: Connection, table: str, columns: Mapping[str, str]) -> dict[str, IntArray]:
    """Every row of ``table`` as int64 arrays, one per entry of ``columns``
    (name -> SQL expression, never NULL; the first is the table's
    ``store_key``), in no particular order."""
    names = list(columns)
    kind = backend(conn)
    if kind == "postgresql":
        text = conn.exec_driver_sql(
            f"select string_agg(concat_ws(',', {', '.join(columns.values())}), E'\\n') from {table}"
        ).scalar()
        return _parse_integers(text or "", names)
    if kind == "mysql":
        parsed = _mysql_integers(conn, table, columns)
        if parsed is not None:
            return parsed
    rows = _driver_rows(conn, f"select {', '.join(columns.values())} from {table}")
    matrix = np.array(rows, dtype=np.int64).reshape(-1, len(names))
    return {name: matrix[:, i].copy() for i, name in enumerate(names)}


def _mysql_integers(
    conn: Connection, table: str, columns: Mapping[str, str]
) -> dict[str, IntArray] | None:
    """The rows through ``group_concat``, or None when a text came back cut."""
    key = next(iter(columns.values()))
    block = f"{key} div {_STORES_PER_TEXT}"
    conn.exec_driver_sql(f"set session group_concat_max_len = {_TEXT_LIMIT}")
    texts = conn.exec_driver_sql(
        f"select count(*), group_concat(concat_ws(',', {', '.join(columns.values())}) "
        f"separator '\\n') from {table} group by {block}"
    ).all()
    expected = sum(int(count) for count, _ in texts)
    text = "\n".join(part.decode() if isinstance(part, bytes) else part for _, part in texts)
    try:
        parsed = _parse_integers(text, list(columns))
    except pa.ArrowInvalid:  # a row cut in the middle
        return None
    return parsed if len(parsed[next(iter(columns))]) == expected else None


def _parse_integers(text: str, names: list[str]) -> dict[str, IntArray]:
    if not text:
        return {name: np.zeros(0, dtype=np.int64) for name in names}
    frame = pa_csv.read_csv(
        pa.py_buffer(text.encode()),
        read_options=pa_csv.ReadOptions(column_names=names),
        convert_options=pa_csv.ConvertOptions(column_types=dict.fromkeys(names, pa.int64())),
    )
    return {name: frame.column(name).to_numpy() for name in names}


def read_columns(conn: Connection, sql: str, types: Mapping[str, pa.DataType]) -> pa.Table:
    """Run ``sql`` (a plain SELECT whose result columns are ``types``, in that
    order, none of them NULL) and return its rows as a table of those types."""
    if backend(conn) == "postgresql":
        return _copy_out(conn, sql, types)
    rows = _driver_rows(conn, sql)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in types]
    return pa.table(
        {
            name: pa.array(column, type=kind)
            for (name, kind), column in zip(types.items(), columns, strict=True)
        }
    )


def _driver_rows(conn: Connection, sql: str) -> list[tuple[Any, ...]]:
    """Rows as the driver makes them (plain tuples, no SQLAlchemy rows)."""
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _copy_out(conn: Connection, sql: str, types: Mapping[str, pa.DataType]) -> pa.Table:
    buffer = io.BytesIO()
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
            for data in copy:
                buffer.write(data)
    finally:
        cursor.close()
    if not buffer.tell():
        return pa.table({name: pa.array([], type=kind) for name, kind in types.items()})
    return pa_csv.read_csv(
        pa.py_buffer(buffer.getbuffer()),
        read_options=pa_csv.ReadOptions(column_names=list(types)),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        # A quoted empty string stays a string; ids and groups are never empty.
        convert_options=pa_csv.ConvertOptions(column_types=dict(types)),
    )

"""A stored report CSV in the other download formats."""

from __future__ import annotations

import csv
import io
import json
from typing import Literal

from storemon.reports.csv_output import HEADER, unsafe_cell

#: format -> (media type, file suffix)
FORMATS: dict[str, tuple[str, str]] = {
    "csv": ("text/csv", "csv"),
    "json": ("application/json", "json"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
}


def _rows(data: bytes) -> list[list[str]]:
    reader = csv.reader(io.StringIO(data.decode()))
    next(reader, None)  # header
    return list(reader)


def convert(data: bytes, fmt: Literal["csv", "json", "parquet"]) -> bytes:
    """``data`` is the report CSV as stored; store ids in JSON and Parquet are
    the original ones (the CSV escapes ids a spreadsheet would run)."""
    if fmt == "csv":
        return data
    rows = _rows(data)
    ids = [unsafe_cell(row[0]) for row in rows]
    values = {name: [float(row[i]) for row in rows] for i, name in enumerate(HEADER[1:], 1)}
    if fmt == "json":
        items = [
            {"store_id": store_id, **{name: values[name][i] for name in HEADER[1:]}}
            for i, store_id in enumerate(ids)
        ]
        return json.dumps(items, separators=(",", ":")).encode()
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"store_id": pa.array(ids, pa.string()), **values})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()

"""A finished report as a typed frame: what is stored, and what every
download format is rendered from.

A frame is a ``pyarrow.Table`` whose columns carry their meaning in their
types, so one renderer serves every kind of report:

- ids and names (``store_id``, ``group``): ``string``, exactly as loaded;
- values rounded to 2 decimals: ``decimal128(18, 2)``, exact (never a float);
- counts: ``int64``; local dates: ``date32``; instants: ``timestamp[us, UTC]``.

The schema metadata says what the frame is: ``kind`` (``uptime`` for the
section 5 report), ``now`` (UTC, microseconds) and ``parameters`` (JSON).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from storemon.engine import Report, rounded_columns

if TYPE_CHECKING:
    from storemon.reports.service import ReportRequest

#: Values are stored in hundredths: 2 decimals, up to 16 digits before the point.
VALUE_TYPE = pa.decimal128(18, 2)

#: Schema metadata keys.
KIND = b"kind"
NOW = b"now"
PARAMETERS = b"parameters"

# Stored as Arrow IPC with zstd-compressed buffers: within 16 % of Parquet's
# size and 2-4 times faster to write and to read back; figures in
# docs/performance.md ("Stored reports", bench/report_storage.py).
_COMPRESSION = "zstd"


def decimal_column(hundredths: npt.NDArray[np.int64]) -> pa.Array:
    """Exact 2-decimal values from integer hundredths.

    >>> decimal_column(np.array([6000, 5])).to_pylist()
    [Decimal('60.00'), Decimal('0.05')]
    """
    # decimal128 is a 128-bit two's-complement integer: the low word holds the
    # int64, the high word its sign extension.
    values = np.asarray(hundredths, dtype=np.int64)
    words = np.empty((len(values), 2), dtype=np.int64)
    words[:, 0] = values
    words[:, 1] = values >> 63
    return pa.Array.from_buffers(VALUE_TYPE, len(values), [None, pa.py_buffer(words)])


def report_frame(
    kind: str, columns: Mapping[str, pa.Array], now_us: int, parameters: Mapping[str, object]
) -> pa.Table:
    """A frame of any kind: the columns in order, and what produced them."""
    metadata = {
        KIND: kind.encode(),
        NOW: str(now_us).encode(),
        PARAMETERS: json.dumps(parameters, separators=(",", ":"), sort_keys=True).encode(),
    }
    return pa.table(dict(columns)).replace_schema_metadata(metadata)


def uptime_frame(report: Report, request: ReportRequest) -> pa.Table:
    """The section 5 report: ``store_id`` and the six values (and the three
    nodata values when the report has a max gap)."""
    columns: dict[str, pa.Array] = {"store_id": pa.array(report.store_id, pa.string())}
    for name, values in rounded_columns(report).items():
        # rounded_columns gives hundredths / 100 as the nearest double, so
        # scaling back and rounding recovers the integer exactly.
        columns[name] = decimal_column(np.rint(values * 100).astype(np.int64))
    return report_frame("uptime", columns, report.now_us, report_parameters(request))


def report_parameters(request: ReportRequest) -> dict[str, object]:
    """A report's parameters for the frame's metadata; the section 8 ones
    only when used, so a section 5 report's frame stays as it was."""
    parameters: dict[str, object] = {
        "as_of_us": request.as_of_us,
        "interpolation": request.interpolation,
        "store_ids": list(request.store_ids) if request.store_ids is not None else None,
    }
    if request.kind != "stores":
        parameters["kind"] = request.kind
    if request.max_gap_us is not None:
        parameters["max_gap_us"] = request.max_gap_us
    if request.first_date is not None:
        parameters["first_date"] = request.first_date
        parameters["last_date"] = request.last_date
    return parameters


def encode_frame(frame: pa.Table) -> bytes:
    """The bytes stored for a finished report."""
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression=_COMPRESSION)
    with pa.ipc.new_file(sink, frame.schema, options=options) as writer:
        writer.write_table(frame)
    return sink.getvalue()


def decode_frame(data: bytes) -> pa.Table:
    """The frame :func:`encode_frame` stored."""
    return pa.ipc.open_file(pa.py_buffer(data)).read_all()

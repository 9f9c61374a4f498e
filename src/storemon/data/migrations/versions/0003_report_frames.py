"""Finished reports are stored as typed frames, not CSV text.

``report_files`` (the CSV of each complete report) becomes ``report_frames``
(the report as an Arrow IPC file with zstd-compressed buffers: store ids as
loaded, values as ``decimal128(18, 2)``, and the kind, ``now`` and parameters
in the schema metadata), and ``reports.csv_bytes`` becomes ``frame_bytes``.
Reports stored before are converted, not kept as CSV: every download format
is rendered from the frame, and the CSV rendered from a converted report is
byte for byte the CSV it was stored as (the values have exactly 2 decimals;
the formula escaping of store ids is undone here and done again when the CSV
is rendered). Downgrading writes the CSVs back.

The conversion is written out here, as this revision's storage was, so later
changes to the application cannot change what this migration does.

Revision ID: report_frames
Revises: special_hours_and_groups
Create Date: 2026-12-01
"""

from __future__ import annotations

import io
import json
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "report_frames"
down_revision: str | None = "special_hours_and_groups"
branch_labels: str | None = None
depends_on: str | None = None

UTF8: dict[str, Any] = {"mysql_charset": "utf8mb4"}
ReportBytes = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")

VALUE_COLUMNS = (
    "uptime_last_hour",
    "uptime_last_day",
    "uptime_last_week",
    "downtime_last_hour",
    "downtime_last_day",
    "downtime_last_week",
)

reports = sa.table(
    "reports",
    sa.column("id", sa.String),
    sa.column("as_of_us", sa.BigInteger),
    sa.column("interpolation", sa.String),
    sa.column("store_ids", sa.Text),
    sa.column("now_us", sa.BigInteger),
    sa.column("csv_bytes", sa.BigInteger),
    sa.column("frame_bytes", sa.BigInteger),
)
report_files = sa.table(
    "report_files", sa.column("report_id", sa.String), sa.column("csv", sa.LargeBinary)
)
report_frames = sa.table(
    "report_frames", sa.column("report_id", sa.String), sa.column("frame", sa.LargeBinary)
)


# pyarrow is imported only when a stored report is converted: Alembic loads
# every revision on each migration run.


def _frame_of_csv(csv: bytes, params: sa.Row) -> bytes:  # type: ignore[type-arg]
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    types = {"store_id": pa.string(), **dict.fromkeys(VALUE_COLUMNS, pa.decimal128(18, 2))}
    table = pa_csv.read_csv(
        io.BytesIO(csv),
        parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(column_types=types, strings_can_be_null=False),
    )
    if table.column_names != ["store_id", *VALUE_COLUMNS]:
        raise ValueError(f"report {params.id}: unexpected columns {table.column_names}")
    ids = table.column("store_id")
    ids = pc.if_else(pc.starts_with(ids, "'"), pc.utf8_slice_codeunits(ids, 1), ids)
    parameters = {
        "as_of_us": params.as_of_us,
        "interpolation": params.interpolation,
        "store_ids": None if params.store_ids is None else json.loads(params.store_ids),
    }
    metadata = {
        b"kind": b"uptime",
        b"now": str(params.now_us).encode(),
        b"parameters": json.dumps(parameters, separators=(",", ":"), sort_keys=True).encode(),
    }
    frame = table.set_column(0, "store_id", ids).replace_schema_metadata(metadata)
    sink = io.BytesIO()
    options = pa.ipc.IpcWriteOptions(compression="zstd")
    with pa.ipc.new_file(sink, frame.schema, options=options) as writer:
        writer.write_table(frame)
    return sink.getvalue()


def _csv_field(text: str) -> str:
    if text.startswith(("=", "+", "-", "@", "\t", "\r", "'")):
        text = "'" + text
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_of_frame(data: bytes) -> bytes:
    import pyarrow as pa

    frame = pa.ipc.open_file(pa.py_buffer(data)).read_all()
    ids = [_csv_field(text) for text in frame.column("store_id").to_pylist()]
    values = [frame.column(name).cast(pa.string()).to_pylist() for name in VALUE_COLUMNS]
    lines = [",".join(["store_id", *VALUE_COLUMNS])]
    lines += [",".join(row) for row in zip(ids, *values, strict=True)]
    return ("\n".join(lines) + "\n").encode()


def upgrade() -> None:
    op.create_table(
        "report_frames",
        sa.Column("report_id", sa.String(32), primary_key=True),
        sa.Column("frame", ReportBytes, nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name="fk_report_frames_report_id"),
        **UTF8,
    )
    op.alter_column(
        "reports",
        "csv_bytes",
        new_column_name="frame_bytes",
        existing_type=sa.BigInteger(),
        existing_nullable=True,
    )
    connection = op.get_bind()
    query = sa.select(
        reports.c.id,
        reports.c.as_of_us,
        reports.c.interpolation,
        reports.c.store_ids,
        reports.c.now_us,
    )
    # One report at a time: each file may be megabytes.
    for params in connection.execute(
        query.where(reports.c.id.in_(sa.select(report_files.c.report_id)))
    ).all():
        csv = connection.execute(
            sa.select(report_files.c.csv).where(report_files.c.report_id == params.id)
        ).scalar_one()
        frame = _frame_of_csv(bytes(csv), params)
        connection.execute(report_frames.insert().values(report_id=params.id, frame=frame))
        connection.execute(
            reports.update().where(reports.c.id == params.id).values(frame_bytes=len(frame))
        )
    op.drop_table("report_files")


def downgrade() -> None:
    op.create_table(
        "report_files",
        sa.Column("report_id", sa.String(32), primary_key=True),
        sa.Column("csv", ReportBytes, nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name="fk_report_files_report_id"),
        **UTF8,
    )
    op.alter_column(
        "reports",
        "frame_bytes",
        new_column_name="csv_bytes",
        existing_type=sa.BigInteger(),
        existing_nullable=True,
    )
    connection = op.get_bind()
    for report_id in connection.execute(sa.select(report_frames.c.report_id)).scalars().all():
        frame = connection.execute(
            sa.select(report_frames.c.frame).where(report_frames.c.report_id == report_id)
        ).scalar_one()
        csv = _csv_of_frame(bytes(frame))
        connection.execute(report_files.insert().values(report_id=report_id, csv=csv))
        connection.execute(
            reports.update().where(reports.c.id == report_id).values(csv_bytes=len(csv))
        )
    op.drop_table("report_frames")

"""Initial schema: stores, polls, business hours, ingest log, dataset state,
report jobs.

Revision ID: 0001
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from storemon.data.types import Moment, StoreId

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# The column types of storemon.data.schema as of this revision.
BigKey = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTF8: dict[str, Any] = {"mysql_charset": "utf8mb4"}
ReportBytes = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "stores",
        sa.Column("store_key", BigKey, primary_key=True, autoincrement=True),
        sa.Column("store_id", StoreId(255), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.UniqueConstraint("store_id"),
        **UTF8,
    )
    op.create_table(
        "polls",
        sa.Column("store_key", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("ts_us", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sqlite_with_rowid=False,
        **UTF8,
    )
    op.create_table(
        "business_hours",
        sa.Column("store_key", sa.BigInteger, nullable=False),
        sa.Column("day", sa.SmallInteger, nullable=False),
        sa.Column("start_s", sa.Integer, nullable=False),
        sa.Column("end_s", sa.Integer, nullable=False),
        **UTF8,
    )
    op.create_index("ix_business_hours_store_key", "business_hours", ["store_key"])
    op.create_table(
        "ingests",
        sa.Column("id", BigKey, primary_key=True, autoincrement=True),
        sa.Column("feed", sa.String(16), nullable=False),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("strict", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", Moment, nullable=False),
        sa.Column("finished_at", Moment, nullable=True),
        sa.Column("rows_loaded", sa.BigInteger, nullable=False),
        sa.Column("rows_rejected", sa.BigInteger, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        **UTF8,
    )
    op.create_table(
        "rejects",
        sa.Column("ingest_id", sa.BigInteger, nullable=False),
        sa.Column("line", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.ForeignKeyConstraint(["ingest_id"], ["ingests.id"], name="fk_rejects_ingest_id"),
        **UTF8,
    )
    op.create_index("ix_rejects_ingest_id_line", "rejects", ["ingest_id", "line"])
    dataset_state = op.create_table(
        "dataset_state",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("newest_poll_us", sa.BigInteger, nullable=True),
        **UTF8,
    )
    op.bulk_insert(dataset_state, [{"id": 1, "version": 0, "newest_poll_us": None}])
    op.create_table(
        "reports",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("as_of_us", sa.BigInteger, nullable=True),
        sa.Column("interpolation", sa.String(16), nullable=False),
        sa.Column("store_ids", sa.Text, nullable=True),
        sa.Column("params_key", sa.String(64), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("started_at", Moment, nullable=True),
        sa.Column("finished_at", Moment, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("row_count", sa.BigInteger, nullable=True),
        sa.Column("now_us", sa.BigInteger, nullable=True),
        sa.Column("data_version", sa.BigInteger, nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("csv_bytes", sa.BigInteger, nullable=True),
        **UTF8,
    )
    op.create_index("ix_reports_params_key", "reports", ["params_key"])
    op.create_index("ix_reports_status", "reports", ["status"])
    op.create_index("ix_reports_created_at", "reports", ["created_at"])
    op.create_table(
        "report_files",
        sa.Column("report_id", sa.String(32), primary_key=True),
        sa.Column("csv", ReportBytes, nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name="fk_report_files_report_id"),
        **UTF8,
    )


def downgrade() -> None:
    # Dropping a table drops its indexes (MySQL refuses to drop an index a
    # foreign key still needs).
    for table in (
        "report_files",
        "reports",
        "dataset_state",
        "rejects",
        "ingests",
        "business_hours",
        "polls",
        "stores",
    ):
        op.drop_table(table)

"""Report shards: one report split into store-key ranges run by many
workers, each shard with its own lease and its staged result.

Revision ID: report_shards
Revises: poll_history
Create Date: 2026-12-08
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from storemon.data.types import Moment

revision: str = "report_shards"
down_revision: str | None = "poll_history"
branch_labels: str | None = None
depends_on: str | None = None

UTF8: dict[str, Any] = {"mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "report_shards",
        sa.Column("report_id", sa.String(32), nullable=False),
        sa.Column("shard", sa.Integer, nullable=False),
        sa.Column("first_key", sa.BigInteger, nullable=False),
        sa.Column("last_key", sa.BigInteger, nullable=False),
        sa.Column("now_us", sa.BigInteger, nullable=False),
        sa.Column("data_version", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_expires_at", Moment, nullable=True),
        sa.Column("started_at", Moment, nullable=True),
        sa.Column("finished_at", Moment, nullable=True),
        sa.Column("row_count", sa.BigInteger, nullable=True),
        sa.Column(
            "rows",
            sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("report_id", "shard"),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name="fk_report_shards_report_id"),
        **UTF8,
    )


def downgrade() -> None:
    op.drop_table("report_shards")

"""Report leases (who holds an unfinished report, until when) and the lock
row that makes triggering a report exact under concurrency.

Revision ID: report_leases
Revises: report_options
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from storemon.data.types import Moment

revision: str = "report_leases"
down_revision: str | None = "report_options"
branch_labels: str | None = None
depends_on: str | None = None

UTF8: dict[str, Any] = {"mysql_charset": "utf8mb4"}


def upgrade() -> None:
    # Plain ALTER TABLE, also on SQLite (3.35+ drops columns too): a batch
    # copy of ``reports`` would trip the foreign key of ``report_frames``.
    op.add_column("reports", sa.Column("lease_owner", sa.String(64), nullable=True))
    op.add_column("reports", sa.Column("lease_expires_at", Moment, nullable=True))
    locks = op.create_table(
        "locks",
        sa.Column("name", sa.String(32), primary_key=True),
        **UTF8,
    )
    op.bulk_insert(locks, [{"name": "report_queue"}])


def downgrade() -> None:
    op.drop_table("locks")
    op.drop_column("reports", "lease_expires_at")
    op.drop_column("reports", "lease_owner")

"""Each store's oldest poll, and the retention horizon of polls.

Revision ID: poll_history
Revises: report_leases
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "poll_history"
down_revision: str | None = "report_leases"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("stores", sa.Column("first_poll_us", sa.BigInteger, nullable=True))
    op.add_column("dataset_state", sa.Column("retained_from_us", sa.BigInteger, nullable=True))
    # One index seek per store on the (store_key, ts_us) primary key.
    op.execute(
        "UPDATE stores SET first_poll_us = "
        "(SELECT min(ts_us) FROM polls WHERE polls.store_key = stores.store_key)"
    )


def downgrade() -> None:
    op.drop_column("dataset_state", "retained_from_us")
    op.drop_column("stores", "first_poll_us")

"""Special hours (date exceptions) and group memberships.

Revision ID: special_hours_and_groups
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from storemon.data.types import StoreId

revision: str = "special_hours_and_groups"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

UTF8: dict[str, Any] = {"mysql_charset": "utf8mb4"}


def upgrade() -> None:
    op.create_table(
        "special_hours",
        sa.Column("store_key", sa.BigInteger, nullable=False),
        sa.Column("date_days", sa.Integer, nullable=False),
        sa.Column("start_s", sa.Integer, nullable=True),
        sa.Column("end_s", sa.Integer, nullable=True),
        **UTF8,
    )
    op.create_index("ix_special_hours_store_key", "special_hours", ["store_key"])
    op.create_table(
        "store_groups",
        sa.Column("store_key", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("group_name", StoreId(255), primary_key=True),
        **UTF8,
    )
    op.create_index("ix_store_groups_group_name", "store_groups", ["group_name"])


def downgrade() -> None:
    op.drop_table("store_groups")
    op.drop_table("special_hours")

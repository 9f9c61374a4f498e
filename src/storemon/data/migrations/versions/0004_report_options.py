"""Report options: the section 8 parameters of a report (kind, max gap, dates).

Revision ID: report_options
Revises: report_frames
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "report_options"
down_revision: str | None = "report_frames"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # NULL: no section 8 parameter, which is what every stored report had.
    op.add_column("reports", sa.Column("options", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("reports", "options")

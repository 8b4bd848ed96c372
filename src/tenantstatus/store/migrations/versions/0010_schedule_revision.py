"""A revision per scheduled operation: the SEQUENCE of its event in the calendars.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A server default, so SQLite adds it in place; every operation so far is at 0.
    op.add_column(
        "scheduled_operations",
        sa.Column("revision", sa.Integer, nullable=False, server_default="0"),
    )


def downgrade() -> None:
    with op.batch_alter_table("scheduled_operations") as batch:
        batch.drop_column("revision")

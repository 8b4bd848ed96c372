"""Partial indexes on pending deliveries, for the dispatcher's claim.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    # The claim looks only at pending rows, which stay few while delivered and dead
    # ones pile up. On indexes of pending rows alone, a claim costs the same after a
    # million deliveries as after ten, whatever the planner's statistics say.
    op.create_index(
        "ix_deliveries_pending_due",
        "deliveries",
        ["next_attempt_at", "seq"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )
    op.create_index(
        "ix_deliveries_pending_pair",
        "deliveries",
        ["application_id", "context_identifier", "seq"],
        postgresql_where=_PENDING,
        sqlite_where=_PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_pending_pair", table_name="deliveries")
    op.drop_index("ix_deliveries_pending_due", table_name="deliveries")

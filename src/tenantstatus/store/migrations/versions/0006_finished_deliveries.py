"""An index on finished deliveries, for pruning them after the retention.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_FINISHED = sa.text("finished_at IS NOT NULL")


def upgrade() -> None:
    # Pruning seeks the oldest finished rows; pending ones (finished_at NULL) stay out
    # of the index, so it costs nothing while a delivery is still being retried.
    op.create_index(
        "ix_deliveries_finished",
        "deliveries",
        ["finished_at", "seq"],
        postgresql_where=_FINISHED,
        sqlite_where=_FINISHED,
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_finished", table_name="deliveries")

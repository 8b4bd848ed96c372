"""Signing keys: when each starts signing, so a new key is published before it signs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, so SQLite can add it in place; every key so far signed from its creation.
    op.add_column("signing_keys", sa.Column("signs_from", sa.BigInteger))
    op.execute("UPDATE signing_keys SET signs_from = created_at")


def downgrade() -> None:
    with op.batch_alter_table("signing_keys") as batch:
        batch.drop_column("signs_from")

"""The vendor portal: sessions and single-use links (hashed), and deliveries by application.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("application_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_portal_sessions_app", "portal_sessions", ["application_id", "created_at"])
    op.create_index("ix_portal_sessions_expires", "portal_sessions", ["expires_at"])
    op.create_table(
        "portal_links",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("application_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("used_at", sa.BigInteger),
    )
    op.create_index("ix_portal_links_expires", "portal_links", ["expires_at"])
    # The portal pages one application's deliveries newest first, by seq.
    op.create_index("ix_deliveries_app_seq", "deliveries", ["application_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_app_seq", table_name="deliveries")
    op.drop_table("portal_links")
    op.drop_table("portal_sessions")

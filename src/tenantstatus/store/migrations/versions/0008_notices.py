"""Notices: operator messages on one tenant, a host or a list; announced history rows.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(8), nullable=False),
        sa.Column("context_identifier", sa.String(64)),
        sa.Column("host", sa.String(253)),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("posted_by", sa.String(128), nullable=False),
        sa.Column("posted_at", sa.BigInteger, nullable=False),
        sa.Column("expected_end", sa.BigInteger),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("resolved_at", sa.BigInteger),
        sa.Column("resolution", sa.String(16)),
        sa.Column("operation", sa.String(32)),
        sa.Column("scheduled_id", sa.Integer),
        sa.Column("history_id", sa.Integer),
    )
    op.create_index("ix_notices_ctx", "notices", ["context_identifier", "id"])
    op.create_index("ix_notices_host", "notices", ["host", "id"])
    op.create_index("ix_notices_scheduled", "notices", ["scheduled_id"])
    op.create_index(
        "ix_notices_open",
        "notices",
        ["id"],
        postgresql_where=sa.text("resolved_at IS NULL"),
        sqlite_where=sa.text("resolved_at IS NULL"),
    )
    op.create_table(
        "notice_updates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("notice_id", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("posted_by", sa.String(128), nullable=False),
        sa.Column("posted_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_notice_updates_notice", "notice_updates", ["notice_id", "id"])
    op.create_table(
        "notice_tenants",
        sa.Column("notice_id", sa.Integer, primary_key=True),
        sa.Column("context_identifier", sa.String(64), primary_key=True),
    )
    op.create_index("ix_notice_tenants_ctx", "notice_tenants", ["context_identifier", "notice_id"])
    # A server default, so SQLite adds it in place; rows the scheduler ran were announced.
    op.add_column(
        "tenant_history",
        sa.Column("announced", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.execute("UPDATE tenant_history SET announced = true WHERE detail LIKE '%\"ScheduledId\"%'")


def downgrade() -> None:
    with op.batch_alter_table("tenant_history") as batch:
        batch.drop_column("announced")
    op.drop_table("notice_tenants")
    op.drop_table("notice_updates")
    op.drop_table("notices")

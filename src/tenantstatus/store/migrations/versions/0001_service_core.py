"""The service core: tenants, their history, scheduled operations and settings.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("context_identifier", sa.String(64), primary_key=True),
        sa.Column("endpoint", sa.Text, nullable=False),
        sa.Column("state", sa.SmallInteger, nullable=False),
        sa.Column("state_since", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("version_name", sa.Text, nullable=False, server_default=""),
        sa.Column("file_version", sa.Text, nullable=False, server_default=""),
        sa.Column("version_document", sa.Text, nullable=False, server_default="{}"),
        sa.Column("activity", sa.String(16)),
        sa.Column("pending_version", sa.Text),
        sa.Column("state_before_incident", sa.SmallInteger),
        sa.Column("revision", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_tenants_state_ctx", "tenants", ["state", "context_identifier"])
    op.create_index("ix_tenants_revision", "tenants", ["revision"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SEQUENCE tenant_revision")
    op.create_table(
        "tenant_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("context_identifier", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("from_state", sa.SmallInteger),
        sa.Column("to_state", sa.SmallInteger, nullable=False),
        sa.Column("change_type", sa.SmallInteger),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_history_ctx_id", "tenant_history", ["context_identifier", "id"])
    op.create_table(
        "scheduled_operations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("context_identifier", sa.String(64), nullable=False),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("parameters", sa.Text, nullable=False, server_default="{}"),
        sa.Column("run_at", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.BigInteger),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_scheduled_status_run_at", "scheduled_operations", ["status", "run_at"])
    op.create_index(
        "ix_scheduled_ctx_status", "scheduled_operations", ["context_identifier", "status"]
    )
    op.create_table(
        "service_settings",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("service_settings")
    op.drop_table("scheduled_operations")
    op.drop_table("tenant_history")
    op.drop_table("tenants")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE tenant_revision")

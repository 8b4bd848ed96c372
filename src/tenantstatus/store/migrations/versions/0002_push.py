"""Push: signing keys, applications, approvals, the delivery outbox and its attempts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("algorithm", sa.String(8), nullable=False),
        sa.Column("private_key", sa.Text, nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("retired_at", sa.BigInteger),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("previous_secret", sa.Text),
        sa.Column("previous_secret_until", sa.BigInteger),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("disabled_at", sa.BigInteger),
        sa.Column("created_at", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "approvals",
        sa.Column("application_id", sa.String(32), primary_key=True),
        sa.Column("context_identifier", sa.String(64), primary_key=True),
        sa.Column("approved_at", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_approvals_ctx", "approvals", ["context_identifier"])
    op.create_table(
        "deliveries",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(40), nullable=False, unique=True),
        sa.Column("application_id", sa.String(32), nullable=False),
        sa.Column("context_identifier", sa.String(64), nullable=False),
        sa.Column("history_id", sa.Integer, nullable=False),
        sa.Column("change_type", sa.SmallInteger, nullable=False),
        sa.Column("version_name", sa.Text, nullable=False),
        sa.Column("file_version", sa.Text, nullable=False),
        sa.Column("public_endpoint", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
        sa.Column("claimed_until", sa.BigInteger),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.BigInteger),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["status", "next_attempt_at"])
    op.create_index(
        "ix_deliveries_pair", "deliveries", ["application_id", "context_identifier", "seq"]
    )
    op.create_index("ix_deliveries_app_created", "deliveries", ["application_id", "created_at"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("delivery_seq", sa.Integer, nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("latency_ms", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("response_excerpt", sa.Text),
    )
    op.create_index("ix_attempts_delivery", "delivery_attempts", ["delivery_seq", "id"])


def downgrade() -> None:
    for table in ("delivery_attempts", "deliveries", "approvals", "applications", "signing_keys"):
        op.drop_table(table)

"""Status page: tenant history by instant, for uptime over a window.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # History rows of one tenant since an instant, and the last one before it: the
    # 90-day bar reads a window by `at`, which `ix_history_ctx_id` cannot seek to.
    op.create_index("ix_history_ctx_at", "tenant_history", ["context_identifier", "at", "id"])


def downgrade() -> None:
    op.drop_index("ix_history_ctx_at", table_name="tenant_history")

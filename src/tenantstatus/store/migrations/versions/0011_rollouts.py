"""Rollouts: one plan over a frozen selection; each tenant's operation is a scheduled one.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rollouts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("operation", sa.String(32), nullable=False),
        sa.Column("parameters", sa.Text, nullable=False),
        sa.Column("message", sa.Text),
        sa.Column("selection", sa.Text, nullable=False),
        sa.Column("start_at", sa.BigInteger, nullable=False),
        sa.Column("window_end", sa.BigInteger, nullable=False),
        sa.Column("batch_size", sa.Integer, nullable=False),
        sa.Column("max_in_progress", sa.Integer, nullable=False),
        sa.Column("expected_seconds", sa.Integer, nullable=False),
        sa.Column("max_failures", sa.Integer),
        sa.Column("max_failure_percent", sa.Float),
        sa.Column("tenant_count", sa.Integer, nullable=False),
        sa.Column("wave_count", sa.Integer, nullable=False),
        sa.Column("next_wave", sa.Integer, nullable=False),
        sa.Column("forgiven", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("started_at", sa.BigInteger),
        sa.Column("finished_at", sa.BigInteger),
    )
    op.create_index("ix_rollouts_status", "rollouts", ["status", "id"])
    op.create_table(
        "rollout_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rollout_id", sa.Integer, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_rollout_events_rollout", "rollout_events", ["rollout_id", "id"])
    op.create_index("ix_rollout_events_at", "rollout_events", ["at", "id"])
    # A rollout's scheduled operations: held until the conductor releases their wave.
    op.add_column("scheduled_operations", sa.Column("rollout_id", sa.Integer))
    op.add_column("scheduled_operations", sa.Column("wave", sa.Integer))
    op.add_column("scheduled_operations", sa.Column("rollout_phase", sa.String(16)))
    op.add_column(
        "scheduled_operations",
        sa.Column("held", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_scheduled_rollout_phase",
        "scheduled_operations",
        ["rollout_id", "rollout_phase", "run_at"],
    )
    op.create_index("ix_scheduled_rollout_wave", "scheduled_operations", ["rollout_id", "wave"])
    # The scheduler's due and soonest operations skip held ones without reading them.
    op.create_index("ix_scheduled_runnable", "scheduled_operations", ["status", "held", "run_at"])
    op.create_index(
        "ix_scheduled_phase_ctx", "scheduled_operations", ["rollout_phase", "context_identifier"]
    )


def downgrade() -> None:
    op.drop_index("ix_scheduled_phase_ctx", "scheduled_operations")
    op.drop_index("ix_scheduled_runnable", "scheduled_operations")
    op.drop_index("ix_scheduled_rollout_wave", "scheduled_operations")
    op.drop_index("ix_scheduled_rollout_phase", "scheduled_operations")
    with op.batch_alter_table("scheduled_operations") as batch:
        batch.drop_column("held")
        batch.drop_column("rollout_phase")
        batch.drop_column("wave")
        batch.drop_column("rollout_id")
    op.drop_table("rollout_events")
    op.drop_table("rollouts")
